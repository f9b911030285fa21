"""diff and apply against the sandbox API server, through the real client over HTTP."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import copy_example_repo

pytestmark = pytest.mark.usefixtures("mesh_sandbox")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_example_repo(tmp_path / "config", committed=True)


@pytest.fixture
def cli(meshops, repo, mesh_sandbox):
    """Run meshops against the example repo and the sandbox."""

    def run(*args: str):
        return meshops(*args, "--repo", str(repo), "--kubeconfig", str(mesh_sandbox.kubeconfig), "--context", "sandbox")

    return run


def _set_values(repo: Path, environment: str, text: str) -> None:
    (repo / "environments" / environment / "values.yaml").write_text(text)


def test_diff_then_apply_then_diff_is_clean(cli):
    first = cli("diff", "--env", "prod")
    assert first.returncode == 1, first.stderr
    assert "to create" in first.stdout and "+ VirtualService bookinfo/reviews (create)" in first.stdout
    applied = cli("apply", "--env", "prod", "--yes")
    assert applied.returncode == 0, applied.stderr + applied.stdout
    second = cli("diff", "--env", "prod")
    assert second.returncode == 0, second.stdout
    assert second.stdout.strip().endswith("0 to create, 0 to update, 0 to prune, " + second.stdout.split(", ")[-1].split()[0] + " unchanged")


def test_second_apply_of_the_same_revision_writes_nothing(cli, mesh_sandbox):
    assert cli("apply", "--env", "dev", "--yes").returncode == 0
    mesh_sandbox.server.log.clear()
    again = cli("apply", "--env", "dev", "--yes")
    assert again.returncode == 0, again.stderr
    assert mesh_sandbox.writes() == []


def test_update_shows_a_route_summary_and_exit_code_1(cli, repo):
    assert cli("apply", "--env", "staging", "--yes").returncode == 0
    values = repo / "environments/staging/values.yaml"
    values.write_text(values.read_text().replace("weight: 10", "weight: 25"))
    result = cli("diff", "--env", "staging", "-o", "markdown")
    assert result.returncode == 1
    assert "reviews: v1 90→75, v2 10→25" in result.stdout
    as_json = json.loads(cli("diff", "--env", "staging", "-o", "json").stdout)
    assert as_json["summary"]["update"] == 1


def test_prune_removes_only_objects_meshops_owns(cli, repo, mesh_sandbox):
    assert cli("apply", "--env", "prod", "--yes").returncode == 0
    client = mesh_sandbox.custom_objects()
    client.create_namespaced_custom_object(
        "networking.istio.io", "v1", "bookinfo", "virtualservices",
        {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "handmade"},
         "spec": {"hosts": ["handmade"], "http": [{"route": [{"destination": {"host": "handmade"}}]}]}},
    )
    values = repo / "environments/base/values.yaml"
    values.write_text(values.read_text().replace("  httpbin:\n    port: 8000", "  httpbin-gone:\n    port: 8000", 1))
    plan = json.loads(cli("diff", "--env", "prod", "-o", "json").stdout)
    pruned = sorted((c["kind"], c["name"]) for c in plan["changes"] if c["action"] == "prune")
    assert ("VirtualService", "httpbin") in pruned and ("VirtualService", "handmade") not in pruned
    assert cli("apply", "--env", "prod", "--yes").returncode == 0
    names = {item["metadata"]["name"] for item in client.list_namespaced_custom_object("networking.istio.io", "v1", "bookinfo", "virtualservices")["items"]}
    assert "handmade" in names and "httpbin" not in names and "httpbin-gone" in names


def test_an_object_meshops_does_not_own_is_reported_and_left_alone(cli, mesh_sandbox):
    core = mesh_sandbox.core_v1()
    core.create_namespaced_config_map("istio-system", {"metadata": {"name": "istio", "labels": {"owner": "helm"}}, "data": {"mesh": "x: 1\n"}})
    result = cli("apply", "--env", "prod", "--yes")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "ConfigMap istio-system/istio" in result.stderr and "not managed by meshops" in result.stderr
    assert core.read_namespaced_config_map("istio", "istio-system").data == {"mesh": "x: 1\n"}


def test_secret_values_never_appear_in_any_output(cli, repo):
    (repo / "templates/secret.yaml.j2").write_text(
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: tls-keys\ndata:\n  key: {{ 'hunter2-private-key' | b64encode }}\n"
    )
    encoded = "aHVudGVyMi1wcml2YXRlLWtleQ=="
    assert cli("apply", "--env", "dev", "--yes").returncode == 0
    (repo / "templates/secret.yaml.j2").write_text(
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: tls-keys\ndata:\n  key: {{ 'rotated-private-key' | b64encode }}\n"
    )
    outputs = "".join(cli("diff", "--env", "dev", "-o", fmt).stdout for fmt in ("text", "json", "markdown"))
    assert "*** (before)" in outputs and "*** (after)" in outputs
    for secret in (encoded, "cm90YXRlZC1wcml2YXRlLWtleQ==", "hunter2", "rotated-private"):
        assert secret not in outputs


def test_dry_run_server_sends_the_writes_and_persists_nothing(cli, mesh_sandbox):
    result = cli("apply", "--env", "dev", "--dry-run=server")
    assert result.returncode == 0, result.stderr
    writes = mesh_sandbox.writes()
    assert writes and all(e.dry_run for e in writes)
    assert cli("diff", "--env", "dev").returncode == 1  # still everything to create


def test_apply_refuses_without_confirmation_when_not_interactive(cli, mesh_sandbox):
    result = cli("apply", "--env", "dev")
    assert result.returncode == 2
    assert result.stderr.strip().endswith("(pass --yes (stdin is not a terminal))")
    assert mesh_sandbox.writes() == []


def test_unreachable_cluster_is_one_line_and_exit_3(meshops, repo, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster: {server: 'http://127.0.0.1:9'}\n"
        "users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: kind-dev\n  context: {cluster: gone, user: u}\ncurrent-context: kind-dev\n"
    )
    result = meshops("diff", "--env", "dev", "--repo", str(repo), "--kubeconfig", str(kubeconfig), timeout=60)
    assert result.returncode == 3, result.stderr
    assert result.stderr.count("\n") == 1 and "cannot reach the cluster" in result.stderr
