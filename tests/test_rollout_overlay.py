"""How git and a running rollout meet in diff and apply (the overlay), against the sandbox API server.

No Prometheus here: starting, restarting, cancelling and pinning are decided by apply, and the
first step (0 % -> first weight) needs no analysis; `meshops rollout run` without --wait takes
only the decisions due now.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from meshops.model.errors import ExitCode
from meshops.rollout.state import Phase
from rollouts import ROUTERS, Cluster, assert_every_write_sums_to_100, fast_policy, make_repo, write_values

NAMESPACE = "shop"


def make_cluster(mesh_sandbox, tmp_path: Path, router: str = "virtualservice", **policy) -> Cluster:
    repo = make_repo(tmp_path / "config", namespace=NAMESPACE, services={"cart": "v1", "search": "v1"},
                     policy=fast_policy(interval="1s", window="1s", steps=[20, 50], **policy), router=router)
    cluster = Cluster(mesh_sandbox, repo, NAMESPACE, router)
    for service in ("cart", "search"):
        cluster.deploy(service, "v1", "v2", "v3")  # running workloads: the first step checks the canary is ready
    cluster.apply()
    return cluster


@pytest.fixture
def cluster(mesh_sandbox, tmp_path: Path) -> Cluster:
    return make_cluster(mesh_sandbox, tmp_path)


def first_step(cluster: Cluster) -> None:
    """Let the interval pass and take the one decision due: 0 % -> the first weight."""
    time.sleep(1.1)
    result = cluster.cli("rollout", "run")
    assert result.returncode == ExitCode.INCOMPLETE, result.stdout + result.stderr  # still running


def test_a_new_version_in_git_starts_a_rollout_at_zero_percent_after_its_subset_exists(cluster, mesh_sandbox):
    mesh_sandbox.server.log.clear()
    write_values(cluster.repo, {"cart": "v2", "search": "v1"})
    diff = cluster.cli("diff")
    assert diff.returncode == 1 and "cart: v2 –→0" in diff.stdout, diff.stdout
    cluster.apply()
    assert cluster.weights("cart") == {"v1": 100, "v2": 0}
    state = cluster.state("cart")
    assert (state.phase, state.step, state.stable, state.canary, state.weights) == (Phase.PROGRESSING, 0, "v1", "v2", (20, 50))
    assert cluster.events("cart") == ["Started"]
    assert cluster.weights("search") == {"v1": 100} and "meshops.dev/rollout" not in cluster.vs("search")["metadata"].get("annotations", {})
    assert_every_write_sums_to_100(mesh_sandbox.server.log)


def test_a_canary_without_a_weight_starts_a_rollout_and_one_with_a_weight_is_a_fixed_split(cluster):
    write_values(cluster.repo, {"cart": "v1", "search": "v1"}, canaries={"cart": {"version": "v3"}, "search": {"version": "v2", "weight": 30}})
    cluster.apply()
    assert cluster.state("cart").canary == "v3" and cluster.weights("cart") == {"v1": 100, "v3": 0}
    assert cluster.weights("search") == {"v1": 70, "v2": 30}
    assert "meshops.dev/rollout" not in (cluster.vs("search")["metadata"].get("annotations") or {})


@pytest.mark.parametrize("router", ROUTERS)
def test_diff_and_apply_during_an_active_rollout_leave_its_weights_alone(mesh_sandbox, tmp_path, router):
    cluster = make_cluster(mesh_sandbox, tmp_path, router)
    write_values(cluster.repo, {"cart": "v2", "search": "v1"})
    cluster.apply()
    first_step(cluster)
    assert cluster.weights("cart") == {"v1": 80, "v2": 20}
    diff = cluster.cli("diff")
    assert diff.returncode == 0, diff.stdout
    mesh_sandbox.server.log.clear()
    cluster.apply()
    assert mesh_sandbox.writes() == []
    assert cluster.weights("cart") == {"v1": 80, "v2": 20} and cluster.state("cart").step == 1


def test_git_naming_a_third_version_mid_rollout_restarts_from_the_stable(cluster, mesh_sandbox):
    write_values(cluster.repo, {"cart": "v2", "search": "v1"})
    cluster.apply()
    first_step(cluster)
    write_values(cluster.repo, {"cart": "v3", "search": "v1"})
    cluster.apply()
    state = cluster.state("cart")
    assert cluster.weights("cart") == {"v1": 100, "v3": 0}
    assert (state.phase, state.step, state.stable, state.canary, state.failed_checks) == (Phase.PROGRESSING, 0, "v1", "v3", 0)
    assert [entry["reason"] for entry in state.history] == ["Started", "StepAdvanced", "Restarted"]
    assert cluster.events("cart") == ["Started", "StepAdvanced", "Restarted"]
    assert_every_write_sums_to_100(mesh_sandbox.server.log)


def test_git_naming_the_stable_version_again_cancels_the_rollout(cluster):
    write_values(cluster.repo, {"cart": "v2", "search": "v1"})
    cluster.apply()
    first_step(cluster)
    write_values(cluster.repo, {"cart": "v1", "search": "v1"})
    cluster.apply()
    state = cluster.state("cart")
    assert cluster.weights("cart") == {"v1": 100}
    assert state.phase == Phase.ABORTED and "git names the stable version v1 again" in state.message
    assert cluster.cli("diff").returncode == 0


def test_an_aborted_rollout_pins_the_stable_until_git_names_another_version(cluster, mesh_sandbox):
    write_values(cluster.repo, {"cart": "v2", "search": "v1"})
    cluster.apply()
    first_step(cluster)
    aborted = cluster.cli("rollout", "abort", "cart")
    assert aborted.returncode == 0 and "aborted by" in aborted.stdout, aborted.stdout + aborted.stderr
    assert cluster.weights("cart") == {"v1": 100} and cluster.state("cart").phase == Phase.ABORTED
    mesh_sandbox.server.log.clear()
    cluster.apply()  # git still names v2: no automatic retry
    assert mesh_sandbox.writes() == [] and cluster.weights("cart") == {"v1": 100}
    write_values(cluster.repo, {"cart": "v3", "search": "v1"})
    cluster.apply()
    state = cluster.state("cart")
    assert (state.phase, state.stable, state.canary) == (Phase.PROGRESSING, "v1", "v3")


def test_pause_resume_and_promote_are_one_guarded_write_each(cluster, mesh_sandbox):
    write_values(cluster.repo, {"cart": "v2", "search": "v1"})
    cluster.apply()
    first_step(cluster)
    mesh_sandbox.server.log.clear()
    assert cluster.cli("rollout", "pause", "cart").returncode == 0
    state = cluster.state("cart")
    assert state.phase == Phase.PAUSED and state.paused_by
    time.sleep(1.1)
    assert cluster.cli("rollout", "run").returncode == ExitCode.INCOMPLETE
    assert cluster.weights("cart") == {"v1": 80, "v2": 20} and cluster.state("cart").step == 1  # paused: no step
    again = cluster.cli("rollout", "pause", "cart")
    assert again.returncode == 0 and "already paused" in again.stdout
    assert cluster.cli("rollout", "resume", "cart").returncode == 0
    assert cluster.state("cart").phase == Phase.PROGRESSING
    refused = cluster.cli("rollout", "promote", "cart")
    assert refused.returncode == ExitCode.INVALID and "--yes" in refused.stderr
    promoted = cluster.cli("rollout", "promote", "cart", "--yes")
    assert promoted.returncode == 0, promoted.stderr
    assert cluster.weights("cart") == {"v2": 100} and cluster.state("cart").phase == Phase.SUCCEEDED
    patches = mesh_sandbox.server.log.entries(verb="patch", resource="virtualservices")
    assert len(patches) == 3 and all(entry.content_type == "application/json-patch+json" for entry in patches)
    assert [json.loads(entry.body)[0] for entry in patches][0]["path"] == "/metadata/resourceVersion"
    assert cluster.events("cart")[-3:] == ["Paused", "Resumed", "Promoted"]
    assert cluster.cli("diff").returncode == 0  # git names v2, the cluster routes v2: nothing left to do
    late = cluster.cli("rollout", "abort", "cart")
    assert late.returncode == ExitCode.INVALID and "is Succeeded: nothing to abort" in late.stderr
    assert_every_write_sums_to_100(mesh_sandbox.server.log)


def test_status_shows_phase_step_and_weights_as_text_and_json(cluster):
    write_values(cluster.repo, {"cart": "v2", "search": "v1"})
    cluster.apply()
    first_step(cluster)
    text = cluster.cli("rollout", "status")
    assert text.returncode == 0
    assert "cart (shop): Progressing, step 1/2 of [20, 50], v1 80 / v2 20, failed checks 0/2" in text.stdout
    assert "v1 -> v2 on rules default, started " in text.stdout and ", next decision due " in text.stdout
    data = json.loads(cluster.cli("rollout", "status", "cart", "-o", "json").stdout)
    [rollout] = data["rollouts"]
    assert (rollout["name"], rollout["phase"], rollout["step"], rollout["current"]) == ("cart", "Progressing", 1, {"v1": 80, "v2": 20})
    assert rollout["nextDecisionAt"] > rollout["lastStepAt"]
    missing = cluster.cli("rollout", "status", "search")
    assert missing.returncode == ExitCode.INVALID and "no rollout of 'search'" in missing.stderr


def test_a_write_racing_with_another_writer_is_re_decided_not_lost(cluster, mesh_sandbox):
    """Someone changes the VirtualService between our read and our write: the patch's test fails, we re-read."""
    from meshops.cluster.connect import connect
    from meshops.rollout.control import run_command
    from meshops.rollout.store import RolloutRef, RolloutStore

    write_values(cluster.repo, {"cart": "v2", "search": "v1"})
    cluster.apply()
    store = RolloutStore.connect(connect(kubeconfig=str(mesh_sandbox.kubeconfig), context="sandbox"))
    ref = RolloutRef(NAMESPACE, "cart")
    stale = store.read(ref)
    custom = mesh_sandbox.custom_objects()
    custom.patch_namespaced_custom_object("networking.istio.io", "v1", NAMESPACE, "virtualservices", "cart",
                                          {"metadata": {"labels": {"team": "checkout"}}})
    from meshops.rollout.store import LostRace

    with pytest.raises(LostRace):
        store.write(stale, stale.state, weights={"v1": 100, "v2": 0})
    _, decision = run_command(store, ref, command="pause", actor="tester@here")
    assert decision is not None and cluster.state("cart").phase == Phase.PAUSED
    assert cluster.vs("cart")["metadata"]["labels"]["team"] == "checkout"


def test_a_rollout_cancelled_by_git_starts_again_when_git_names_the_canary_again(cluster):
    write_values(cluster.repo, {"cart": "v2", "search": "v1"})
    cluster.apply()
    write_values(cluster.repo, {"cart": "v1", "search": "v1"})
    cluster.apply()
    assert cluster.state("cart").ended_by == "git"
    write_values(cluster.repo, {"cart": "v2", "search": "v1"})
    cluster.apply()
    state = cluster.state("cart")
    assert (state.phase, state.step, state.canary) == (Phase.PROGRESSING, 0, "v2")


def test_retry_rolls_a_pinned_canary_out_again_from_zero(cluster):
    write_values(cluster.repo, {"cart": "v2", "search": "v1"})
    cluster.apply()
    first_step(cluster)
    assert cluster.cli("rollout", "abort", "cart").returncode == 0
    retried = cluster.cli("rollout", "retry", "cart")
    assert retried.returncode == 0 and "retried by" in retried.stdout, retried.stderr
    state = cluster.state("cart")
    assert (state.phase, state.step, state.failed_checks, state.ended_by) == (Phase.PROGRESSING, 0, 0, None)
    assert cluster.weights("cart") == {"v1": 100, "v2": 0}
    assert cluster.events("cart")[-2:] == ["Aborted", "Restarted"]
    first_step(cluster)
    assert cluster.weights("cart") == {"v1": 80, "v2": 20}
