"""The demo's world: config repo, sandbox cluster, synthetic traffic and Prometheus, torn down together."""
from __future__ import annotations

import json
import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from ..model.errors import UsageError

ENVIRONMENT = "dev"
NAMESPACE = "bookinfo"
SERVICE = "reviews"
# Requests/s the synthetic users send to reviews: a 25 % canary then sees ~25 requests/s, far above
# the demo policy's minimum per window, so every analysis has data to judge.
REVIEWS_RPS = 100.0
# How each reviews version behaves: v2 is a good release, v3 a bad one (a quarter of requests fail).
VERSIONS = {
    "v1": {"error_share": 0.0, "latency": {25.0: 0.6, 50.0: 0.3, 100.0: 0.1}},
    "v2": {"error_share": 0.0, "latency": {25.0: 0.7, 50.0: 0.25, 100.0: 0.05}},
    "v3": {"error_share": 0.25, "latency": {50.0: 0.5, 100.0: 0.3, 250.0: 0.2}},
}

# The demo's rollout policy: --fast finishes a rollout in about ten seconds.
FAST_POLICY = {"steps": [25, 50], "interval": "3s", "window": "3s", "threshold": 2, "minRequests": 10,
               "onLowTraffic": "hold", "successRate": {"min": 99}, "latency": {"percentile": 99, "max": 500}}
SLOW_POLICY = {"steps": [10, 25, 50], "interval": "15s", "window": "15s", "threshold": 2, "minRequests": 50,
               "onLowTraffic": "hold", "successRate": {"min": 99}, "latency": {"percentile": 99, "max": 500}}


def find_example_repo(explicit: str | None = None) -> Path:
    """The example config repo: --example DIR, else the checkout meshops runs from."""
    candidates = [Path(explicit)] if explicit else [Path(__file__).resolve().parents[2], Path.cwd()]
    for candidate in candidates:
        if (candidate / "environments").is_dir() and (candidate / "templates").is_dir():
            return candidate
    raise UsageError("cannot find the example config repo (environments/ and templates/)",
                     hint="run meshops demo from a meshops checkout, or pass --example DIR")


@dataclass
class DemoWorld:
    """Everything the demo runs; use as a context manager."""

    example: Path
    fast: bool = True

    def __post_init__(self) -> None:
        self._stack = ExitStack()
        self.workdir: Path | None = None
        self.repo_dir: Path | None = None
        self.git = None
        self.server = None
        self.kubeconfig: Path | None = None
        self.simulator = None
        self.prometheus = None
        self.follower = None
        self.prometheus_note = ""

    # --- setup ---------------------------------------------------------------------------------
    def __enter__(self) -> DemoWorld:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="meshops-demo-"))
        self._stack.callback(shutil.rmtree, self.workdir, ignore_errors=True)
        self._make_repo()
        self._start_cluster()
        self._start_traffic()
        self._start_prometheus()

    def _make_repo(self) -> None:
        import git

        self.repo_dir = self.workdir / "mesh-config"
        for part in ("environments", "templates"):
            shutil.copytree(self.example / part, self.repo_dir / part)
        self.git = git.Repo.init(self.repo_dir, initial_branch="main")
        with self.git.config_writer() as writer:
            writer.set_value("user", "name", "meshops demo")
            writer.set_value("user", "email", "demo@meshops.dev")
        self.commit("Bookinfo mesh config (copy of the example repo)")

    def _start_cluster(self) -> None:
        from ..sandbox import SandboxServer
        from ..validate.schemas import shipped_crds

        self.server = SandboxServer().start()
        self._stack.callback(self.server.stop)
        self.server.install_crds(shipped_crds())
        self.server.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}})
        self.kubeconfig = self.server.write_kubeconfig(self.workdir / "kubeconfig")

    def _start_traffic(self) -> None:
        from ..sim.traffic import TrafficSimulator

        self.simulator = TrafficSimulator(namespace=NAMESPACE).start()
        self._stack.callback(self.simulator.stop)
        self.simulator.set_service(SERVICE, rps=REVIEWS_RPS, weights={"v1": 100})
        for version, behaviour in VERSIONS.items():
            self.simulator.set_workload(f"{SERVICE}-{version}", service=SERVICE, version=version, **behaviour)

    def _start_prometheus(self) -> None:
        from ..sim.prometheus import LocalPrometheus, PrometheusNotInstalled

        try:
            self.prometheus = LocalPrometheus(targets=[self.simulator.target]).start()
        except PrometheusNotInstalled as error:
            self.prometheus_note = f"{error.message} ({error.hint})" if error.hint else error.message
            return
        self._stack.callback(self.prometheus.stop)

    def follow_weights(self) -> None:
        """From now on, reviews traffic follows the VirtualService weights in the sandbox."""
        from ..cluster.target import Target
        from ..sim.follow import WeightFollower
        from ..rollout.store import RolloutStore

        store = RolloutStore.connect(Target(environment="demo", kubeconfig=str(self.kubeconfig), context="sandbox").connect().api)
        self.follower = WeightFollower(store, self.simulator, namespace=NAMESPACE, services={SERVICE: REVIEWS_RPS}).start()
        self._stack.callback(self.follower.stop)

    # --- what the script changes ---------------------------------------------------------------
    def commit(self, message: str) -> str:
        self.git.git.add(A=True)
        commit = self.git.index.commit(message)
        return commit.hexsha[:8]

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.repo_dir / relative
        text = path.read_text()
        if old not in text:
            raise RuntimeError(f"demo: {old!r} not found in {relative}")
        path.write_text(text.replace(old, new, 1))

    def set_policy(self, prometheus_url: str) -> None:
        """Point dev at this world's Prometheus and give it the demo's rollout speed (meshops.yaml)."""
        path = self.repo_dir / "environments" / ENVIRONMENT / "meshops.yaml"
        text = path.read_text()
        text = text[: text.index("rollout:")] if "rollout:" in text else text
        text = text.replace("http://prometheus.istio-system:9090", prometheus_url)
        policy = FAST_POLICY if self.fast else SLOW_POLICY
        path.write_text(text + "rollout:\n" + "".join(f"  {key}: {json.dumps(value)}\n" for key, value in policy.items()))

    @property
    def cluster_args(self) -> list[str]:
        return ["--repo", str(self.repo_dir), "--kubeconfig", str(self.kubeconfig), "--context", "sandbox"]
