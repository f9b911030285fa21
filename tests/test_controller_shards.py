"""meshops controller --shards: three replicas share twelve environment x cluster targets with Leases.

Each target is one sandbox (its own API server); the replicas keep their shard and member Leases
in a thirteenth ("home"). The environment goes in two waves, so replicas also wait for the waves
other replicas reconcile, reading their records.
"""
from __future__ import annotations

import time

import pytest

from helpers import Background, commit_and_push, wait_until, write_files

LEASE_SECONDS = 3.0
RETRY_SECONDS = LEASE_SECONDS / 5
CLUSTERS = [f"c{index:02d}" for index in range(12)]
SHARDS = 3
LEASES = ("coordination.k8s.io", "leases")


def repo_files(message: str) -> dict[str, str]:
    listed = "".join(f"  - {{name: {name}}}\n" for name in CLUSTERS)
    return {
        "environments/base/values.yaml": f"message: {message}\n",
        "environments/prod/values.yaml": "{}\n",
        "environments/prod/meshops.yaml": f"namespace: shard-prod\nclusters:\n{listed}"
                                          f"waves: [[{', '.join(CLUSTERS[:6])}], [{', '.join(CLUSTERS[6:])}]]\n",
        "templates/settings.yaml.j2": (
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ environment.namespace }}\n"
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {{ environment.namespace }}\n"
            "data:\n  message: {{ values.message | to_json }}\n"),
    }


@pytest.fixture
def shard_repo(tmp_path, origin):
    import git

    repo = git.Repo.init(write_files(tmp_path / "shard-config", repo_files("one")), initial_branch="main")
    with repo.config_writer() as writer:
        writer.set_value("user", "name", "meshops tests")
        writer.set_value("user", "email", "tests@meshops.dev")
    repo.git.add(A=True)
    repo.index.commit("twelve clusters")
    repo.create_remote("origin", str(origin)).push("main:main")
    return repo


@pytest.fixture
def replicas(fleet, shard_repo, origin, tmp_path):
    for name in ["home", *CLUSTERS]:
        fleet.add(name)
    started: dict[str, Background] = {}

    def start(identity: str) -> Background:
        process = Background("controller", "--identity", identity, "--listen", "127.0.0.1:0", "--repo", str(origin), "--all",
                             "--interval", "1s", "--leader-lease-duration", f"{LEASE_SECONDS:g}s", "--leader-namespace", "default",
                             "--kubeconfig", fleet.kubeconfig, "--context", "home", "--shards", str(SHARDS),
                             "--lock-timeout", "20s", "--cache-dir", str(tmp_path / f"cache-{identity}"))
        process.wait_for(r"listening on (http://127\.0\.0\.1:\d+)")
        started[identity] = process
        return process

    yield start
    for process in started.values():
        process.stop()


def shard_holders(fleet) -> dict[int, str | None]:
    holders = {}
    for lease in fleet["home"].objects(*LEASES, "default"):
        name = lease["metadata"]["name"]
        if name.startswith("meshops-controller-shard-"):
            holders[int(name.rsplit("-", 1)[1])] = lease["spec"].get("holderIdentity")
    return holders


def records(fleet) -> dict[str, tuple[str, str]]:
    """cluster -> (revision applied, who reconciled it last) from each cluster's Lease."""
    import json

    found = {}
    for name in CLUSTERS:
        for lease in fleet[name].objects(*LEASES, "shard-prod"):
            if lease["metadata"]["name"] == f"meshops-prod.{name}":
                annotations = lease["metadata"].get("annotations") or {}
                attempt = json.loads(annotations.get("meshops.dev/reconcile") or "{}")
                found[name] = (annotations.get("meshops.dev/revision"), attempt.get("by"))
    return found



def balanced(fleet) -> dict[int, str] | None:
    holders = shard_holders(fleet)
    return holders if len(holders) == SHARDS and None not in holders.values() and len(set(holders.values())) == SHARDS else None


def all_at(fleet, revision: str):
    found = records(fleet)
    return found if len(found) == len(CLUSTERS) and all(applied == revision for applied, _ in found.values()) else None


def owner_of(holders: dict[int, str], cluster: str) -> str:
    from meshops.controller.shards import shard_of

    return holders[shard_of("prod", cluster, SHARDS)]


def test_three_replicas_split_twelve_targets_each_reconciled_by_exactly_one(replicas, fleet, shard_repo):
    processes = {identity: replicas(identity) for identity in ("alpha", "beta", "gamma")}
    holders = wait_until(lambda: balanced(fleet), 30, "one shard per replica")
    pushed = commit_and_push(shard_repo, {"environments/base/values.yaml": "message: two\n"}, "message two")
    found = wait_until(lambda: all_at(fleet, pushed), 90, "every cluster at the new revision")
    assert {cluster: by for cluster, (_, by) in found.items()} == {cluster: owner_of(holders, cluster) for cluster in CLUSTERS}


    def applied_by(cluster: str) -> list[str]:
        return [identity for identity, process in processes.items() if f"prod/{cluster}: applied: {pushed[:12]}" in process.output]

    wait_until(lambda: all(applied_by(cluster) for cluster in CLUSTERS), 30, "every report line")  # logged when a run ends
    assert {cluster: applied_by(cluster) for cluster in CLUSTERS} == {cluster: [owner_of(holders, cluster)] for cluster in CLUSTERS}
    assert set(holders.values()) == set(processes)


def test_a_killed_replicas_shard_moves_within_the_lease_duration_and_its_targets_with_it(replicas, fleet, shard_repo):
    from meshops.controller.shards import shard_of

    processes = {identity: replicas(identity) for identity in ("alpha", "beta", "gamma")}
    holders = wait_until(lambda: balanced(fleet), 30, "one shard per replica")
    busiest = max(range(SHARDS), key=lambda index: sum(shard_of("prod", c, SHARDS) == index for c in CLUSTERS))
    victim = holders[busiest]
    moved = [cluster for cluster in CLUSTERS if shard_of("prod", cluster, SHARDS) == busiest]
    assert moved
    processes[victim].kill()  # SIGKILL: nothing released, the Leases must expire
    killed = time.monotonic()
    new_holder = wait_until(lambda: shard_holders(fleet)[busiest] not in (None, victim) and shard_holders(fleet)[busiest],
                            LEASE_SECONDS + 2 * RETRY_SECONDS + 2.0, "a survivor to take the shard")
    assert new_holder in set(processes) - {victim}
    assert time.monotonic() - killed >= LEASE_SECONDS - RETRY_SECONDS - 0.5  # it did wait for the expiry
    pushed = commit_and_push(shard_repo, {"environments/base/values.yaml": "message: after the kill\n"}, "after the kill")
    found = wait_until(lambda: all_at(fleet, pushed), 90, "every cluster at the new revision")
    assert {found[cluster][1] for cluster in moved} == {new_holder}
    assert victim not in {by for _, by in found.values()}
    (configmap,) = [o for o in fleet[moved[0]].objects("", "configmaps", "shard-prod") if o["metadata"]["name"] == "settings"]
    assert configmap["data"]["message"] == "after the kill"
