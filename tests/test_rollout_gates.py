"""Gates: a manual approval that holds a rollout until `meshops rollout approve`, also across a restart
of the process that drives it; and webhook checks before the first traffic, with every analysis and
before promotion, whose failing answer is a failed check with the body as its reason.

The sandbox, the synthetic mesh and the session's Prometheus; webhooks answer from
`receiver.LocalReceiver` over real sockets; the driver of the approval test is the real CLI, killed
with SIGKILL and started again.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from helpers import REPO_ROOT
from meshops.model.errors import ExitCode
from meshops.rollout.analysis import Outcome
from meshops.rollout.policy import Webhook
from meshops.rollout.state import Phase, RolloutState
from meshops.rollout import webhooks
from meshops.sim.prometheus import free_port
from receiver import LocalReceiver
from rollouts import ENV, TIMEOUT, fast_policy

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]


def driver(mesh) -> subprocess.Popen:
    """`meshops rollout run --wait` for the scenario, as a process of its own."""
    command = [sys.executable, "-m", "meshops", "rollout", "run", "--wait", "--env", ENV, "--repo", str(mesh.cluster.repo),
               "--kubeconfig", str(mesh.cluster.mesh.kubeconfig), "--context", "sandbox", "--prometheus-url", mesh.prometheus_url]
    return subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def test_an_approval_gate_holds_until_approved_across_a_restart_of_the_driving_process(scenario, mesh_sandbox):
    mesh = scenario({"cart": {}}, policy=fast_policy(steps=[20, {"approve": True}, 50], interval="2s", window="2s"))
    mesh.roll_out()
    first = driver(mesh)
    try:
        waiting = mesh.wait_for("cart", lambda state: state.awaiting_approval == 1)
    finally:
        kill(first)
    assert waiting.current == {"v1": 80, "v2": 20}
    status = mesh.cluster.cli("rollout", "status", "cart")
    assert "WAITING FOR APPROVAL since" in status.stdout and f"meshops rollout approve --env {ENV} cart" in status.stdout
    second = driver(mesh)  # a new process: what it knows comes from the annotation
    try:
        time.sleep(5)  # more than two intervals: an open gate would have moved on
        held = mesh.cluster.state("cart")
        assert (held.step, held.awaiting_approval, held.current) == (1, 1, {"v1": 80, "v2": 20})
        approved = mesh.cluster.cli("rollout", "approve", "cart")
        assert approved.returncode == 0 and "approved by" in approved.stdout, approved.stdout + approved.stderr
        done = mesh.wait_for("cart", lambda state: state.phase == Phase.SUCCEEDED)
    finally:
        kill(second)
    assert done.approved == (1,) and done.approved_by
    reasons = [entry["reason"] for entry in done.history]
    assert reasons.index("AwaitingApproval") < reasons.index("Approved") < reasons.index("Promoted")
    writes = len(mesh_sandbox.writes())
    again = mesh.cluster.cli("rollout", "approve", "cart")
    assert again.returncode == ExitCode.INVALID and again.stderr.count("\n") == 1
    assert again.stderr.startswith("error: cart: the rollout of cart (v1 -> v2) is Succeeded: nothing to approve")
    assert len(mesh_sandbox.writes()) == writes


def test_webhooks_gate_the_first_traffic_every_step_and_the_promotion(scenario):
    with LocalReceiver() as hooks:
        hooks.respond("/smoke", 500, b"smoke tests failed: 3 of 10 (checkout)")
        policy = fast_policy(threshold=3, webhooks=[
            {"name": "smoke", "type": "pre-rollout", "url": hooks.url + "/smoke", "timeout": "5s"},
            {"name": "load", "type": "rollout", "url": hooks.url + "/load", "metadata": {"users": 20}},
            {"name": "acceptance", "type": "pre-promotion", "url": hooks.url + "/acceptance"},
        ])
        mesh = scenario({"cart": {}}, policy=policy)
        mesh.roll_out()
        engine = mesh.engine()
        [refused] = engine.run(engine.active(ENV), wait=False, timeout=TIMEOUT)
        while refused.state.last_analysis is None:  # the first decision is due one interval after the start
            time.sleep(0.5)
            [refused] = engine.run(engine.active(ENV), wait=False, timeout=TIMEOUT)
        assert (refused.state.step, refused.state.failed_checks) == (0, 1)
        assert "smoke: pre-rollout webhook answered HTTP 500: smoke tests failed: 3 of 10 (checkout)" in refused.state.message
        hooks.respond("/smoke", 204)
        state = mesh.run()["cart"].state
    assert state.phase == Phase.SUCCEEDED, state.message
    calls = [(delivery.path, delivery.json["step"]) for delivery in hooks.received]
    assert calls[0] == ("/smoke", 0) and ("/smoke", 0) in calls[1:]
    assert [call for call in calls if call[0] != "/smoke"] == [("/load", 1), ("/load", 2), ("/acceptance", 2)]
    load = next(delivery.json for delivery in hooks.received if delivery.path == "/load")
    assert (load["type"], load["service"], load["canary"], load["metadata"]) == ("rollout", "cart", "v2", {"users": "20"})
    assert {check["name"] for check in state.last_analysis["checks"]} >= {"webhook/load", "webhook/acceptance"}


def test_a_webhook_that_does_not_answer_is_inconclusive_not_a_failure():
    hook = Webhook(name="smoke", type="pre-rollout", url=f"http://127.0.0.1:{free_port()}/smoke", timeout=2.0)
    state = RolloutState(phase=Phase.PROGRESSING, service="cart", stable="v1", canary="v2", weights=(20, 50))
    from meshops.rollout.analysis import AnalysisTarget

    target = AnalysisTarget(service="cart", namespace="shop", canary="v2", stable="v1", canary_workload="cart-v2",
                            stable_workload="cart-v1")
    [check] = webhooks.call_all((hook,), environment="prod", target=target, state=state)
    assert check.outcome is Outcome.INCONCLUSIVE and check.reason.startswith("pre-rollout webhook did not answer: connection refused")
