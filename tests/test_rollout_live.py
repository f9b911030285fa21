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

import pytest

from helpers import REPO_ROOT
from meshops.model.errors import ExitCode
from meshops.sim.prometheus import LocalPrometheus
from meshops.rollout.state import Phase
from meshops.sim.traffic import fixed_latency
from rollouts import ENV, ROUTERS, TIMEOUT, fast_policy, write_values

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

@pytest.mark.parametrize("router", ROUTERS)
def test_a_healthy_canary_is_promoted_step_by_step_by_apply_wait(scenario, router):
    mesh = scenario({"cart": {}}, router=router)
    write_values(mesh.cluster.repo, {"cart": "v2"})
    applied = mesh.cluster.apply("--wait", "--timeout", "60s", "--prometheus-url", mesh.prometheus_url)
    stable, canary = mesh.cluster.version("cart", "v1"), mesh.cluster.version("cart", "v2")
    assert f"cart: Succeeded ({stable} -> {canary})" in applied.stdout
    state = mesh.cluster.state("cart")
    assert state.phase == Phase.SUCCEEDED, state.message
    assert mesh.cluster.weights("cart") == {"v2": 100}
    steps = [entry["step"] for entry in state.history if entry["reason"] == "StepAdvanced"]
    assert steps == [1, 2] and state.history[-1]["reason"] == "Promoted"
    assert state.last_analysis["decision"] == "pass"
    assert {check["name"]: check["outcome"] for check in state.last_analysis["checks"]} == {
        "canary-ready": "pass", "request-count": "pass", "success-rate": "pass", "latency": "pass"}
    events = mesh.cluster.events("cart")
    assert events[0] == "Started" and events.count("StepAdvanced") == 2 and events[-1] == "Promoted"
    assert mesh.cluster.cli("diff").returncode == 0  # the cluster now matches git


@pytest.mark.parametrize("router", ROUTERS)
def test_five_percent_errors_roll_back_after_threshold_failed_analyses(scenario, router):
    mesh = scenario({"cart": {"settings": {"error_share": 0.05}}}, policy=fast_policy(threshold=2), router=router)
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


def test_prometheus_stopped_mid_rollout_holds_the_canary_and_it_resumes_promoting_when_it_is_back(
        scenario, traffic, prometheus_binary):
    own = LocalPrometheus(targets=[traffic.target], scrape_interval=1.0, binary=prometheus_binary).start()
    try:
        mesh = scenario({"cart": {}}, prometheus_url=own.url)
        own.wait_for_series(f'sum(istio_requests_total{{destination_workload_namespace="{mesh.namespace}"}})', timeout=30)
        mesh.roll_out()
        port, stopped, outage = own.port, threading.Event(), threading.Event()

        def stop_prometheus_after_the_first_step(tick) -> None:
            if tick.decision is not None and tick.state.step == 1 and not stopped.is_set():
                stopped.set()
                own.stop(cleanup=False)
            elif tick.decision is not None and tick.decision.reason == "AnalysisInconclusive" and not outage.is_set():
                outage.set()
                held = tick.state
                assert (held.phase, held.step, held.failed_checks) == (Phase.PROGRESSING, 1, 0)
                assert held.current == {"v1": 80, "v2": 20}
                own.start(port=port)  # back at the same URL; its first scrape comes about 5 s later

        tick = mesh.run(on_tick=stop_prometheus_after_the_first_step)["cart"]
        assert tick.error is None, tick.error
        state = tick.state
    finally:
        own.stop()
    assert outage.is_set() and state.phase == Phase.SUCCEEDED, state.message
    assert state.failed_checks == 0 and state.inconclusive >= 1
    inconclusive = [entry for entry in state.history if entry["reason"] == "AnalysisInconclusive"]
    assert inconclusive and "Prometheus unreachable at" in inconclusive[0]["message"]
    assert "AnalysisInconclusive" in mesh.cluster.events("cart")


def test_past_the_progress_deadline_an_unreachable_prometheus_rolls_the_canary_back(scenario, stopped_prometheus_url):
    mesh = scenario({"cart": {}}, prometheus_url=stopped_prometheus_url,
                    policy=fast_policy(interval="1s", window="1s", progressDeadline="4s", onTimeout="rollback"))
    mesh.roll_out()
    state = mesh.run()["cart"].state
    assert state.phase == Phase.FAILED and mesh.cluster.weights("cart") == {"v1": 100}
    assert state.failed_checks == 0 and state.inconclusive >= 2
    assert "no progress at step 1/2 for longer than progressDeadline 4s" in state.message
    assert "Prometheus unreachable" in state.message


@pytest.mark.parametrize("router", ROUTERS)
def test_meshops_killed_mid_rollout_resumes_where_it_stopped(scenario, router):
    mesh = scenario({"cart": {}}, policy=fast_policy(steps=[10, 20, 30, 40], interval="2s", window="2s"), router=router)
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
