"""Canary readiness end to end: without ready canary pods a rollout holds with that reason, the progress
deadline then acts, and once the pods are ready it proceeds.

The canary's apps/v1 Deployment lives in the sandbox; the test reports its readiness through the
status subresource (as the Deployment controller would) with `sim.workloads`. The stable version's
Deployment is made ready up front; the weight follower is told not to make any ready itself.
"""
from __future__ import annotations

import pytest

from meshops.cluster.connect import connect
from meshops.rollout.state import Phase
from meshops.sim.workloads import ensure_deployment, set_ready
from rollouts import fast_policy

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]


@pytest.fixture
def apps(mesh_sandbox):
    return connect(kubeconfig=str(mesh_sandbox.kubeconfig), context="sandbox")


def readiness_scenario(scenario, apps, **policy):
    mesh = scenario({"cart": {}}, policy=fast_policy(canaryReadiness=True, **policy), ready_workloads=False)
    ensure_deployment(apps, namespace=mesh.namespace, service="cart", version="v1", replicas=2)
    ensure_deployment(apps, namespace=mesh.namespace, service="cart", version="v2", replicas=3, ready=False)
    return mesh


def test_a_canary_without_ready_pods_holds_with_that_reason_and_proceeds_once_they_are_ready(scenario, apps):
    mesh = readiness_scenario(scenario, apps)
    mesh.roll_out()

    def ready_after_two_holds(tick) -> None:
        held = [entry for entry in tick.state.history if entry["reason"] == "CanaryNotReady"] if tick.state else []
        if held and held[-1].get("count", 1) >= 2:
            set_ready(apps, namespace=mesh.namespace, name="cart-v2", ready=3)

    state = mesh.run(on_tick=ready_after_two_holds)["cart"].state
    assert state.phase == Phase.SUCCEEDED, state.message
    held = next(entry for entry in state.history if entry["reason"] == "CanaryNotReady")
    assert held["step"] == 0 and held["current"] == {"v1": 100, "v2": 0}
    assert f"Deployment {mesh.namespace}/cart-v2 has 0/3 replicas ready" in held["message"]
    assert "CanaryNotReady" in mesh.cluster.events("cart")


def test_a_canary_that_never_gets_ready_is_rolled_back_at_the_progress_deadline(scenario, apps):
    mesh = readiness_scenario(scenario, apps, interval="1s", window="1s", progressDeadline="4s")
    mesh.roll_out()
    state = mesh.run()["cart"].state
    assert state.phase == Phase.FAILED and mesh.cluster.weights("cart") == {"v1": 100}
    assert "no progress at step 0/2 for longer than progressDeadline 4s" in state.message
    assert "has 0/3 replicas ready" in state.message


def test_a_canary_deployment_that_does_not_exist_holds_naming_the_workload_pattern(scenario, apps):
    mesh = scenario({"cart": {}}, policy=fast_policy(canaryReadiness=True), ready_workloads=False)
    mesh.roll_out()
    engine = mesh.engine()
    [tick] = engine.run(engine.active("test"), timeout=5)
    assert tick.state.phase == Phase.PROGRESSING and tick.state.step == 0
    assert f"Deployment {mesh.namespace}/cart-v2 does not exist" in tick.state.message
