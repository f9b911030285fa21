"""deploy/: the controller's manifests are valid Kubernetes objects, grant what meshops needs, and run a real command."""
from __future__ import annotations

import pytest

from helpers import REPO_ROOT, check_invocation
from meshops.model import kinds
from meshops.yamlio.documents import load_documents

DEPLOY = REPO_ROOT / "deploy"
WRITE_VERBS = {"get", "list", "create", "patch", "delete"}


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

    assert {obj["kind"] for obj in objects()} == {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                                                   "Deployment", "Service"}
    for obj in objects():
        kubernetes_validate.validate(obj, "1.32.0", strict=True)


def test_kustomization_lists_every_manifest():
    kustomization = load_documents((DEPLOY / "kustomization.yaml").read_bytes(), filename="kustomization.yaml")[0].data
    assert sorted(kustomization["resources"]) == sorted(p.name for p in DEPLOY.glob("*.yaml") if p.name != "kustomization.yaml")


def _grants(role: dict) -> dict[tuple[str, str], set[str]]:
    grants: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                grants.setdefault((group, resource), set()).update(rule["verbs"])
    return grants


def test_rbac_grants_what_meshops_writes_and_reads_without_wildcards():
    (role,) = by_kind("ClusterRole")
    grants = _grants(role)
    assert not any("*" in key or "*" in verbs for key, verbs in grants.items())
    for row in kinds.KINDS:
        if row.kind == "CustomResourceDefinition":
            assert grants[(row.group, row.plural)] == {"get", "list"}  # read the cluster's schemas; never write CRDs by default
        else:
            assert grants[(row.group, row.plural)] == WRITE_VERBS, row.kind
    assert grants[("coordination.k8s.io", "leases")] == {"get", "create", "update"}
    assert grants[("", "events")] == {"create", "patch"}
    assert grants[("", "pods")] == {"list"}
    assert grants[("apps", "deployments")] == {"get"}  # canary readiness before each step
    known = {(row.group, row.plural) for row in kinds.KINDS} | {("coordination.k8s.io", "leases"), ("", "events"), ("", "pods"),
                                                                ("apps", "deployments")}
    assert set(grants) == known  # nothing beyond what is listed above


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
