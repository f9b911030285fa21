"""Rollouts belong to their owner: two repositories that both call an environment `test`, one cluster.

Labels find a rollout's VirtualService; the `meshops.dev/owner` annotation (the repository's root
commit and the environment) decides whose it is. `meshops rollout …` (and so `apply --wait`),
reconcile and the controller act only on their own rollouts — or on ones without an annotation,
applied before owner annotations existed. No Prometheus here: the first step (0 % -> 20 %) needs
no analysis, and `rollout run` without --wait takes only the decisions due now.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from meshops.cluster.connect import connect
from meshops.model.errors import ExitCode
from meshops.model.identity import OWNER_ANNOTATION, Owner
from meshops.rollout.state import Phase
from meshops.rollout.store import NotOwned, RolloutRef, RolloutStore
from rollouts import ENV, Cluster, fast_policy, make_repo, write_values

TEAMS = ("team-a", "team-b")  # one namespace per repository; the environment is `test` in both


@pytest.fixture
def teams(mesh_sandbox, tmp_path: Path) -> tuple[Cluster, Cluster]:
    """Both repositories applied, each with a rollout of `cart` v1 -> v2 started (at 0 %)."""
    clusters = []
    for namespace in TEAMS:
        repo = make_repo(tmp_path / namespace, namespace=namespace, services={"cart": "v1"},
                         policy=fast_policy(interval="1s", window="1s", steps=[20, 50]))
        cluster = Cluster(mesh_sandbox, repo, namespace)
        cluster.deploy("cart", "v1", "v2")  # ready canary pods: the first step checks them
        cluster.apply()
        write_values(repo, {"cart": "v2"})
        cluster.apply()
        clusters.append(cluster)
    time.sleep(1.1)  # the interval: the first step is due in both
    mesh_sandbox.server.log.clear()
    return clusters[0], clusters[1]


def owner_of(cluster: Cluster) -> Owner:
    repo, _, environment = cluster.vs("cart")["metadata"]["annotations"][OWNER_ANNOTATION].rpartition("/")
    return Owner(repo=repo, environment=environment)


def writes_in(mesh_sandbox, namespace: str) -> list:
    return [entry for entry in mesh_sandbox.writes() if entry.namespace == namespace]


def test_the_two_repositories_own_their_virtualservices_under_the_same_environment_name(teams):
    a, b = teams
    assert owner_of(a).environment == owner_of(b).environment == ENV
    assert owner_of(a).repo != owner_of(b).repo


def test_rollout_run_of_one_repository_never_writes_the_other_repositorys_virtualservice(teams, mesh_sandbox):
    a, b = teams
    result = a.cli("rollout", "run")
    assert result.returncode == ExitCode.INCOMPLETE, result.stdout + result.stderr  # a's rollout is still running
    assert a.weights("cart") == {"v1": 80, "v2": 20} and a.state("cart").step == 1
    assert writes_in(mesh_sandbox, "team-b") == []  # no patch of b's VirtualService, no Event about it
    assert b.weights("cart") == {"v1": 100, "v2": 0} and b.state("cart").step == 0
    assert writes_in(mesh_sandbox, "team-a")  # a's rollout was written


def test_rollout_status_of_one_repository_lists_only_its_own_rollouts(teams):
    a, _ = teams
    result = a.cli("rollout", "status", "-o", "json")
    assert result.returncode == 0, result.stderr
    assert [row["namespace"] for row in json.loads(result.stdout)["rollouts"]] == ["team-a"]


def test_a_rollout_command_of_one_repository_acts_on_its_own_service_of_the_same_name(teams, mesh_sandbox):
    a, b = teams
    result = b.cli("rollout", "pause", "cart")
    assert result.returncode == 0, result.stdout + result.stderr
    assert b.state("cart").phase == Phase.PAUSED
    assert a.state("cart").phase == Phase.PROGRESSING and writes_in(mesh_sandbox, "team-a") == []


def test_a_rollout_from_before_owner_annotations_is_still_driven_by_its_environment(teams, mesh_sandbox):
    a, _ = teams
    mesh_sandbox.custom_objects().patch_namespaced_custom_object(
        "networking.istio.io", "v1", "team-a", "virtualservices", "cart",
        {"metadata": {"annotations": {OWNER_ANNOTATION: None}}})  # a merge patch: the annotation goes
    assert OWNER_ANNOTATION not in a.vs("cart")["metadata"]["annotations"]
    result = a.cli("rollout", "run")
    assert result.returncode == ExitCode.INCOMPLETE, result.stdout + result.stderr
    assert a.state("cart").step == 1


def test_a_store_for_another_owner_refuses_to_write_a_rollout_it_does_not_own(teams, mesh_sandbox):
    a, _ = teams
    api = connect(kubeconfig=str(mesh_sandbox.kubeconfig), context="sandbox")
    stranger = RolloutStore.connect(api, owner=Owner(repo="another-repo", environment=ENV))
    assert stranger.list(ENV) == []
    with pytest.raises(NotOwned, match="owned by .*/test .*another repository uses this environment name"):
        stranger.update(RolloutRef("team-a", "cart"), lambda live: pytest.fail("decided on another owner's rollout"))
    assert mesh_sandbox.writes() == []


def test_reconcile_summarizes_only_the_rollouts_its_repository_owns(teams, mesh_sandbox):
    from meshops.cluster.discovery import Discovery
    from meshops.reconcile.rollouts import rollout_states

    a, b = teams
    api = connect(kubeconfig=str(mesh_sandbox.kubeconfig), context="sandbox")
    rows = {cluster.namespace: [row["virtualService"] for row in rollout_states(api, Discovery(api), owner=owner_of(a),
                                                                                 namespace=cluster.namespace)]
            for cluster in (a, b)}
    assert rows == {"team-a": ["cart"], "team-b": []}
