"""deploy/: the controller's manifests are valid Kubernetes objects, grant what meshops needs where it needs it, and run a real command.

The RBAC rules are checked as data here (namespaced writes, Leases by name, no Secrets, cluster-wide
reads only). Running the controller with a token bound to exactly these rules needs a sandbox that
enforces RBAC; until then `tests/test_hostile_repo_ownership.py` runs meshops against the 403s such
RBAC gives (no Namespace LIST, no Secret access, namespaced ConfigMap access).
"""
from __future__ import annotations

import pytest

from helpers import REPO_ROOT, check_invocation
from meshops.model import kinds
from meshops.yamlio.documents import load_documents

DEPLOY = REPO_ROOT / "deploy"


def objects() -> list[dict]:
    found = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            found.extend(d.data for d in load_documents(path.read_bytes(), filename=str(path)) if d.data)
    return found


def by_kind(kind: str) -> list[dict]:
    return [obj for obj in objects() if obj["kind"] == kind]


def test_every_manifest_is_valid_for_kubernetes_strictly():
    import kubernetes_validate

    assert {obj["kind"] for obj in objects()} == {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role",
                                                   "RoleBinding", "Deployment", "Service"}
    for obj in objects():
        kubernetes_validate.validate(obj, "1.32.0", strict=True)


def test_kustomization_lists_every_manifest_and_moves_no_object_to_another_namespace():
    kustomization = load_documents((DEPLOY / "kustomization.yaml").read_bytes(), filename="kustomization.yaml")[0].data
    assert sorted(kustomization["resources"]) == sorted(p.name for p in DEPLOY.glob("*.yaml") if p.name != "kustomization.yaml")
    assert "namespace" not in kustomization  # it would move the managed namespaces' Roles into meshops-system


def _rules(kind: str) -> list[tuple[dict, dict]]:
    """(role, rule) for every rule of every object of `kind`."""
    return [(role, rule) for role in by_kind(kind) for rule in role["rules"]]


def _grants(rules) -> dict[tuple[str, str], set[str]]:
    grants: dict[tuple[str, str], set[str]] = {}
    for rule in rules:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                grants.setdefault((group, resource), set()).update(rule["verbs"])
    return grants


def _allowed_namespaces() -> set[str]:
    (deployment,) = by_kind("Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    (value,) = [env["value"] for env in container["env"] if env["name"] == "MESHOPS_ALLOWED_NAMESPACES"]
    return set(value.split(","))


def test_no_rule_has_a_wildcard_touches_secrets_or_deletes_a_namespace():
    for _, rule in _rules("ClusterRole") + _rules("Role"):
        assert not any("*" in value for key in ("apiGroups", "resources", "verbs") for value in rule[key]), rule
        assert "secrets" not in rule["resources"], rule  # the example repository renders no Secret
        if "namespaces" in rule["resources"]:
            assert "delete" not in rule["verbs"] and "create" not in rule["verbs"], rule


def test_cluster_wide_grants_are_reads_and_a_patch_of_named_namespaces_only():
    for _, rule in _rules("ClusterRole"):
        if set(rule["verbs"]) <= {"get", "list"}:
            assert "resourceNames" not in rule
            continue
        assert rule["resources"] == ["namespaces"] and rule["verbs"] == ["patch"], rule
        assert set(rule["resourceNames"]) <= _allowed_namespaces()
    reads = _grants(rule for _, rule in _rules("ClusterRole") if "resourceNames" not in rule)
    mesh_kinds = {(row.group, row.plural) for row in kinds.KINDS
                  if row.group.endswith("istio.io") or row.group == kinds.GATEWAY_API_GROUP}
    assert set(reads) == mesh_kinds | {("", "services"), ("", "namespaces")}  # what each comment in rbac.yaml explains


def test_writes_are_granted_in_namespaced_roles_of_the_allowed_namespaces_only():
    roles = by_kind("Role")
    assert {role["metadata"]["namespace"] for role in roles} == _allowed_namespaces() | {"meshops-system"}
    bindings = {(b["metadata"]["namespace"], b["roleRef"]["name"]): b for b in by_kind("RoleBinding")}
    for role in roles:
        binding = bindings[(role["metadata"]["namespace"], role["metadata"]["name"])]
        assert binding["roleRef"]["kind"] == "Role"
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "meshops", "namespace": "meshops-system"}]


def test_leases_are_read_and_updated_by_name_only():
    from meshops.reconcile.lock import lease_name

    from meshops.source.envconfig import list_environments, load_env_config
    from meshops.source.repo import WorkTree

    tree = WorkTree(REPO_ROOT)
    expected: dict[str, set[str]] = {"meshops-system": {_default_of("controller", "leader_lease")}}
    for name in list_environments(tree):
        expected.setdefault(load_env_config(tree, name).namespace, set()).add(lease_name(name))
    named: dict[str, set[str]] = {}
    for role, rule in _rules("Role"):
        if rule["resources"] != ["leases"]:
            continue
        if rule["verbs"] == ["create"]:  # a POST names no object: create cannot be limited by name
            assert "resourceNames" not in rule
            continue
        assert set(rule["verbs"]) == {"get", "update"} and rule["resourceNames"], rule
        named.setdefault(role["metadata"]["namespace"], set()).update(rule["resourceNames"])
    assert named == expected


def _default_of(command: str, parameter: str):
    from meshops.cli import cli

    (option,) = [p for p in cli.commands[command].params if p.name == parameter]
    return option.default


def test_the_roles_grant_what_the_example_repository_renders_where_it_renders_it():
    from meshops.render import render
    from meshops.source.envconfig import list_environments
    from meshops.source.repo import open_source

    writes = {"get", "list", "create", "patch", "delete"}
    by_namespace = {role["metadata"]["namespace"]: _grants(role["rules"]) for role in by_kind("Role")}
    patchable = {name for _, rule in _rules("ClusterRole") if rule["verbs"] == ["patch"] for name in rule["resourceNames"]}
    source = open_source(REPO_ROOT)
    for environment in list_environments(source.tree):
        for manifest in render(source, environment).manifests:
            row = kinds.lookup(manifest.key.group, manifest.kind)
            if manifest.kind == "Namespace":
                assert manifest.name in patchable and manifest.name in _allowed_namespaces()
                continue
            grants = by_namespace.get(manifest.namespace, {})
            assert grants.get((row.group, row.plural), set()) >= writes, (environment, str(manifest.key))
    assert by_namespace["bookinfo"][("", "pods")] == {"list"}  # validation: DestinationRule subsets select pods
    assert by_namespace["bookinfo"][("", "events")] == {"create"}  # rollout decisions and refused prunes
    assert by_namespace["bookinfo"][("apps", "deployments")] == {"get"}  # canary readiness before each step


def test_the_deployment_runs_an_existing_controller_command_with_its_secret_mounted():
    (deployment,) = by_kind("Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert check_invocation(["meshops", *args]) == "meshops controller"
    secret_file = next(a.split("=", 1)[1] for a in args if a.startswith("--webhook-secret-file="))
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert secret_file.rsplit("/", 1)[0] in mounts
    probes = (container["readinessProbe"]["httpGet"]["path"], container["livenessProbe"]["httpGet"]["path"])
    assert probes == ("/readyz", "/healthz")
    (binding,) = by_kind("ClusterRoleBinding")
    assert binding["subjects"][0]["name"] == deployment["spec"]["template"]["spec"]["serviceAccountName"]


@pytest.mark.parametrize("line", ["ENTRYPOINT [\"meshops\"]", "USER 10001:10001", "apt-get install -y --no-install-recommends git"])
def test_the_dockerfile_installs_git_and_runs_meshops_unprivileged(line):
    assert line in (DEPLOY / "Dockerfile").read_text()
