"""Synthetic traffic that follows the routes in the cluster: canary requests in proportion to its weight.

Tests, benchmarks and `meshops demo` run no Envoy; `WeightFollower` plays its part. Every
`interval` seconds it lists the route objects of one namespace (one request per routed kind:
VirtualServices, HTTPRoutes) and hands each followed service's split to
`TrafficSimulator.set_weights`, computed as a proxy routes (`sim.routing`): each class of requests
(by default everyone, with no headers; a test may send a share with `x-canary: insider`) takes the
first rule that matches it and that rule's weights, and mirrors add copies. So Prometheus sees the
canary get 0 %, then 5 %, … exactly as the rollout writes them — and during an A/B step only the
matching requests, during a mirror step only copies. A failed read keeps the last split (as Envoy
keeps its last config when istiod is away). Every version it sees routed gets its Deployment,
reported ready (`sim.workloads`), as a cluster that runs it would have — unless
`ready_workloads=False`, for tests that decide readiness themselves.
"""
from __future__ import annotations

import threading
from typing import Mapping

from ..cluster.live import list_objects
from typing import Sequence

from .routing import EVERYONE, RequestClass, route_split
from .traffic import TrafficSimulator
from ..model.steering import Layout
from .workloads import ensure_deployment
from ..rollout.store import RolloutStore

# Envoy picks up a new route config within about a second; polling faster keeps tests short.
DEFAULT_INTERVAL = 0.2


def _by_service(obj: dict, layout: Layout) -> bool:
    """Whether each version is a Service of its own (no destination names a subset)."""
    rules = (obj.get("spec") or {}).get(layout.section) or []
    return not any(layout.subset(route) for rule in rules if isinstance(rule, dict)
                   for route in rule.get(layout.routes_key) or [])


def _versions(split: dict[str, float], service: str, by_service: bool) -> dict[str, float]:
    """Versions by name: a Service `cart-v2` of service `cart` is its version `v2`."""
    if not by_service:
        return split
    return {name.removeprefix(f"{service}-"): share for name, share in split.items()}


class WeightFollower:
    """Keeps `simulator`'s split of each service equal to its VirtualService's steered rule."""

    def __init__(
        self,
        store: RolloutStore,
        simulator: TrafficSimulator,
        *,
        namespace: str,
        services: Mapping[str, float],
        interval: float = DEFAULT_INTERVAL,
        ready_workloads: bool = True,
        requests: Mapping[str, Sequence[RequestClass]] | None = None,
    ) -> None:
        self.store = store
        self.simulator = simulator
        self.namespace = namespace
        self.services = dict(services)  # service -> total requests per second
        self.interval = interval
        self.ready_workloads = ready_workloads
        self.requests = dict(requests or {})  # service -> its classes of requests (default: everyone alike)
        self._deployed: set[tuple[str, str]] = set()
        self.errors = 0
        self.last_error: str | None = None
        self._weights: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> None:
        """Read the namespace's route objects once and pass on every changed split."""
        for resource, router in list(self.store.kinds.values()):
            try:
                objects = list_objects(self.store.api, resource, namespace=self.namespace)
            except Exception as error:  # noqa: BLE001 - an API server away: keep the last split
                self.errors += 1
                self.last_error = f"{type(error).__name__}: {error}"
                continue
            for obj in objects:
                service = (obj.get("metadata") or {}).get("name")
                if service in self.services:
                    self._follow(service, obj, router.layout)

    def _follow(self, service: str, obj: dict, layout: Layout) -> None:
        split = route_split(obj, layout, self.requests.get(service, EVERYONE))
        by_service = _by_service(obj, layout)
        weights = _versions(split.weights, service, by_service)
        mirrors = _versions(split.mirrors, service, by_service)
        self._deploy(service, {**weights, **mirrors})
        if not weights or (weights, mirrors) == self._weights.get(service):
            return
        if service in self._weights:
            self.simulator.set_weights(service, weights, namespace=self.namespace, mirrors=mirrors)
        else:
            self.simulator.set_service(service, rps=self.services[service], weights=weights, namespace=self.namespace,
                                       mirrors=mirrors, by_service=by_service)
        self._weights[service] = (weights, mirrors)

    def _deploy(self, service: str, weights: Mapping[str, float]) -> None:
        """A ready Deployment for every version `service` routes to (once each)."""
        if not self.ready_workloads:
            return
        for version in weights:
            if (service, version) in self._deployed:
                continue
            try:
                ensure_deployment(self.store.api, namespace=self.namespace, service=service, version=version,
                                  workload=self.simulator.workload_template)
            except Exception as error:  # noqa: BLE001 - keep following the weights; the next poll tries again
                self.errors += 1
                self.last_error = f"{type(error).__name__}: {error}"
                continue
            self._deployed.add((service, version))

    def weights(self, service: str) -> dict[str, float]:
        """The split last passed on for `service` (percent of its requests per version)."""
        return dict(self._weights.get(service, ({}, {}))[0])

    def mirrors(self, service: str) -> dict[str, float]:
        """The mirror shares last passed on for `service` (percent of its requests copied to each version)."""
        return dict(self._weights.get(service, ({}, {}))[1])

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.interval)

    def start(self) -> WeightFollower:
        self.poll()
        self._thread = threading.Thread(target=self._loop, name=f"weights {self.namespace}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> WeightFollower:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
