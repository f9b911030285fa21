"""Waves: a new revision and its canaries reach the first wave's clusters, the next wave only after
every rollout there succeeded; a failure leaves later clusters untouched (their request logs say so).

Each cluster is a sandbox of its own; the session's traffic simulator and Prometheus serve the
first wave, and a cluster that must be judged on numbers of its own gets its own simulator and
Prometheus.
"""
from __future__ import annotations

import json

import pytest

from fleetmesh import MeshFleet, make_fleet_repo
from meshops.rollout.state import Phase, state_of
from rollouts import fast_policy

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]


@pytest.fixture
def mesh_fleet(fleet, tmp_path, prometheus, request):
    made: list[MeshFleet] = []

    def make(clusters: dict[str, str | None], *, waves=None, policy=None, soak=None, services=("cart",)) -> MeshFleet:
        namespace = "fw-" + request.node.name.removeprefix("test_").replace("_", "-")[:40].rstrip("-")
        repo = make_fleet_repo(tmp_path / "repo", services={name: "v1" for name in services}, namespace=namespace,
                               policy=policy or fast_policy(), clusters=clusters, waves=waves,
                               prometheus_url=prometheus.url, soak=soak)
        built = MeshFleet(fleet, repo, namespace)
        made.append(built)
        first = built.cli("apply", "--yes")
        assert first.returncode == 0, first.stdout + first.stderr
        for server in fleet.servers.values():
            server.log.clear()
        return built

    yield make
    for built in made:
        built.close()


def test_a_failing_canary_in_the_first_wave_stops_the_waves_and_later_clusters_are_never_written(mesh_fleet, traffic, fleet):
    mesh = mesh_fleet({"us-east": None, "eu-west": None, "ap-south": None}, waves=[["us-east"], ["eu-west", "ap-south"]],
                      policy=fast_policy(threshold=1))
    mesh.follow("us-east", traffic, {"cart": {"settings": {"error_share": 0.2}}})
    mesh.name_version({"cart": "v2"})
    result = mesh.cli("apply", "--yes", "--wait", "--timeout", "60s")
    assert result.returncode == 1, result.stdout + result.stderr
    assert state_of(mesh.vs("us-east", "cart")).phase == Phase.FAILED
    assert "test: stopped after wave 1: rollouts did not succeed in wave 1: test/us-east cart" in result.stderr
    assert "test: not started: eu-west, ap-south" in result.stderr
    assert fleet.writes("eu-west") == [] and fleet.writes("ap-south") == []
    assert len(fleet["eu-west"].log) == 0 and len(fleet["ap-south"].log) == 0  # not even read
    assert state_of(mesh.vs("eu-west", "cart")) is None  # still v1, no rollout ever started there


def meshops_writes(fleet, cluster: str) -> list:
    """The writes meshops sent (field manager `meshops`), not those of the test's pod follower."""
    return [entry for entry in fleet.writes(cluster) if entry.field_manager == "meshops"]


def test_the_next_wave_starts_after_the_first_succeeded_and_each_cluster_asks_its_own_prometheus(
        mesh_fleet, traffic, fleet, prometheus_binary):
    from meshops.sim.prometheus import LocalPrometheus
    from meshops.sim.traffic import TrafficSimulator

    with TrafficSimulator(namespace="eu").start() as eu_traffic, \
            LocalPrometheus(targets=[eu_traffic.target], scrape_interval=1.0, binary=prometheus_binary) as eu_prometheus:
        mesh = mesh_fleet({"us-east": None, "eu-west": eu_prometheus.url}, waves=[["us-east"], ["eu-west"]],
                          policy=fast_policy(threshold=1))
        mesh.follow("us-east", traffic, {"cart": {}})  # healthy in us-east (the environment's Prometheus) ...
        mesh.follow("eu-west", eu_traffic, {"cart": {"settings": {"error_share": 0.2}}})  # ... failing in eu-west's own
        mesh.name_version({"cart": "v2"})
        result = mesh.cli("apply", "--yes", "--wait", "--timeout", "90s")
    assert result.returncode == 1, result.stdout + result.stderr
    us_east, eu_west = state_of(mesh.vs("us-east", "cart")), state_of(mesh.vs("eu-west", "cart"))
    assert us_east.phase == Phase.SUCCEEDED and eu_west.phase == Phase.FAILED
    assert "success rate 80%" in eu_west.message
    first_write_in_eu = min(entry.time for entry in meshops_writes(fleet, "eu-west"))
    us_promoted = max(entry.time for entry in meshops_writes(fleet, "us-east"))
    assert first_write_in_eu > us_promoted  # wave 2 began after wave 1's last write (the promotion)
    lines = result.stderr.splitlines()
    assert lines.index("test: wave 1: us-east") < lines.index("test: wave 2: eu-west")
    assert "test/us-east: cart: Succeeded (v1 -> v2)" in result.stdout and "test/eu-west: cart: Failed (v1 -> v2)" in result.stdout


def test_without_wait_apply_stops_after_the_wave_whose_canary_still_runs(mesh_fleet, traffic, fleet):
    mesh = mesh_fleet({"us-east": None, "eu-west": None}, waves=[["us-east"], ["eu-west"]])
    mesh.name_version({"cart": "v2"})
    result = mesh.cli("apply", "--yes")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "rollouts still run in wave 1: test/us-east (cart)" in result.stderr
    assert state_of(mesh.vs("us-east", "cart")).phase == Phase.PROGRESSING
    assert fleet.writes("eu-west") == []


def test_reconcile_stops_the_waves_at_a_failed_canary_and_a_second_run_does_not_retry_or_go_on(
        mesh_fleet, traffic, fleet, origin, tmp_path):
    import git

    mesh = mesh_fleet({"us-east": None, "eu-west": None}, waves=[["us-east"], ["eu-west"]], policy=fast_policy(threshold=1))
    repo = git.Repo.init(mesh.repo, initial_branch="main")
    repo.git.add(A=True)
    repo.index.commit("fleet at v1", author=git.Actor("t", "t@t"), committer=git.Actor("t", "t@t"))
    repo.create_remote("origin", str(origin)).push("main:main")
    reconcile = ("reconcile", "--repo", f"file://{origin}", "--wait", "--cache-dir", str(tmp_path / "cache"), "-o", "json")
    first = mesh.cli(*reconcile)
    assert first.returncode == 0, first.stderr  # v1 everywhere, recorded on each cluster's Lease
    mesh.follow("us-east", traffic, {"cart": {"settings": {"error_share": 0.2}}})
    for server in fleet.servers.values():
        server.log.clear()
    mesh.name_version({"cart": "v2"})
    repo.git.add(A=True)
    repo.index.commit("cart v2", author=git.Actor("t", "t@t"), committer=git.Actor("t", "t@t"))
    repo.remote("origin").push("main:main")
    second = mesh.cli(*reconcile)
    assert second.returncode == 1, second.stderr
    rows = {(row["cluster"], row["outcome"]) for row in json.loads(second.stdout)["environments"]}
    assert rows == {("us-east", "failed"), ("eu-west", "blocked")}
    assert state_of(mesh.vs("us-east", "cart")).phase == Phase.FAILED
    assert len(fleet["eu-west"].log) == 0  # not written, not even read
    third = mesh.cli(*reconcile)
    assert third.returncode == 1 and "(not retried; push a fix)" in third.stdout
    assert len(fleet["eu-west"].log) == 0 and state_of(mesh.vs("eu-west", "cart")) is None
