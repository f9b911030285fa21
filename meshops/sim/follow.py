"""Synthetic traffic that follows the weights in the cluster: canary requests in proportion to its weight.

Tests, benchmarks and `meshops demo` run no Envoy; `WeightFollower` plays its part. It lists the
VirtualServices of one namespace every `interval` seconds (one request for all services) and
hands each followed service's route weights — of the rules its rollout steers, or before any
rollout the last HTTP rule that splits by subset (the catch-all) — to `TrafficSimulator.set_weights`, so Prometheus sees
the canary get 0 %, then 5 %, … exactly as the rollout writes them. A failed read keeps the last
split (as Envoy keeps its last config when istiod is away). Every version it sees routed gets its
Deployment, reported ready (`sim.workloads`), as a cluster that runs it would have — unless
`ready_workloads=False`, for tests that decide readiness themselves.
"""
from __future__ import annotations

import threading
from typing import Mapping

from ..cluster.live import list_objects
from .traffic import TrafficSimulator
from ..model.steering import route_weights, rule_id, rule_routes, subset_host
from .workloads import ensure_deployment
from ..rollout.state import state_of
from ..rollout.store import RolloutStore

# Envoy picks up a new route config within about a second; polling faster keeps tests short.
DEFAULT_INTERVAL = 0.2


def _followed_rule(obj: dict) -> str:
    """The rule whose split stands for the service: the first one its rollout steers, else the catch-all."""
    state = state_of(obj)
    if state is not None:
        return state.rule
    rules = ((obj.get("spec") or {}).get("http") or [])
    splitting = [rule_id(rule, index) for index, rule in enumerate(rules) if subset_host(rule.get("route"))]
    return splitting[-1] if splitting else ""


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
    ) -> None:
        self.store = store
        self.simulator = simulator
        self.namespace = namespace
        self.services = dict(services)  # service -> total requests per second
        self.interval = interval
        self.ready_workloads = ready_workloads
        self._deployed: set[tuple[str, str]] = set()
        self.errors = 0
        self.last_error: str | None = None
        self._weights: dict[str, dict[str, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> None:
        """Read the namespace's VirtualServices once and pass on every changed split."""
        try:
            objects = list_objects(self.store.api, self.store.resource, namespace=self.namespace)
        except Exception as error:  # noqa: BLE001 - an API server away: keep the last split
            self.errors += 1
            self.last_error = f"{type(error).__name__}: {error}"
            return
        for obj in objects:
            service = (obj.get("metadata") or {}).get("name")
            if service not in self.services:
                continue
            weights = {subset: float(weight) for subset, weight in route_weights(rule_routes(obj, _followed_rule(obj))).items()}
            self._deploy(service, weights)
            if weights and weights != self._weights.get(service):
                if service in self._weights:
                    self.simulator.set_weights(service, weights, namespace=self.namespace)
                else:
                    self.simulator.set_service(service, rps=self.services[service], weights=weights, namespace=self.namespace)
                self._weights[service] = weights

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
        """The split last passed on for `service`."""
        return dict(self._weights.get(service, {}))

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
