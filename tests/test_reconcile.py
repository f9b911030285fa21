"""meshops reconcile: a pushed revision into the sandbox, in promotion order, once per environment."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from helpers import _team_env, commit_and_push

LEASES = ("coordination.k8s.io", "leases")
OWNED_BY_DEV = {"app.kubernetes.io/managed-by": "meshops", "meshops.dev/environment": "dev"}


@pytest.fixture
def cluster(sandbox, tmp_path: Path) -> Path:
    return sandbox.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def settings(origin, cluster, tmp_path):
    from meshops.reconcile.reconciler import Settings

    def make(*environments: str, **extra) -> Settings:
        return Settings(repo=f"file://{origin}", environments=environments, cache_dir=str(tmp_path / "cache"),
                        kubeconfig=str(cluster), context="sandbox", **extra)

    return make


def run(settings):
    from meshops.reconcile.reconciler import reconcile

    lines: list[str] = []
    report = reconcile(settings, emit=lines.append)
    return report, lines


def lease(sandbox, namespace: str, environment: str) -> dict:
    (found,) = [o for o in sandbox.objects(*LEASES, namespace) if o["metadata"]["name"] == f"meshops-{environment}"]
    return found


def configmap_message(sandbox, namespace: str) -> str:
    (found,) = [o for o in sandbox.objects("", "configmaps", namespace) if o["metadata"]["name"] == "settings"]
    return found["data"]["message"]


def writes(sandbox) -> list:
    return [e for e in sandbox.log.entries() if e.verb in ("create", "update", "patch", "delete")]


def test_all_environments_are_applied_in_promotion_order_and_their_revision_recorded(team_repo, sandbox, settings):
    report, lines = run(settings())
    assert [e.environment for e in report.environments] == ["dev", "staging", "prod"]
    assert all(e.outcome.value == "applied" for e in report.environments), lines
    head = team_repo.head.commit.hexsha
    for env in ("dev", "staging", "prod"):
        annotations = lease(sandbox, f"team-{env}", env)["metadata"]["annotations"]
        assert annotations["meshops.dev/revision"] == head
        assert json.loads(annotations["meshops.dev/reconcile"])["phase"] == "Succeeded"
        assert configmap_message(sandbox, f"team-{env}") == "hello"


def test_a_second_reconcile_of_the_same_revision_writes_nothing(team_repo, sandbox, settings):
    run(settings())
    sandbox.log.clear()
    report, _ = run(settings())
    assert [e.outcome.value for e in report.environments] == ["skipped"] * 3
    assert all(e.reason.startswith("already at ") for e in report.environments)
    assert writes(sandbox) == []


def test_environments_the_change_cannot_affect_are_skipped_with_the_reason(team_repo, sandbox, settings):
    run(settings())
    commit_and_push(team_repo, {"environments/prod/values.yaml": "message: prod only\n"}, "prod message")
    report, _ = run(settings())
    outcomes = {e.environment: (e.outcome.value, e.reason) for e in report.environments}
    assert outcomes["dev"][0] == "skipped" and outcomes["staging"][0] == "skipped"
    assert "no change under environments/dev/, environments/base/, templates/, crds/ since" in outcomes["dev"][1]
    assert outcomes["prod"][0] == "applied" and "environments/prod/values.yaml" in outcomes["prod"][1]
    assert configmap_message(sandbox, "team-prod") == "prod only"
    assert configmap_message(sandbox, "team-dev") == "hello"


def test_a_change_to_base_values_reaches_every_environment(team_repo, sandbox, settings):
    run(settings())
    head = commit_and_push(team_repo, {"environments/base/values.yaml": "message: everywhere\n"}, "base message")
    report, lines = run(settings())
    assert [e.outcome.value for e in report.environments] == ["applied"] * 3
    assert "dev: reconciling: environments/base/values.yaml changed since " in "\n".join(lines)
    for env in ("dev", "staging", "prod"):
        assert configmap_message(sandbox, f"team-{env}") == "everywhere"
        assert lease(sandbox, f"team-{env}", env)["metadata"]["annotations"]["meshops.dev/revision"] == head


def test_the_first_failure_stops_promotion_and_says_where(team_repo, sandbox, settings):
    run(settings("dev"))
    # Someone else's ConfigMap of the same name in staging: apply must leave it alone and fail.
    sandbox.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-staging"}})
    sandbox.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "team-staging"},
                    "data": {"message": "hand-made"}})
    commit_and_push(team_repo, {"environments/base/values.yaml": "message: next\n"}, "next")
    report, _ = run(settings())
    dev, staging, prod = report.environments
    assert dev.outcome.value == "applied"
    assert staging.outcome.value == "failed" and staging.stage == "apply"
    assert "2 objects not applied" in staging.reason and "not managed by meshops" in staging.reason
    assert {(r["kind"], r["outcome"]) for r in staging.apply["results"]} == {("Namespace", "conflict"), ("ConfigMap", "conflict")}
    assert prod.outcome.value == "blocked" and prod.reason == "not started: staging failed"
    assert report.exit_code == 4
    assert configmap_message(sandbox, "team-staging") == "hand-made"
    assert not [o for o in sandbox.objects("", "namespaces") if o["metadata"]["name"] == "team-prod"]


def test_an_incomplete_apply_is_retried_by_the_next_reconcile(team_repo, sandbox, settings):
    sandbox.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-dev", "labels": OWNED_BY_DEV}})
    sandbox.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "team-dev"},
                    "data": {"message": "hand-made"}})
    first, _ = run(settings("dev"))
    assert first.environments[0].outcome.value == "failed"
    annotations = lease(sandbox, "team-dev", "dev")["metadata"]["annotations"]
    assert annotations["meshops.dev/revision"] == ""
    assert json.loads(annotations["meshops.dev/reconcile"])["stage"] == "apply"
    from kubernetes import client, config as kube_config

    api_client = kube_config.new_client_from_config(config_file=str(settings().kubeconfig), context="sandbox")
    client.CoreV1Api(api_client).delete_namespaced_config_map("settings", "team-dev")  # the owner gives it up
    second, lines = run(settings("dev"))
    assert second.environments[0].outcome.value == "applied", lines
    assert "dev: reconciling: the last apply (" in "\n".join(lines)


def test_a_reconcile_waits_for_a_holder_that_stops_renewing_then_takes_over(team_repo, sandbox, settings):
    from meshops.reconcile.lease import micro_time

    sandbox.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-dev", "labels": OWNED_BY_DEV}})
    sandbox.create({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": "meshops-dev", "namespace": "team-dev"},
                    "spec": {"holderIdentity": "ci-run-41", "leaseDurationSeconds": 2,
                             "renewTime": micro_time(datetime.now(timezone.utc).timestamp())}})
    report, lines = run(settings("dev", lock_timeout=20))
    assert "dev: waiting for ci-run-41, which holds Lease team-dev/meshops-dev (up to 20s)" in lines
    assert report.environments[0].outcome.value == "applied", lines
    assert lease(sandbox, "team-dev", "dev")["spec"]["leaseTransitions"] == 1


def test_two_concurrent_reconciles_of_one_environment_apply_it_once(team_repo, sandbox, origin, cluster, tmp_path):
    import subprocess
    import sys
    import time

    from meshops.sandbox import Fault

    # The first reconcile's ConfigMap write is slow, so it holds the lock while the second arrives.
    sandbox.faults.add(Fault(delay=4.0, verbs={"create"}, resources={"configmaps"}, times=1))
    command = [sys.executable, "-m", "meshops", "reconcile", "--repo", str(origin), "--env", "dev",
               "--kubeconfig", str(cluster), "--cache-dir", str(tmp_path / "cache")]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not [o for o in sandbox.objects(*LEASES, "team-dev") if o["spec"].get("holderIdentity")]:
        assert time.monotonic() < deadline and first.poll() is None, "the first reconcile never took the lock"
        time.sleep(0.05)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first_err, second_err = first.communicate(timeout=60)[1], second.communicate(timeout=60)[1]
    assert first.returncode == 0 and second.returncode == 0, first_err + second_err
    assert "dev: applied:" in first_err
    assert "dev: waiting for " in second_err
    assert "dev: skipped: already at " in second_err and "(reconciled meanwhile by " in second_err
    configmap_creates = sandbox.log.entries(verb="create", resource="configmaps")
    assert len(configmap_creates) == 1 and configmap_creates[0].status == 201
    assert not [e for e in writes(sandbox) if e.resource not in ("leases", "namespaces", "configmaps")]


def test_a_lease_left_by_a_dead_process_expires(team_repo, sandbox, settings):
    from meshops.reconcile.lease import micro_time

    sandbox.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-dev", "labels": OWNED_BY_DEV}})
    long_ago = (datetime.now(timezone.utc) - timedelta(minutes=5)).timestamp()
    sandbox.create({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": "meshops-dev", "namespace": "team-dev"},
                    "spec": {"holderIdentity": "crashed-pod", "leaseDurationSeconds": 30, "renewTime": micro_time(long_ago)}})
    report, lines = run(settings("dev", lock_timeout=0))
    assert report.environments[0].outcome.value == "applied", lines
    spec = lease(sandbox, "team-dev", "dev")["spec"]
    assert spec["leaseTransitions"] == 1 and "holderIdentity" not in spec


def test_a_busy_environment_gives_up_after_the_timeout_with_a_clear_message(team_repo, sandbox, meshops, origin, cluster, tmp_path):
    from meshops.reconcile.lease import micro_time

    sandbox.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-dev", "labels": OWNED_BY_DEV}})
    sandbox.create({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": "meshops-dev", "namespace": "team-dev"},
                    "spec": {"holderIdentity": "ci-run-41", "leaseDurationSeconds": 300,
                             "renewTime": micro_time(datetime.now(timezone.utc).timestamp())}})
    result = meshops("reconcile", "--repo", str(origin), "--env", "dev", "--kubeconfig", str(cluster),
                     "--cache-dir", str(tmp_path / "cache"), "--lock-timeout", "1s")
    assert result.returncode == 3, result.stderr
    assert "dev: busy: Lease team-dev/meshops-dev is held by ci-run-41 (another reconcile of this environment is running" in result.stderr
    assert "raise --lock-timeout" in result.stderr
    assert not [e for e in writes(sandbox) if e.resource == "configmaps"]


def test_a_freeze_window_refuses_unless_overridden_with_a_reason(team_repo, sandbox, settings):
    today = datetime.now(timezone.utc).date()
    frozen = ("namespace: team-dev\npromotion: {order: 1}\nfreeze:\n"
              f"  - {{from: \"{today - timedelta(days=1)}\", to: \"{today + timedelta(days=1)}\", reason: release week}}\n")
    commit_and_push(team_repo, {"environments/dev/meshops.yaml": frozen}, "freeze dev")
    report, _ = run(settings("dev"))
    (dev,) = report.environments
    assert dev.outcome.value == "frozen" and report.exit_code == 2
    assert "environment dev is frozen: freeze window (release week) until" in dev.reason
    assert "environments/dev/meshops.yaml:4" in dev.reason
    assert writes(sandbox) == []
    report, lines = run(settings("dev", override_freeze="hotfix INC-42"))
    assert report.environments[0].outcome.value == "applied", lines
    attempt = json.loads(lease(sandbox, "team-dev", "dev")["metadata"]["annotations"]["meshops.dev/reconcile"])
    assert attempt["override_freeze"] == "hotfix INC-42"


def test_unknown_environment_is_a_usage_error_with_a_suggestion(team_repo, meshops, origin, cluster, tmp_path):
    result = meshops("reconcile", "--repo", str(origin), "--env", "stagin", "--kubeconfig", str(cluster),
                     "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 2
    assert "unknown environment 'stagin'" in result.stderr and "staging" in result.stderr


def test_an_unreachable_repository_is_one_line_without_credentials(meshops, tmp_path):
    result = meshops("reconcile", "--repo", "https://user:s3cret-token@127.0.0.1:9/acme/config.git", "--all",
                     "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("error: cannot clone https://***@127.0.0.1:9/acme/config.git")
    assert "s3cret-token" not in result.stderr and "Traceback" not in result.stderr


def test_an_environment_left_progressing_is_looked_at_again_and_then_promotes(team_repo, sandbox, settings):
    from meshops.reconcile.lease import micro_time
    from meshops.reconcile.lock import Attempt

    run(settings("dev"))
    head = team_repo.head.commit.hexsha
    progressing = Attempt(revision=head, phase="Progressing", reason="rollouts still running: reviews (Progressing)",
                          time=micro_time(0), by="ci-run-41")
    # What an earlier reconcile left behind: dev applied, its rollouts still running.
    from kubernetes import client, config as kube_config

    api_client = kube_config.new_client_from_config(config_file=str(settings().kubeconfig), context="sandbox")
    client.CoordinationV1Api(api_client).patch_namespaced_lease(
        "meshops-dev", "team-dev", {"metadata": {"annotations": {"meshops.dev/reconcile": progressing.to_annotation()}}})
    report, lines = run(settings())
    dev, staging, prod = report.environments
    assert f"dev: resuming: rollouts of {head[:12]} were still running" in lines
    assert dev.outcome.value == "applied" and dev.reason.endswith("was applied earlier; no rollout started")
    assert (staging.outcome.value, prod.outcome.value) == ("applied", "applied")
    attempt = json.loads(lease(sandbox, "team-dev", "dev")["metadata"]["annotations"]["meshops.dev/reconcile"])
    assert attempt["phase"] == "Succeeded"


def test_meshops_apply_refuses_inside_a_freeze_window_too(team_repo, sandbox, meshops, cluster):
    today = datetime.now(timezone.utc).date()
    root = Path(team_repo.working_tree_dir)
    (root / "environments/dev/meshops.yaml").write_text(
        "namespace: team-dev\nfreeze:\n"
        f"  - {{from: \"{today}\", to: \"{today}\", reason: incident review}}\n")
    frozen = meshops("apply", "--env", "dev", "--repo", str(root), "--kubeconfig", str(cluster), "--context", "sandbox", "--yes")
    assert frozen.returncode == 2 and "environment dev is frozen: freeze window (incident review)" in frozen.stderr
    assert writes(sandbox) == []
    overridden = meshops("apply", "--env", "dev", "--repo", str(root), "--kubeconfig", str(cluster), "--context", "sandbox",
                         "--yes", "--override-freeze", "fix for INC-7")
    assert overridden.returncode == 0, overridden.stderr


def test_a_file_reconcile_does_not_render_is_named_in_its_output(team_repo, sandbox, settings):
    commit_and_push(team_repo, {"templates/routes.txt": "reviews: v2\n"}, "a note in templates/")
    report, lines = run(settings("dev"))
    assert report.environments[0].outcome.value == "applied", lines
    assert "dev: warning: templates/routes.txt: not rendered (neither a template (*.yaml.j2) nor a plain manifest (*.yaml, *.yml))" in lines


def _prune_refused_events(sandbox) -> list[dict]:
    return [e for e in sandbox.objects("", "events", "team-dev") if e.get("reason") == "PruneRefused"]


def test_a_revision_the_prune_brake_refused_is_not_tried_again_until_a_person_allows_it(team_repo, sandbox, settings):
    from meshops.apply.brakes import PruneBrake

    first = team_repo.head.commit.hexsha
    run(settings("dev"))
    team_repo.index.remove(["templates/settings.yaml.j2"], working_tree=True)
    # The repository declares the environment empty: that lets it render, never releases the brake.
    commit_and_push(team_repo, {"environments/dev/meshops.yaml": _team_env("team-dev", None) + "allowEmpty: true\n"},
                    "remove every template")

    refused, _ = run(settings("dev"))
    (env,) = refused.environments
    assert (env.outcome.value, env.stage, refused.exit_code) == ("failed", "prune", 2)
    annotations = lease(sandbox, "team-dev", "dev")["metadata"]["annotations"]
    assert annotations["meshops.dev/revision"] == first  # nothing of the new revision was applied
    assert json.loads(annotations["meshops.dev/reconcile"])["stage"] == "prune"
    assert len(_prune_refused_events(sandbox)) == 1 and configmap_message(sandbox, "team-dev") == "hello"

    sandbox.log.clear()
    again, _ = run(settings("dev"))
    assert "not retried" in again.environments[0].reason and again.exit_code == 2
    assert sandbox.log.count(verb="list", resource="configmaps") == 0  # not even planned
    assert len(_prune_refused_events(sandbox)) == 1

    allowed, lines = run(settings("dev", brake=PruneBrake(allow_mass_prune=True)))
    assert allowed.environments[0].outcome.value == "applied", lines
    assert not [o for o in sandbox.objects("", "configmaps", "team-dev") if o["metadata"]["name"] == "settings"]
    assert [o for o in sandbox.objects("", "namespaces") if o["metadata"]["name"] == "team-dev"]  # Namespaces stay
