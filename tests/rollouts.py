"""What the rollout tests share: a small config repo, the CLI against the sandbox, and write checks.

The repo renders only what a rollout touches — one Service (so routes resolve: validation checks
hosts against the cluster), one VirtualService and one DestinationRule per service, or with
`router="httproute"` one HTTPRoute over one Service per version, with the example repo's own
templates (read from this repository, not copied by hand) —
into a namespace of the test's own, so tests sharing the session's traffic simulator and
Prometheus never see each other's series.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Iterable

from helpers import REPO_ROOT, commit_all, run_meshops
from meshops.cluster.connect import connect
from meshops.rollout.driver import RolloutEngine
from meshops.rollout.event_recorder import EventRecorder
from meshops.rollout.store import RolloutStore
from meshops.sim.follow import WeightFollower
from meshops.source.envconfig import load_env_config
from meshops.source.repo import WorkTree
from meshops.model.identity import ROLLOUT_ANNOTATION
from meshops.model.steering import LAYOUTS, is_stage_rule, route_weights, rule_id, rule_routes
from meshops.rollout.state import RolloutState, state_of

ENV = "test"
TEMPLATES = ("services.yaml.j2", "virtualservices.yaml.j2", "destinationrules.yaml.j2", "httproutes.yaml.j2")
GROUP, VERSION, PLURAL = "networking.istio.io", "v1", "virtualservices"
# router value in the values -> (group, version, plural, kind) of the object it renders for a service.
ROUTED = {"virtualservice": (GROUP, VERSION, PLURAL, "VirtualService"),
          "httproute": ("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute")}
ROUTERS = tuple(ROUTED)
PLURALS = {plural: kind for _, _, plural, kind in ROUTED.values()}


def fast_policy(**overrides: object) -> dict:
    """A policy that finishes in seconds against a Prometheus scraping every second."""
    policy = {"steps": [20, 50], "interval": "3s", "window": "3s", "threshold": 2, "minRequests": 10,
              "onLowTraffic": "hold", "successRate": {"min": 99}, "latency": {"percentile": 99, "max": 300}}
    policy.update(overrides)
    return policy


def make_repo(root: Path, *, namespace: str, services: dict[str, str], policy: dict,
              prometheus_url: str = "http://127.0.0.1:1", templates: dict[str, str] | None = None,
              settings: dict | None = None, router: str = "virtualservice") -> Path:
    """A config repo with one environment `test`: `services` maps service -> version (v1, v2, v3 exist).

    `templates` replaces (or adds) template files by name; `settings` adds meshops.yaml keys.
    Committed once (its root commit is the owner id of what it applies); tests then edit the working tree.
    """
    (root / "templates").mkdir(parents=True)
    for template in TEMPLATES:
        shutil.copy(REPO_ROOT / "templates" / template, root / "templates" / template)
    for name, text in (templates or {}).items():
        (root / "templates" / name).write_text(text)
    (root / "environments" / "base").mkdir(parents=True)
    (root / "environments" / ENV).mkdir(parents=True)
    config = {"namespace": namespace, "prometheus": {"url": prometheus_url}, "rollout": policy, **(settings or {})}
    (root / "environments" / ENV / "meshops.yaml").write_text(json.dumps(config, indent=2) + "\n")
    (root / "environments" / ENV / "values.yaml").write_text("{}\n")
    write_values(root, services, router=router)
    commit_all(root, "rollout test config")
    return root


def write_values(root: Path, services: dict[str, str], *, canaries: dict[str, dict] | None = None,
                 router: str | None = None) -> None:
    """Set every service's version (and optional `canary:` blocks) in the base values; `router` (default:
    as the values say now, else virtualservice) picks what routes them."""
    path = root / "environments" / "base" / "values.yaml"
    if router is None and path.exists():
        router = next(iter(json.loads(path.read_text())["services"].values()), {}).get("router")
    values = {"services": {name: {"version": version, "versions": ["v1", "v2", "v3"], "port": 9080,
                                  "router": router or "virtualservice"}
                           for name, version in services.items()}}
    for name, canary in (canaries or {}).items():
        values["services"][name]["canary"] = canary
    path.write_text(json.dumps(values, indent=2) + "\n")


class Cluster:
    """The mesh sandbox plus the CLI pointed at it and at one config repo."""

    def __init__(self, mesh, repo: Path, namespace: str, router: str = "virtualservice") -> None:
        self.mesh = mesh
        self.repo = repo
        self.namespace = namespace
        self.router = router
        self.group, self.api_version, self.plural, self.kind = ROUTED[router]
        self.layout = LAYOUTS[self.kind]
        mesh.core_v1().create_namespace({"metadata": {"name": namespace}})

    def deploy(self, service: str, *versions: str, ready: bool = True) -> None:
        """Ready Deployments for `versions` of `service` (what the canary readiness check reads)."""
        from meshops.sim.workloads import ensure_deployment

        api = connect(kubeconfig=str(self.mesh.kubeconfig), context="sandbox")
        for version in versions:
            ensure_deployment(api, namespace=self.namespace, service=service, version=version, ready=ready)

    def cli(self, *args: str, timeout: float = 120):
        return run_meshops(*args, "--env", ENV, "--repo", str(self.repo), "--kubeconfig", str(self.mesh.kubeconfig),
                           "--context", "sandbox", timeout=timeout)

    def apply(self, *extra: str):
        result = self.cli("apply", "--yes", *extra)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def vs(self, name: str) -> dict:
        """The route object of service `name` (its VirtualService, or its HTTPRoute)."""
        return self.mesh.custom_objects().get_namespaced_custom_object(self.group, self.api_version, self.namespace,
                                                                        self.plural, name)

    def state(self, name: str) -> RolloutState:
        state = state_of(self.vs(name))
        assert state is not None, f"{name} has no rollout state"
        return state

    def weights(self, name: str, rule: str | None = None) -> dict[str, int]:
        """What the route object's `rule` (default: the first its rollout steers, else `default`) routes now,
        by version (an HTTPRoute's backend `cart-v2` reads as `v2`)."""
        obj = self.vs(name)
        state = state_of(obj)
        weights = route_weights(rule_routes(obj, rule or (state.rule if state else "default"), self.layout), self.layout)
        return {key.removeprefix(f"{name}-") if self.kind == "HTTPRoute" else key: weight for key, weight in weights.items()}

    def version(self, name: str, version: str) -> str:
        """What the route object calls `version` of service `name` (a subset, or a Service)."""
        return f"{name}-{version}" if self.kind == "HTTPRoute" else version

    def events(self, name: str) -> list[str]:
        """Reasons of the Events about VirtualService `name`, oldest first."""
        items = self.mesh.core_v1().list_namespaced_event(self.namespace, field_selector=f"involvedObject.name={name}").items
        return [event.reason for event in sorted(items, key=lambda e: (e.first_timestamp, e.metadata.resource_version and int(e.metadata.resource_version)))]


def _splits_of_rules(rules: list, layout, steered: tuple[str, ...] | None = None) -> list[dict[str, int]]:
    """The split of every rule with destinations (only the `steered` ones, by rule id, when given)."""
    splits, logical = [], 0
    for rule in rules or []:
        stage = is_stage_rule(rule)
        ident = None if stage else rule_id(rule, logical)
        logical += 0 if stage else 1
        routes = rule.get(layout.routes_key)
        if routes and (steered is None or ident in steered):
            splits.append(route_weights(routes, layout))
    return splits


def _rule_splits(obj: dict, layout) -> list[dict[str, int]]:
    return _splits_of_rules((obj.get("spec") or {}).get(layout.section), layout)


def written_splits(entries: Iterable) -> list[dict[str, int]]:
    """Every route split that a route-object write in the request log asked for, in order.

    Reads the request bodies: server-side apply and create send the object, JSON Patch the ops
    (route `replace`s or one replace of the rule list, and the annotation whose `current` must agree
    with the steered rules; a patch of the annotation alone records state and moves no weight).
    """
    splits: list[dict[str, int]] = []
    for entry in entries:
        if entry.resource not in PLURALS or entry.verb not in ("create", "update", "patch") or not entry.body:
            continue
        layout = LAYOUTS[PLURALS[entry.resource]]
        body = json.loads(entry.body)
        if isinstance(body, dict):
            splits.extend(_rule_splits(body, layout))
            continue
        # Every rollout write is guarded: a test of the resourceVersion decided on comes first, and a write
        # that replaces the whole rule list (an A/B rule in or out, a mirror) also tests the steered rules' names.
        assert body[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": body[0].get("value")}, body[0]
        if any(op["path"] == f"/spec/{layout.section}" for op in body):
            assert any(op["op"] == "test" and op["path"].endswith("/name") for op in body), body
        annotation = [op["value"] for op in body if op["path"].startswith("/metadata/annotations")]
        states = [json.loads(value if isinstance(value, str) else value.get(ROLLOUT_ANNOTATION)) for value in annotation]
        steered = tuple(states[0]["rules"]) if states else None
        routes = [route_weights(op["value"], layout) for op in body
                  if op.get("op") in ("replace", "add") and op["path"].endswith("/" + layout.routes_key)]
        for op in body:
            if op.get("op") == "replace" and op["path"] == f"/spec/{layout.section}":
                splits.extend(_splits_of_rules(op["value"], layout))
                routes += _splits_of_rules(op["value"], layout, steered)
            elif op.get("op") in ("replace", "add") and op["path"].endswith("/" + layout.routes_key):
                splits.append(route_weights(op["value"], layout))
        if not routes:
            continue  # a state-only write (what was notified): no weights to check
        for state in states:
            assert all(state["current"] == split for split in routes), (state["current"], routes)
    return splits


def assert_every_write_sums_to_100(log) -> list[dict[str, int]]:
    splits = written_splits(log.entries())
    assert splits, "no route-object write in the request log"
    bad = [split for split in splits if sum(split.values()) != 100]
    assert not bad, f"writes whose weights do not sum to 100: {bad}"
    return splits



# The start of a VirtualService template per service, for tests that write their own route layouts.
VS_TEMPLATE_HEAD = """{% for name, service in values.services | dictsort %}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: {{ name }}
spec:
  hosts:
  - {{ name }}
  http:
"""

RPS = 200.0  # per service: 20 % of it gives 40 canary requests/s, far above minRequests per 3 s window
TIMEOUT = 60.0  # seconds any rollout here may take before the test gives up (they take about 10)


class Scenario:
    """One test's namespace: config repo, sandbox, weight-following traffic, and an engine."""

    def __init__(self, *, mesh, tmp_path: Path, traffic, prometheus_url: str, namespace: str,
                 services: dict[str, dict], policy: dict, templates: dict[str, str] | None = None,
                 settings: dict | None = None, ready_workloads: bool = True, router: str = "virtualservice",
                 requests: dict | None = None) -> None:
        self.namespace = namespace
        self.services = services
        self.prometheus_url = prometheus_url
        repo = make_repo(tmp_path / namespace, namespace=namespace, services={name: "v1" for name in services},
                         policy=policy, prometheus_url=prometheus_url, templates=templates, settings=settings,
                         router=router)
        self.cluster = Cluster(mesh, repo, namespace, router)
        self.cluster.apply()
        self.api = connect(kubeconfig=str(mesh.kubeconfig), context="sandbox")
        self.store = RolloutStore.connect(self.api)
        for name, canary in services.items():
            traffic.set_workload(f"{name}-v2", namespace=namespace, service=name, version="v2", **canary.get("settings", {}))
        rates = {name: canary.get("rps", RPS) for name, canary in services.items()}
        self.follower = WeightFollower(self.store, traffic, namespace=namespace, services=rates,
                                       ready_workloads=ready_workloads, requests=requests).start()

    def roll_out(self, *names: str) -> None:
        """Git names v2 for `names` (all services by default) and apply starts the rollouts."""
        chosen = names or tuple(self.services)
        write_values(self.cluster.repo, {name: "v2" if name in chosen else "v1" for name in self.services})
        self.cluster.apply()

    def engine(self, **options) -> RolloutEngine:
        from meshops.metrics.prometheus import PrometheusClient

        config = load_env_config(WorkTree(self.cluster.repo), ENV)
        return RolloutEngine(store=self.store, config=config, metrics=PrometheusClient(self.prometheus_url),
                             events=EventRecorder(self.api), **options)

    def run(self, **options):
        engine = self.engine(**options)
        return {tick.ref.name: tick for tick in engine.run(engine.active(ENV), timeout=TIMEOUT)}

    def wait_for(self, name: str, condition, *, timeout: float = TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.cluster.state(name)
            if condition(state):
                return state
            time.sleep(0.2)
        raise AssertionError(f"{name}: condition not reached within {timeout}s; state {self.cluster.state(name)}")

    def canary_weights(self, name: str) -> list[int]:
        """Every weight the canary was given, from the rollout's history."""
        canary = self.cluster.version(name, "v2")
        return [entry["current"].get(canary, 0) for entry in self.cluster.state(name).history]

    def close(self) -> None:
        self.follower.stop()
