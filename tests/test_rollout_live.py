"""Rollouts end to end: the sandbox API server, a real Prometheus scraping the synthetic mesh every
second, traffic that follows the weights the rollout writes, and the engine with short intervals.

Each test rolls out services of its own namespace, so the session's shared traffic simulator and
Prometheus never mix scenarios. Analyses of a brand-new canary may hold once while Prometheus has
too few samples; the assertions are about decisions, never about timings.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import REPO_ROOT
from meshops.cluster.connect import connect
from meshops.source.envconfig import load_env_config
from meshops.model.errors import ExitCode
from meshops.sim.prometheus import LocalPrometheus
from meshops.rollout.driver import RolloutEngine
from meshops.rollout.event_recorder import EventRecorder
from meshops.sim.follow import WeightFollower
from meshops.rollout.state import Phase
from meshops.rollout.store import RolloutStore
from meshops.source.repo import WorkTree
from meshops.sim.traffic import fixed_latency
from rollouts import ENV, Cluster, assert_every_write_sums_to_100, fast_policy, make_repo, write_values

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

RPS = 200.0  # per service: 20 % of it gives 40 canary requests/s, far above minRequests per 3 s window
TIMEOUT = 60.0  # seconds any rollout here may take before the test gives up (they take about 10)


class Scenario:
    """One test's namespace: config repo, sandbox, weight-following traffic, and an engine."""

    def __init__(self, *, mesh, tmp_path: Path, traffic, prometheus_url: str, namespace: str,
                 services: dict[str, dict], policy: dict) -> None:
        self.namespace = namespace
        self.services = services
        self.prometheus_url = prometheus_url
        repo = make_repo(tmp_path / namespace, namespace=namespace, services={name: "v1" for name in services},
                         policy=policy, prometheus_url=prometheus_url)
        self.cluster = Cluster(mesh, repo, namespace)
        self.cluster.apply()
        self.api = connect(kubeconfig=str(mesh.kubeconfig), context="sandbox")
        self.store = RolloutStore.connect(self.api)
        for name, canary in services.items():
            traffic.set_workload(f"{name}-v2", namespace=namespace, service=name, version="v2", **canary.get("settings", {}))
        rates = {name: canary.get("rps", RPS) for name, canary in services.items()}
        self.follower = WeightFollower(self.store, traffic, namespace=namespace, services=rates).start()

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
        return [entry["current"].get("v2", 0) for entry in self.cluster.state(name).history]

    def close(self) -> None:
        self.follower.stop()


@pytest.fixture
def scenario(mesh_sandbox, tmp_path, traffic, prometheus, request):
    made: list[Scenario] = []

    def make(services: dict[str, dict], *, policy: dict | None = None, prometheus_url: str | None = None) -> Scenario:
        namespace = "ro-" + request.node.name.removeprefix("test_").replace("_", "-")[:40].rstrip("-")
        built = Scenario(mesh=mesh_sandbox, tmp_path=tmp_path, traffic=traffic, namespace=namespace, services=services,
                         policy=policy or fast_policy(), prometheus_url=prometheus_url or prometheus.url)
        made.append(built)
        return built

    yield make
    for built in made:
        built.close()
    assert_every_write_sums_to_100(mesh_sandbox.server.log)


def test_a_healthy_canary_is_promoted_step_by_step_by_apply_wait(scenario):
    mesh = scenario({"cart": {}})
    write_values(mesh.cluster.repo, {"cart": "v2"})
    applied = mesh.cluster.apply("--wait", "--timeout", "60s", "--prometheus-url", mesh.prometheus_url)
    assert "cart: Succeeded (v1 -> v2)" in applied.stdout
    state = mesh.cluster.state("cart")
    assert state.phase == Phase.SUCCEEDED, state.message
    assert mesh.cluster.weights("cart") == {"v2": 100}
    steps = [entry["step"] for entry in state.history if entry["reason"] == "StepAdvanced"]
    assert steps == [1, 2] and state.history[-1]["reason"] == "Promoted"
    assert state.last_analysis["decision"] == "pass"
    assert {check["name"]: check["outcome"] for check in state.last_analysis["checks"]} == {
        "request-count": "pass", "success-rate": "pass", "latency": "pass"}
    events = mesh.cluster.events("cart")
    assert events[0] == "Started" and events.count("StepAdvanced") == 2 and events[-1] == "Promoted"
    assert mesh.cluster.cli("diff").returncode == 0  # the cluster now matches git


def test_five_percent_errors_roll_back_after_threshold_failed_analyses(scenario):
    mesh = scenario({"cart": {"settings": {"error_share": 0.05}}}, policy=fast_policy(threshold=2))
    mesh.roll_out()
    state = mesh.run()["cart"].state
    assert state.phase == Phase.FAILED
    assert state.failed_checks == 2 and mesh.cluster.weights("cart") == {"v1": 100}
    assert [e["reason"] for e in state.history if e["reason"] in ("CheckFailed", "RolledBack")] == ["CheckFailed", "RolledBack"]
    assert max(mesh.canary_weights("cart")) == 20  # never got past the first step
    assert "success rate 95% < min 99%" in state.message
    assert "RolledBack" in mesh.cluster.events("cart")


def test_a_latency_regression_rolls_back(scenario):
    mesh = scenario({"cart": {"settings": {"latency": fixed_latency(450)}}}, policy=fast_policy(threshold=1))
    mesh.roll_out()
    state = mesh.run()["cart"].state
    assert state.phase == Phase.FAILED and mesh.cluster.weights("cart") == {"v1": 100}
    latency = next(check for check in state.last_analysis["checks"] if check["name"] == "latency")
    assert latency["outcome"] == "fail" and latency["value"] > 300 and "> max 300ms" in latency["reason"]


def test_a_canary_without_traffic_is_never_promoted(scenario):
    mesh = scenario({"cart": {"rps": 0.0}})
    mesh.roll_out()
    engine = mesh.engine()
    [tick] = engine.run(engine.active(ENV), timeout=12)
    state = tick.state
    assert state.phase == Phase.PROGRESSING and state.step == 1 and state.failed_checks == 0
    held = [entry for entry in state.history if entry["reason"] == "AnalysisHeld"]
    assert held and "received no requests" in held[-1]["message"]
    assert mesh.cluster.weights("cart") == {"v1": 80, "v2": 20}


def test_two_services_roll_out_concurrently_and_one_failing_does_not_hold_back_the_other(scenario):
    mesh = scenario({"cart": {}, "search": {"settings": {"error_share": 0.2}}}, policy=fast_policy(threshold=1))
    mesh.roll_out()
    result = mesh.cluster.cli("rollout", "run", "--wait", "--timeout", "60s", "--prometheus-url", mesh.prometheus_url)
    assert result.returncode == ExitCode.CHANGES_OR_FINDINGS, result.stdout + result.stderr
    assert "cart: Succeeded (v1 -> v2)" in result.stdout and "search: Failed (v1 -> v2)" in result.stdout
    assert "cart: Promoted step 2/2 (v2 100)" in result.stderr  # plain progress lines off a terminal
    assert mesh.cluster.weights("cart") == {"v2": 100} and mesh.cluster.weights("search") == {"v1": 100}


def test_pause_resume_promote_and_abort_reach_a_running_engine(scenario):
    mesh = scenario({"cart": {}, "search": {}}, policy=fast_policy(steps=[20, 40, 60], interval="2s", window="2s"))
    mesh.roll_out()
    engine = mesh.engine(max_sleep=0.5)
    results = {}
    driver = threading.Thread(target=lambda: results.update(
        {tick.ref.name: tick for tick in engine.run(engine.active(ENV), timeout=TIMEOUT)}))
    driver.start()
    mesh.wait_for("cart", lambda state: state.step >= 1)
    assert mesh.cluster.cli("rollout", "pause", "cart").returncode == 0
    paused = mesh.cluster.state("cart")
    assert mesh.cluster.cli("rollout", "abort", "search").returncode == 0
    time.sleep(5)  # more than two intervals: a progressing rollout would have moved on
    assert mesh.cluster.state("cart").step == paused.step and mesh.cluster.state("cart").phase == Phase.PAUSED
    assert mesh.cluster.cli("rollout", "resume", "cart").returncode == 0
    mesh.wait_for("cart", lambda state: state.step > paused.step)
    assert mesh.cluster.cli("rollout", "promote", "cart", "--yes").returncode == 0
    driver.join(TIMEOUT)
    assert results["cart"].state.phase == Phase.SUCCEEDED and results["search"].state.phase == Phase.ABORTED
    assert mesh.cluster.weights("cart") == {"v2": 100} and mesh.cluster.weights("search") == {"v1": 100}
    reasons = [entry["reason"] for entry in mesh.cluster.state("cart").history]
    assert reasons.index("Paused") < reasons.index("Resumed") < reasons.index("Promoted")
    assert "by " in mesh.cluster.state("cart").message


def test_prometheus_stopped_mid_rollout_never_leads_to_promotion(scenario, traffic, prometheus_binary):
    with LocalPrometheus(targets=[traffic.target], scrape_interval=1.0, binary=prometheus_binary) as own:
        mesh = scenario({"cart": {}}, prometheus_url=own.url)
        own.wait_for_series(f'sum(istio_requests_total{{destination_workload_namespace="{mesh.namespace}"}})', timeout=30)
        mesh.roll_out()

        def stop_prometheus_after_the_first_step(tick) -> None:
            if tick.decision is not None and tick.state.step == 1 and own.running:
                own.stop()

        state = mesh.run(on_tick=stop_prometheus_after_the_first_step)["cart"].state
    assert state.phase == Phase.FAILED and mesh.cluster.weights("cart") == {"v1": 100}
    assert max(mesh.canary_weights("cart")) == 20
    statuses = {check["status"] for check in state.last_analysis["checks"]}
    assert statuses == {"unreachable"} and "Prometheus unreachable" in state.message


def test_meshops_killed_mid_rollout_resumes_where_it_stopped(scenario):
    mesh = scenario({"cart": {}}, policy=fast_policy(steps=[10, 20, 30, 40], interval="2s", window="2s"))
    mesh.roll_out()
    command = [sys.executable, "-m", "meshops", "rollout", "run", "--wait", "--env", ENV, "--repo", str(mesh.cluster.repo),
               "--kubeconfig", str(mesh.cluster.mesh.kubeconfig), "--context", "sandbox",
               "--prometheus-url", mesh.prometheus_url]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        mesh.wait_for("cart", lambda state: state.step >= 2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    at_kill = mesh.cluster.state("cart")
    assert at_kill.phase == Phase.PROGRESSING and 2 <= at_kill.step < 4
    time.sleep(2.5)  # one interval: nobody drives it now
    assert mesh.cluster.state("cart").updated_at == at_kill.updated_at
    resumed = mesh.cluster.cli("rollout", "run", "--wait", "--timeout", "60s", "--prometheus-url", mesh.prometheus_url)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    state = mesh.cluster.state("cart")
    assert state.phase == Phase.SUCCEEDED and mesh.cluster.weights("cart") == {"v2": 100}
    assert [entry["step"] for entry in state.history if entry["reason"] == "StepAdvanced"] == [1, 2, 3, 4]
    assert state.started_at == at_kill.started_at  # the same rollout, continued
