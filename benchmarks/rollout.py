"""What many concurrent rollouts cost: wall time of 1 vs 20, and Prometheus queries per step.

Starts the sandbox API server with meshops's Istio CRDs, the synthetic mesh (traffic following the
weights in the cluster) and a real Prometheus scraping it every second; then, for 1 and for 20
services, writes VirtualServices whose rollouts sit at step 0 (as `meshops apply` leaves them)
and times `RolloutEngine.run` until every rollout is promoted. Healthy canaries, steps [20, 50],
3 s interval and window: the floor is three intervals (0 % -> 20 % -> 50 % -> promoted), so the
ratio shows what concurrency costs on top. Target: 20 take at most 1.3x as long as 1, with
notifications on: every decision is posted (signed) to a local JSON webhook receiver, and each
step checks that the canary Deployment has ready pods (the weight follower makes them ready).
Run: `python benchmarks/rollout.py` (needs Debian's prometheus binary); `--router httproute` runs the
same rollouts on Gateway API HTTPRoutes (one Service per version, backendRefs weights) instead.
"""
from __future__ import annotations

import argparse
import http.server
import tempfile
import threading
import time
from pathlib import Path

from meshops.cluster.connect import connect
from meshops.source.envconfig import EnvConfig
from meshops.sim.prometheus import LocalPrometheus
from meshops.model.identity import ENVIRONMENT_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE, ROLLOUT_ANNOTATION
from meshops.model.secrets import SecretsDir
from meshops.rollout.notifier import Notifier
from meshops.rollout.receivers import receivers
from meshops.rollout.driver import RolloutEngine
from meshops.rollout.event_recorder import EventRecorder
from meshops.sim.follow import WeightFollower
from meshops.rollout.policy import load_policy
from meshops.rollout.state import Phase, Reason, RolloutState
from meshops.rollout.store import RolloutRef, RolloutStore
from meshops.sandbox import SandboxServer
from meshops.sim.traffic import TrafficSimulator
from meshops.validate.schemas import shipped_crds

ENVIRONMENT = "bench"
NAMESPACE = "bench"
RPS = 200.0
POLICY = {"rollout": {"steps": [20, 50], "interval": "3s", "window": "3s", "threshold": 1, "minRequests": 5}}
SIZES = (1, 20)
HMAC_KEY = "benchmark-signing-key"


class _Receiver(http.server.BaseHTTPRequestHandler):
    """A JSON webhook receiver that counts what it is sent."""

    received = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with _Receiver.lock:
            _Receiver.received += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def start_receiver() -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def secrets_dir() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="meshops-bench-secrets-"))
    (directory / "bench-hmac").write_text(HMAC_KEY + "\n")
    (directory / "bench-hmac").chmod(0o600)
    return directory


def virtual_service(name: str, state: RolloutState) -> dict:
    """A VirtualService as apply writes it when a rollout starts: stable 100, canary 0, state at step 0."""
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE, ENVIRONMENT_LABEL: ENVIRONMENT},
            "annotations": {ROLLOUT_ANNOTATION: state.to_annotation()},
        },
        "spec": {"hosts": [name], "http": [{"name": "default", "route": [
            {"destination": {"host": name, "subset": "v1"}, "weight": 100},
            {"destination": {"host": name, "subset": "v2"}, "weight": 0},
        ]}]},
    }


def http_route(name: str, state: RolloutState) -> dict:
    """An HTTPRoute as apply writes it when a rollout starts: backend name-v1 at 100, name-v2 at 0."""
    obj = virtual_service(name, state)
    obj["apiVersion"], obj["kind"] = "gateway.networking.k8s.io/v1", "HTTPRoute"
    obj["spec"] = {"parentRefs": [{"group": "", "kind": "Service", "name": name, "port": 9080}],
                   "rules": [{"name": "default", "backendRefs": [{"name": f"{name}-v1", "port": 9080, "weight": 100},
                                                                 {"name": f"{name}-v2", "port": 9080, "weight": 0}]}]}
    return obj


def start_rollouts(store: RolloutStore, config: EnvConfig, names: list[str], *, kind: str) -> list[RolloutRef]:
    now = time.time()
    policy = load_policy(config)
    for name in names:
        stable, canary = (f"{name}-v1", f"{name}-v2") if kind == "HTTPRoute" else ("v1", "v2")
        state = RolloutState(phase=Phase.PROGRESSING, service=name, stable=stable, canary=canary, weights=policy.weights,
                             current={stable: 100, canary: 0}, threshold=policy.threshold, started_at=now,
                             last_step_at=now, split_by="service" if kind == "HTTPRoute" else "subset")
        state = state.decided(reason=Reason.STARTED, at=now, note="benchmark")
        make = http_route if kind == "HTTPRoute" else virtual_service
        store.api.request("POST", store.kinds[kind][0].collection_path(NAMESPACE), body=make(name, state))
    return [RolloutRef(NAMESPACE, name, kind) for name in names]


def measure(size: int, *, store: RolloutStore, config: EnvConfig, mesh: TrafficSimulator, prometheus: LocalPrometheus,
            secrets: Path, kind: str) -> dict:
    names = [f"n{size}-svc{index}" for index in range(size)]
    refs = start_rollouts(store, config, names, kind=kind)
    client = prometheus.client()
    notifier = Notifier(receivers(config), secrets=SecretsDir(secrets), environment=config.name)
    before = _Receiver.received
    with WeightFollower(store, mesh, namespace=NAMESPACE, services={name: RPS for name in names}):
        engine = RolloutEngine(store=store, config=config, metrics=client, events=EventRecorder(store.api), notifier=notifier)
        started = time.perf_counter()
        ticks = engine.run(refs, timeout=120)
        wall = time.perf_counter() - started
    histories = [tick.state.history for tick in ticks if tick.state is not None]
    decisions = [entry["reason"] for history in histories for entry in history]
    return {
        "size": size,
        "wall": wall,
        "succeeded": sum(tick.state is not None and tick.state.phase == Phase.SUCCEEDED for tick in ticks),
        "analyses": engine.analyses,
        "queries": client.query_count,
        "weight_changes": decisions.count(Reason.STEP_ADVANCED) + decisions.count(Reason.PROMOTED),
        "holds": decisions.count(Reason.ANALYSIS_HELD),
        "notifications": _Receiver.received - before,
        "decisions": len(decisions),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--router", choices=("virtualservice", "httproute"), default="virtualservice",
                        help="what the rollouts steer (default: VirtualService subsets)")
    kind = {"virtualservice": "VirtualService", "httproute": "HTTPRoute"}[parser.parse_args().router]
    receiver = start_receiver()
    secrets = secrets_dir()
    server = SandboxServer().start()
    mesh = TrafficSimulator(namespace=NAMESPACE).start()
    try:
        server.install_crds(shipped_crds())
        kubeconfig = server.write_kubeconfig(Path(tempfile.mkdtemp()) / "kubeconfig")
        api = connect(kubeconfig=str(kubeconfig), context="sandbox")
        api.request("POST", "/api/v1/namespaces", body={"metadata": {"name": NAMESPACE}})
        hook = {"name": "bench", "type": "webhook", "url": f"http://127.0.0.1:{receiver.server_address[1]}/hook",
                "hmacSecret": "bench-hmac"}
        config = EnvConfig(name=ENVIRONMENT, file="meshops.yaml", data={
            "rollout": POLICY["rollout"], "notifications": [hook]})
        store = RolloutStore.connect(api)
        mesh.set_service("warmup", rps=RPS, weights={"v1": 100}, namespace=NAMESPACE)
        with LocalPrometheus(targets=[mesh.target]) as prometheus:
            prometheus.wait_for_series('sum(istio_requests_total{destination_workload="warmup-v1"})', timeout=60)
            results = [measure(size, store=store, config=config, mesh=mesh, prometheus=prometheus, secrets=secrets,
                               kind=kind) for size in SIZES]
    finally:
        mesh.stop()
        server.stop()
        receiver.shutdown()
    policy = POLICY["rollout"]
    print(f"router: {kind}; policy: steps {policy['steps']}, interval {policy['interval']}, window {policy['window']}; "
          f"healthy canaries at {RPS:g} requests/s per service; canary readiness checked before each step; "
          "every decision posted to a local signed JSON webhook")
    for result in results:
        print(f"{result['size']:>2} concurrent rollouts: {result['wall']:.2f} s wall, {result['succeeded']}/{result['size']} promoted, "
              f"{result['analyses']} analyses, {result['queries']} Prometheus queries "
              f"({result['queries'] / max(result['analyses'], 1):.2f} per analysed step), "
              f"{result['weight_changes']} weight changes, {result['holds']} holds, "
              f"{result['notifications']} notifications for {result['decisions']} decisions")
    one, many = results[0], results[-1]
    print(f"ratio {many['size']} vs {one['size']}: {many['wall'] / one['wall']:.2f}x (target <= 1.30x)")


if __name__ == "__main__":
    main()
