"""reconcile over an environment that spans clusters: wave after wave, a Lease per environment and
cluster, state in the clusters so any process continues where another stopped."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import datetime

import pytest

from helpers import FLEET_CLUSTERS, REPO_ROOT, commit_and_push

LEASES = ("coordination.k8s.io", "leases")
ALL = ("dev", *FLEET_CLUSTERS)


@pytest.fixture
def clusters(fleet):
    for name in ALL:
        fleet.add(name)
    return fleet


@pytest.fixture
def settings(origin, clusters, tmp_path):
    from meshops.reconcile.reconciler import Settings

    def make(*environments: str, **extra) -> Settings:
        return Settings(repo=f"file://{origin}", environments=environments, cache_dir=str(tmp_path / "cache"),
                        kubeconfig=clusters.kubeconfig, **extra)

    return make


def run(settings):
    from meshops.reconcile.reconciler import reconcile

    lines: list[str] = []
    report = reconcile(settings, emit=lines.append)
    return report, lines


def rows(report) -> dict[str, tuple[str, int]]:
    return {row.name: (row.outcome.value, row.wave) for row in report.environments}


def lease(fleet, cluster: str, name: str) -> dict | None:
    found = [o for o in fleet[cluster].objects(*LEASES, "fleet-prod" if cluster != "dev" else "fleet-dev")
             if o["metadata"]["name"] == name]
    return found[0] if found else None


def settings_configmap(fleet, cluster: str) -> dict | None:
    namespace = "fleet-prod" if cluster != "dev" else "fleet-dev"
    found = [o for o in fleet[cluster].objects("", "configmaps", namespace) if o["metadata"]["name"] == "settings"]
    return found[0]["data"] if found else None


def set_prod(fleet_repo, extra: str) -> str:
    from helpers import FLEET_REPO_FILES

    return commit_and_push(fleet_repo, {"environments/prod/meshops.yaml": FLEET_REPO_FILES["environments/prod/meshops.yaml"] + extra},
                           "prod settings")


def test_every_cluster_is_reconciled_wave_by_wave_with_its_values_and_a_lease_of_its_own(fleet_repo, clusters, settings):
    report, lines = run(settings())
    assert rows(report) == {"dev": ("applied", 1), "prod/us-east": ("applied", 1), "prod/eu-west": ("applied", 2),
                            "prod/ap-south": ("applied", 2)}, lines
    head = fleet_repo.head.commit.hexsha
    for name in FLEET_CLUSTERS:
        record = lease(clusters, name, f"meshops-prod.{name}")
        assert record["metadata"]["annotations"]["meshops.dev/revision"] == head
        assert lease(clusters, name, "meshops-prod") is None
    assert lease(clusters, "dev", "meshops-dev")["metadata"]["annotations"]["meshops.dev/revision"] == head
    assert {name: settings_configmap(clusters, name)["region"] for name in FLEET_CLUSTERS} == {
        "us-east": "none", "eu-west": "eu-west", "ap-south": "none"}
    entry = report.to_dict()["environments"][1]
    assert (entry["environment"], entry["cluster"], entry["wave"], entry["observed"]) == ("prod", "us-east", 1, False)


def test_a_cluster_values_change_reaches_that_cluster_alone(fleet_repo, clusters, settings):
    run(settings())
    for server in clusters.servers.values():
        server.log.clear()
    commit_and_push(fleet_repo, {"environments/prod/clusters/eu-west.yaml": "region: eu-west-2\n"}, "eu-west moves")
    report, lines = run(settings())
    outcomes = rows(report)
    assert outcomes["prod/eu-west"] == ("applied", 2), lines
    assert outcomes["prod/us-east"][0] == outcomes["prod/ap-south"][0] == outcomes["dev"][0] == "skipped"
    assert settings_configmap(clusters, "eu-west")["region"] == "eu-west-2"
    assert clusters.writes("us-east") == [] and clusters.writes("ap-south") == []


def test_the_next_wave_waits_out_the_soak_and_a_later_reconcile_starts_it(fleet_repo, clusters, settings):
    set_prod(fleet_repo, "soak: 3s\n")
    report, lines = run(settings("prod"))
    assert rows(report) == {"prod/us-east": ("applied", 1), "prod/eu-west": ("waiting", 2),
                            "prod/ap-south": ("waiting", 2)}, lines
    assert "soaking until" in report.environments[1].reason
    assert settings_configmap(clusters, "eu-west") is None and clusters.writes("eu-west") == []
    clusters["us-east"].log.clear()
    time.sleep(3.5)
    again, lines = run(settings("prod"))
    assert rows(again) == {"prod/us-east": ("skipped", 1), "prod/eu-west": ("applied", 2), "prod/ap-south": ("applied", 2)}, lines
    assert clusters.writes("us-east") == []  # the first wave is only read again


def test_a_reconcile_of_wave_two_waits_for_wave_one_and_never_writes_ahead_of_it(fleet_repo, clusters, settings):
    report, _ = run(settings("prod", waves=(2,)))
    assert rows(report) == {"prod/us-east": ("waiting", 1), "prod/eu-west": ("blocked", 2), "prod/ap-south": ("blocked", 2)}
    assert report.environments[0].observed and "left to the process that owns it" in report.environments[0].reason
    assert all(clusters.writes(name) == [] for name in FLEET_CLUSTERS)
    first, _ = run(settings("prod", waves=(1,)))
    assert rows(first) == {"prod/us-east": ("applied", 1)}
    assert clusters.writes("eu-west") == [] and clusters.writes("ap-south") == []
    second, _ = run(settings("prod", waves=(2,)))
    assert rows(second) == {"prod/us-east": ("skipped", 1), "prod/eu-west": ("applied", 2), "prod/ap-south": ("applied", 2)}
    assert second.environments[0].observed


def test_cluster_writes_only_that_cluster_and_observes_the_rest(fleet_repo, clusters, settings):
    run(settings("prod"))
    commit_and_push(fleet_repo, {"environments/prod/values.yaml": "message: narrowed\n"}, "prod message")
    report, _ = run(settings("prod", clusters=("us-east",)))
    assert rows(report) == {"prod/us-east": ("applied", 1), "prod/eu-west": ("waiting", 2), "prod/ap-south": ("waiting", 2)}
    assert settings_configmap(clusters, "us-east")["message"] == "narrowed"
    assert settings_configmap(clusters, "eu-west")["message"] == "hello from prod"


def test_an_unreachable_cluster_is_one_line_and_the_rest_of_its_wave_is_still_reconciled(fleet_repo, clusters, settings):
    clusters["eu-west"].stop()
    report, lines = run(settings("prod"))
    assert rows(report) == {"prod/us-east": ("applied", 1), "prod/eu-west": ("failed", 2), "prod/ap-south": ("applied", 2)}, lines
    (failed,) = [line for line in lines if "eu-west" in line]
    assert failed.startswith("prod/eu-west: failed at connect: ") and "\n" not in failed
    assert report.exit_code == 3  # unreachable
    assert settings_configmap(clusters, "ap-south")["message"] == "hello from prod"
    assert lease(clusters, "ap-south", "meshops-prod.ap-south")["metadata"]["annotations"]["meshops.dev/revision"] == \
        fleet_repo.head.commit.hexsha


def test_an_unknown_cluster_is_a_usage_error(fleet_repo, clusters, meshops, origin, tmp_path):
    result = meshops("reconcile", "--repo", f"file://{origin}", "--env", "prod", "--cluster", "eu-wset",
                     "--kubeconfig", clusters.kubeconfig, "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 2
    assert "error: environment prod has no cluster 'eu-wset' (did you mean 'eu-west'?" in result.stderr


def test_a_reconcile_killed_between_waves_is_continued_by_the_next_one(fleet_repo, clusters, origin, tmp_path):
    head = set_prod(fleet_repo, "soak: 8s\n")
    command = [sys.executable, "-m", "meshops", "reconcile", "--repo", f"file://{origin}", "--env", "prod", "--wait",
               "--kubeconfig", clusters.kubeconfig, "--cache-dir", str(tmp_path / "cache")]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:  # wave 1 recorded its success: the process now soaks before wave 2
            found = lease(clusters, "us-east", "meshops-prod.us-east")
            annotations = (found or {}).get("metadata", {}).get("annotations", {})
            if '"phase": "Succeeded"' in annotations.get("meshops.dev/reconcile", "") and annotations.get("meshops.dev/revision") == head:
                break
            assert time.monotonic() < deadline and process.poll() is None, process.stderr.read() if process.poll() is not None else ""
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    assert clusters.writes("eu-west") == [] and clusters.writes("ap-south") == []
    succeeded = json.loads(annotations["meshops.dev/reconcile"])["time"]
    for server in clusters.servers.values():
        server.log.clear()
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "prod/us-east: skipped: already at" in result.stderr
    assert "prod/eu-west: applied:" in result.stderr and "prod/ap-south: applied:" in result.stderr
    assert "prod: wave 1 (us-east) succeeded; soaking" in result.stderr  # the rest of the soak, from the record
    assert clusters.writes("us-east") == []  # at the revision already: not even locked
    first_in_eu = min(e.time for e in clusters.writes("eu-west"))
    assert first_in_eu >= datetime.fromisoformat(succeeded.replace("Z", "+00:00")).timestamp() + 8  # the soak, timed by the record
    assert settings_configmap(clusters, "ap-south")["message"] == "hello from prod"


def test_serve_reconciles_a_pushed_revision_into_every_cluster_wave_by_wave(fleet_repo, clusters, origin, tmp_path):
    from helpers import Background, http
    from test_serve import SECRET, delivery

    (tmp_path / "secret").write_text(SECRET + "\n")
    serve = Background("serve", "--listen", "127.0.0.1:0", "--webhook-secret-file", str(tmp_path / "secret"),
                       "--repo", f"file://{origin}", "--branch", "main", "--env", "prod", "--no-wait",
                       "--kubeconfig", clusters.kubeconfig, "--cache-dir", str(tmp_path / "cache"))
    try:
        url = serve.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        pushed = commit_and_push(fleet_repo, {"environments/prod/values.yaml": "message: served\n"}, "served")
        body, headers = delivery(after=pushed, origin=origin, delivery_id="fleet-1")
        assert http("POST", url + "/webhook", body=body, headers=headers)[0] == 202
        serve.wait_for(r"reconcile \(webhook fleet-1\) done: ")
    finally:
        assert serve.stop() == 0
    for name in FLEET_CLUSTERS:
        assert settings_configmap(clusters, name)["message"] == "served"
    lines = serve.output
    assert lines.index("prod/us-east: applied:") < lines.index("prod/eu-west: applied:")


def test_the_dashboard_shows_each_cluster_of_an_environment_with_its_own_record_and_plan(fleet_repo, clusters, settings, tmp_path):
    from helpers import Background, http

    run(settings("prod"))
    dashboard = Background("dashboard", "--repo", fleet_repo.working_tree_dir, "--env", "prod", "--listen", "127.0.0.1:0",
                           "--kubeconfig", clusters.kubeconfig, "--cache-dir", str(tmp_path / "dashboard-cache"))
    try:
        url = dashboard.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        code, body = http("GET", url + "/")
        page = body.decode()
        assert code == 200
        assert page.index('id="env-prod-us-east"') < page.index('id="env-prod-eu-west"') < page.index('id="env-prod-ap-south"')
        assert page.count("Succeeded") == 3 and page.count('data-drift="in-sync"') == 3, page
        clusters["eu-west"].log.clear()
        code, plan = http("GET", url + "/environments/prod/eu-west/plan.md")
        assert code == 200 and b"No differences" in plan
        assert clusters.writes("eu-west") == [] and len(clusters["eu-west"].log) > 0  # read from its own cluster, never written
    finally:
        dashboard.stop()
