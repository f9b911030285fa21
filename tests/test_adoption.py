"""Adoption: objects created with the real kubectl (client- and server-side apply) are taken over by
`meshops apply --adopt` — labels and the owner annotation written, kubectl's fields taken over,
Namespace labels kept — after a field-level preview (`meshops adopt`); the second apply writes
nothing; an object another repository, environment or tool owns is refused naming the owner; the same
`--adopt` prunes labelled objects nobody owns; a Namespace the operator names exactly in
`--allowed-namespaces` is adopted without it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import KUBECTL, Kubectl, commit_all
from meshops.diff.adoption import managed_fields_after_takeover, taken_over_fields
from meshops.model.identity import ENVIRONMENT_LABEL, MANAGED_BY_LABEL, OWNER_ANNOTATION
from meshops.source.repo import open_source
from meshops.yamlio.documents import dump_all

kubectl_needed = pytest.mark.skipif(not KUBECTL.exists(), reason=f"kubectl is not installed at {KUBECTL}")

NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"istio-injection": "enabled"}}}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "cart", "namespace": "shop"},
           "spec": {"selector": {"app": "cart"}, "ports": [{"name": "http", "port": 8080}]}}


def route(name: str, *, weights=(90, 10), timeout: str | None = None) -> dict:
    http = {"route": [{"destination": {"host": "cart", "subset": "v1"}, "weight": weights[0]},
                      {"destination": {"host": "cart", "subset": "v2"}, "weight": weights[1]}]}
    if timeout:
        http["timeout"] = timeout
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": name, "namespace": "shop"},
            "spec": {"hosts": ["cart"] if name == "cart" else [f"{name}.example.com"], "http": [http]}}


RULE = {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": {"name": "cart", "namespace": "shop"},
        "spec": {"host": "cart", "subsets": [{"name": "v1", "labels": {"version": "v1"}},
                                             {"name": "v2", "labels": {"version": "v2"}}]}}


def write_repo(root: Path, documents: list[dict], *, environment: str = "dev") -> Path:
    """A committed config repo (its root commit is its owner id) rendering `documents` for `environment`."""
    files = {f"environments/{environment}/meshops.yaml": "namespace: shop\n",
             f"environments/{environment}/values.yaml": "{}\n",
             "templates/shop.yaml": dump_all(documents)}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    commit_all(root, "shop")
    return root


def owner_of(repo: Path, environment: str = "dev") -> str:
    """The `meshops.dev/owner` value apply writes for `repo`'s `environment`."""
    return f"{open_source(repo).repo_id}/{environment}"


@pytest.fixture
def kubectl(mesh_sandbox, tmp_path):
    return Kubectl(mesh_sandbox.kubeconfig, tmp_path)


@pytest.fixture
def cli(meshops, mesh_sandbox, tmp_path):
    def run(*args: str, repo: Path | None = None):
        return meshops(*args, "--repo", str(repo or tmp_path / "repo"), "--kubeconfig", str(mesh_sandbox.kubeconfig),
                       "--context", "sandbox")
    return run


def get_route(mesh_sandbox, name: str) -> dict:
    return mesh_sandbox.custom_objects().get_namespaced_custom_object("networking.istio.io", "v1", "shop",
                                                                       "virtualservices", name)


# --- the takeover itself, on managedFields -----------------------------------------------------------

LIVE = {
    "apiVersion": "v1", "kind": "Namespace",
    "metadata": {"name": "shop", "labels": {"istio-injection": "enabled", "team": "cart"}, "managedFields": [
        {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1", "time": "2026-11-01T10:00:00Z",
         "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:istio-injection": {}, "f:team": {}}}}},
        {"manager": "istio-operator", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:metadata": {"f:annotations": {"f:operator": {}}}}},
    ]},
}


def test_a_takeover_moves_kubectls_fields_into_meshops_apply_entry_but_leaves_labels_git_does_not_set():
    desired = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"team": "cart"}}}
    entries = managed_fields_after_takeover(LIVE, desired)
    by_manager = {entry["manager"]: entry for entry in entries}
    assert by_manager["meshops"]["operation"] == "Apply"
    assert by_manager["meshops"]["fieldsV1"] == {"f:metadata": {"f:labels": {".": {}, "f:team": {}}}}
    assert by_manager["kubectl-client-side-apply"]["fieldsV1"] == {"f:metadata": {"f:labels": {".": {}, "f:istio-injection": {}}}}
    assert by_manager["istio-operator"] == LIVE["metadata"]["managedFields"][1]
    assert taken_over_fields(LIVE, desired) == {"f:metadata": {"f:labels": {".": {}, "f:team": {}}}}


def test_an_object_no_kubectl_manager_touched_has_nothing_to_take_over():
    live = {"metadata": {"managedFields": [LIVE["metadata"]["managedFields"][1]]}}
    assert managed_fields_after_takeover(live, {}) is None and taken_over_fields(live, {}) is None


# --- against the sandbox, with the real kubectl ------------------------------------------------------


@kubectl_needed
def test_apply_adopt_takes_over_objects_kubectl_created_client_and_server_side_and_converges(
        tmp_path, kubectl, cli, mesh_sandbox):
    kubectl.apply(NAMESPACE, SERVICE, RULE, route("cart", timeout="10s"))  # client-side apply
    kubectl.apply(route("public"), server_side=True)  # server-side apply (manager kubectl)
    repo = write_repo(tmp_path / "repo", [{**NAMESPACE, "metadata": {"name": "shop"}}, SERVICE, RULE,
                                          route("cart", weights=(80, 20)), route("public")])
    refused = cli("apply", "--env", "dev", "--yes")
    assert refused.returncode == 4 and "not managed by meshops" in refused.stderr
    assert "meshops adopt --env dev" in refused.stderr
    adopted = cli("apply", "--env", "dev", "--yes", "--adopt")
    assert adopted.returncode == 0, adopted.stderr + adopted.stdout
    assert "5 updated" in adopted.stdout
    cart = get_route(mesh_sandbox, "cart")
    assert cart["metadata"]["labels"][MANAGED_BY_LABEL] == "meshops" and cart["metadata"]["labels"][ENVIRONMENT_LABEL] == "dev"
    assert cart["metadata"]["annotations"][OWNER_ANNOTATION] == owner_of(repo)
    assert [r["weight"] for r in cart["spec"]["http"][0]["route"]] == [80, 20]
    assert "timeout" not in cart["spec"]["http"][0]  # set only by kubectl, not in git: removed
    public = get_route(mesh_sandbox, "public")  # created with kubectl apply --server-side
    assert [entry["manager"] for entry in public["metadata"]["managedFields"]] == ["meshops"]
    cart_fields = {entry["manager"]: entry for entry in cart["metadata"]["managedFields"]}
    assert "f:spec" not in cart_fields.get("kubectl-client-side-apply", {}).get("fieldsV1", {})
    namespace = mesh_sandbox.core_v1().read_namespace("shop")
    assert namespace.metadata.labels["istio-injection"] == "enabled"  # kept, though git does not set it
    assert namespace.metadata.annotations[OWNER_ANNOTATION] == owner_of(repo)
    mesh_sandbox.server.log.clear()
    again = cli("apply", "--env", "dev", "--yes")
    assert again.returncode == 0 and mesh_sandbox.writes() == [], again.stdout
    assert cli("diff", "--env", "dev").returncode == 0


@kubectl_needed
def test_the_adopt_preview_shows_field_level_changes_and_writes_nothing(tmp_path, kubectl, cli, mesh_sandbox):
    kubectl.apply(NAMESPACE, SERVICE, RULE, route("cart", timeout="10s"))
    repo = write_repo(tmp_path / "repo", [NAMESPACE, SERVICE, RULE, route("cart", weights=(80, 20))])
    mesh_sandbox.server.log.clear()
    preview = cli("adopt", "--env", "dev")
    assert preview.returncode == 1, preview.stderr
    assert mesh_sandbox.writes() == []
    lines = preview.stdout.splitlines()
    header = lines.index(f"~ VirtualService shop/cart (adopted: records {OWNER_ANNOTATION}: {owner_of(repo)}, "
                         "taking over the fields of kubectl-client-side-apply)")
    fields = lines[header + 1:header + 9]
    assert "    ~ spec.http[0].route[0].weight: 90 -> 80" in fields
    assert '    - spec.http[0].timeout (was "10s")' in fields
    assert any(line.startswith("    + metadata.labels") for line in fields)
    assert any(line.startswith("    + metadata.annotations") for line in fields)
    assert lines[-1] == f"4 to adopt for {owner_of(repo)}, 0 to prune, 0 refused; apply with: meshops apply --env dev --adopt"
    as_json = json.loads(cli("adopt", "--env", "dev", "-o", "json").stdout)
    assert sorted(entry["kind"] for entry in as_json["adopt"]) == ["DestinationRule", "Namespace", "Service", "VirtualService"]


def test_an_object_another_meshops_environment_owns_is_never_adopted(tmp_path, cli, mesh_sandbox, meshops):
    other = write_repo(tmp_path / "other", [NAMESPACE, SERVICE, RULE, route("cart")], environment="prod")
    assert meshops("apply", "--env", "prod", "--yes", "--repo", str(other), "--kubeconfig", str(mesh_sandbox.kubeconfig),
                   "--context", "sandbox").returncode == 0
    write_repo(tmp_path / "repo", [route("cart", weights=(50, 50))])
    reason = f"owned by {owner_of(other, 'prod')} ({OWNER_ANNOTATION}), never adopted for "
    preview = cli("adopt", "--env", "dev")
    assert f"! VirtualService shop/cart: {reason}" in preview.stdout
    mesh_sandbox.server.log.clear()
    refused = cli("apply", "--env", "dev", "--yes", "--adopt")
    assert refused.returncode == 4
    assert f"conflict: VirtualService shop/cart: {reason}" in refused.stderr
    assert mesh_sandbox.writes() == []
    assert [r["weight"] for r in get_route(mesh_sandbox, "cart")["spec"]["http"][0]["route"]] == [90, 10]


def test_an_object_another_repository_owns_for_the_same_environment_name_is_never_adopted(tmp_path, cli, mesh_sandbox, meshops):
    other = write_repo(tmp_path / "other", [NAMESPACE, SERVICE, RULE, route("cart")])
    assert meshops("apply", "--env", "dev", "--yes", "--repo", str(other), "--kubeconfig", str(mesh_sandbox.kubeconfig),
                   "--context", "sandbox").returncode == 0
    repo = write_repo(tmp_path / "repo", [route("cart", weights=(50, 50))])
    assert owner_of(repo) != owner_of(other)
    mesh_sandbox.server.log.clear()
    refused = cli("apply", "--env", "dev", "--yes", "--adopt")
    assert refused.returncode == 4
    assert f"owned by {owner_of(other)} ({OWNER_ANNOTATION}), never adopted for {owner_of(repo)}" in refused.stderr
    assert mesh_sandbox.writes() == []


def test_an_object_labelled_for_another_environment_without_an_owner_is_never_adopted(tmp_path, cli, mesh_sandbox):
    mesh_sandbox.core_v1().create_namespace({"metadata": {"name": "shop"}})
    labelled = route("cart")
    labelled["metadata"]["labels"] = {MANAGED_BY_LABEL: "meshops", ENVIRONMENT_LABEL: "prod"}
    mesh_sandbox.custom_objects().create_namespaced_custom_object("networking.istio.io", "v1", "shop", "virtualservices",
                                                                  labelled)
    write_repo(tmp_path / "repo", [SERVICE, RULE, route("cart")])
    refused = cli("apply", "--env", "dev", "--yes", "--adopt")
    assert refused.returncode == 4
    assert "owned by meshops environment 'prod' (meshops.dev/environment), never adopted for 'dev'" in refused.stderr


def test_an_object_another_tool_manages_is_never_adopted(tmp_path, cli, mesh_sandbox):
    mesh_sandbox.core_v1().create_namespace({"metadata": {"name": "shop"}})
    mesh_sandbox.core_v1().create_namespaced_service("shop", SERVICE)
    mesh_sandbox.custom_objects().create_namespaced_custom_object("networking.istio.io", "v1", "shop", "destinationrules", RULE)
    helm_route = route("cart")
    helm_route["metadata"]["labels"] = {MANAGED_BY_LABEL: "Helm"}
    mesh_sandbox.custom_objects().create_namespaced_custom_object("networking.istio.io", "v1", "shop", "virtualservices",
                                                                  helm_route)
    write_repo(tmp_path / "repo", [route("cart")])
    refused = cli("apply", "--env", "dev", "--yes", "--adopt")
    assert refused.returncode == 4 and "managed by 'Helm'" in refused.stderr and "never adopted" in refused.stderr


@kubectl_needed
def test_one_adopt_takes_over_what_git_renders_and_prunes_what_is_labelled_without_an_owner(tmp_path, kubectl, cli, mesh_sandbox):
    kubectl.apply(NAMESPACE, SERVICE, RULE, route("cart"))
    stale = route("old")  # labelled for dev by an earlier meshops (no owner annotation), no longer rendered
    stale["metadata"]["labels"] = {MANAGED_BY_LABEL: "meshops", ENVIRONMENT_LABEL: "dev"}
    kubectl.apply(stale)
    repo = write_repo(tmp_path / "repo", [NAMESPACE, SERVICE, RULE, route("cart")])
    plain = cli("apply", "--env", "dev", "--yes", "--no-prune")
    assert plain.returncode == 4  # kubectl's objects are conflicts without --adopt
    preview = cli("adopt", "--env", "dev")
    assert "- VirtualService shop/old (labelled for dev without an owner, no longer rendered: pruned)" in preview.stdout
    adopted = cli("apply", "--env", "dev", "--yes", "--adopt", "--allow-mass-prune")
    assert adopted.returncode == 0, adopted.stderr + adopted.stdout
    assert "4 updated" in adopted.stdout and "1 pruned" in adopted.stdout
    names = {o["metadata"]["name"] for o in mesh_sandbox.server.objects("networking.istio.io", "virtualservices", "shop")}
    assert names == {"cart"}
    assert get_route(mesh_sandbox, "cart")["metadata"]["annotations"][OWNER_ANNOTATION] == owner_of(repo)


@kubectl_needed
def test_fields_kubectl_set_on_an_object_labelled_without_an_owner_conflict_until_adopt_takes_them_over(
        tmp_path, kubectl, cli, mesh_sandbox):
    kubectl.apply(NAMESPACE, SERVICE, RULE)
    labelled = route("cart")  # labelled for dev (as an earlier meshops did), but written with kubectl
    labelled["metadata"]["labels"] = {MANAGED_BY_LABEL: "meshops", ENVIRONMENT_LABEL: "dev"}
    kubectl.apply(labelled)
    repo = write_repo(tmp_path / "repo", [NAMESPACE, SERVICE, RULE, route("cart", weights=(70, 30))])
    plain = cli("apply", "--env", "dev", "--yes", "--no-prune")
    assert plain.returncode == 4 and "another field manager owns what git changes" in plain.stderr + plain.stdout
    assert [r["weight"] for r in get_route(mesh_sandbox, "cart")["spec"]["http"][0]["route"]] == [90, 10]
    adopted = cli("apply", "--env", "dev", "--yes", "--adopt")
    assert adopted.returncode == 0, adopted.stderr + adopted.stdout
    cart = get_route(mesh_sandbox, "cart")
    assert [r["weight"] for r in cart["spec"]["http"][0]["route"]] == [70, 30]
    assert cart["metadata"]["annotations"][OWNER_ANNOTATION] == owner_of(repo)


# --- a Namespace the operator created and named: adopted without --adopt ---------------------------


@kubectl_needed
def test_a_namespace_the_operator_created_and_named_in_the_allow_list_is_adopted_by_a_plain_apply(
        tmp_path, kubectl, cli, mesh_sandbox):
    kubectl.run("create", "namespace", "shop")
    kubectl.run("label", "namespace", "shop", "istio-injection=enabled")
    repo = write_repo(tmp_path / "repo", [{**NAMESPACE, "metadata": {"name": "shop", "labels": {"team": "cart"}}}, SERVICE])
    applied = cli("apply", "--env", "dev", "--yes", "--allowed-namespaces", "shop")
    assert applied.returncode == 0, applied.stderr + applied.stdout
    namespace = mesh_sandbox.core_v1().read_namespace("shop")
    assert namespace.metadata.annotations[OWNER_ANNOTATION] == owner_of(repo)
    assert namespace.metadata.labels["istio-injection"] == "enabled" and namespace.metadata.labels["team"] == "cart"
    mesh_sandbox.server.log.clear()
    assert cli("apply", "--env", "dev", "--yes", "--allowed-namespaces", "shop").returncode == 0
    assert mesh_sandbox.writes() == []


@kubectl_needed
def test_a_namespace_allowed_only_by_a_pattern_or_the_default_is_not_adopted_without_adopt(tmp_path, kubectl, cli, mesh_sandbox):
    kubectl.run("create", "namespace", "shop")
    write_repo(tmp_path / "repo", [NAMESPACE, SERVICE])
    for allowed in (("--allowed-namespaces", "sh*"), ()):
        mesh_sandbox.server.log.clear()
        refused = cli("apply", "--env", "dev", "--yes", *allowed)
        assert refused.returncode == 4 and "conflict: Namespace shop: exists and is not managed by meshops" in refused.stderr
        assert [e for e in mesh_sandbox.writes() if e.path.endswith("/namespaces/shop")] == []


@kubectl_needed
def test_a_named_namespace_another_owner_claims_is_still_refused(tmp_path, kubectl, cli, mesh_sandbox):
    kubectl.run("create", "namespace", "shop")
    kubectl.run("label", "namespace", "shop", f"{MANAGED_BY_LABEL}=Helm")
    write_repo(tmp_path / "repo", [NAMESPACE, SERVICE])
    refused = cli("apply", "--env", "dev", "--yes", "--allowed-namespaces", "shop")
    assert refused.returncode == 4 and "conflict: Namespace shop: managed by 'Helm'" in refused.stderr
