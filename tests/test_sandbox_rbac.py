"""Authentication and RBAC: tokens name users and ServiceAccounts, Roles and bindings are enforced.

The admin kubeconfig is `system:masters` (everything allowed); a token minted for a ServiceAccount
gets exactly what its bindings grant, with the apiserver's 403 wording, and `kubectl auth can-i`
answers from the same rules. Requests without a token are 401.
"""
from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from helpers import REPO_ROOT
from meshops.yamlio.documents import load_documents
from test_sandbox_kubectl import KUBECTL, Kubectl

RBAC = "rbac.authorization.k8s.io"

kubectl_needed = pytest.mark.skipif(not KUBECTL.exists(), reason=f"kubectl is not installed at {KUBECTL}")


def role(name: str, namespace: str, *rules: dict, kind: str = "Role") -> dict:
    metadata = {"name": name, **({"namespace": namespace} if kind == "Role" else {})}
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": metadata, "rules": list(rules)}


def binding(name: str, namespace: str, role_name: str, *, account: tuple[str, str], role_kind: str = "Role",
            kind: str = "RoleBinding") -> dict:
    metadata = {"name": name, **({"namespace": namespace} if kind == "RoleBinding" else {})}
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": metadata,
            "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role_name},
            "subjects": [{"kind": "ServiceAccount", "namespace": account[0], "name": account[1]}]}


READ_CONFIGMAPS = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}


class Identity:
    """A ServiceAccount token of the sandbox, with a kubeconfig and a client for it."""

    def __init__(self, sandbox, tmp_path: Path, namespace: str, name: str) -> None:
        self.token = sandbox.mint_token(namespace, name)
        self.kubeconfig = sandbox.write_kubeconfig(tmp_path / f"{name}.kubeconfig", token=self.token)
        self.api_client = config.new_client_from_config(config_file=str(self.kubeconfig))
        self.core = client.CoreV1Api(self.api_client)
        self.user = f"system:serviceaccount:{namespace}:{name}"


@pytest.fixture
def admin(sandbox_api_client):
    return sandbox_api_client


@pytest.fixture
def reader(sandbox, admin, tmp_path):
    """ServiceAccount team/reader, allowed to read ConfigMaps in namespace team only."""
    identity = Identity(sandbox, tmp_path, "team", "reader")
    for obj in (role("read-config", "team", READ_CONFIGMAPS),
                binding("reader-reads-config", "team", "read-config", account=("team", "reader"))):
        sandbox.create(obj)
    client.CoreV1Api(admin).create_namespace({"metadata": {"name": "other"}})
    for namespace in ("team", "other"):
        client.CoreV1Api(admin).create_namespaced_config_map(namespace, {"metadata": {"name": "settings"}})
    yield identity
    identity.api_client.close()


def forbidden(call) -> dict:
    with pytest.raises(ApiException) as refused:
        call()
    assert refused.value.status == 403, refused.value.body
    return json.loads(refused.value.body)


def test_a_request_without_a_token_is_401_except_for_health_and_version(sandbox):
    connection = http.client.HTTPSConnection("127.0.0.1", sandbox.port, context=sandbox.certificate.client_context())
    for path in ("/api/v1/namespaces", "/apis", "/openapi/v3"):
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 401 and json.loads(response.read())["reason"] == "Unauthorized", path
    for path in ("/version", "/healthz"):
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 200, path
        response.read()


def test_a_role_binding_grants_exactly_its_rules(reader):
    assert reader.core.read_namespaced_config_map("settings", "team").metadata.name == "settings"
    assert [c.metadata.name for c in reader.core.list_namespaced_config_map("team").items] == ["settings"]
    status = forbidden(lambda: reader.core.read_namespaced_config_map("settings", "other"))
    assert status["message"] == (f'configmaps "settings" is forbidden: User "{reader.user}" cannot get resource '
                                 '"configmaps" in API group "" in the namespace "other"')
    assert status["details"] == {"name": "settings", "kind": "configmaps"}
    status = forbidden(lambda: reader.core.create_namespaced_config_map("team", {"metadata": {"name": "new"}}))
    assert status["message"] == (f'configmaps is forbidden: User "{reader.user}" cannot create resource "configmaps" '
                                 'in API group "" in the namespace "team"')
    status = forbidden(lambda: reader.core.list_namespace())
    assert status["message"].endswith('cannot list resource "namespaces" in API group "" at the cluster scope')


def test_resource_names_and_cluster_roles(sandbox, admin, tmp_path):
    identity = Identity(sandbox, tmp_path, "team", "narrow")
    sandbox.create(role("one-lease", "", {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                                          "verbs": ["get"], "resourceNames": ["lock"]}, kind="ClusterRole"))
    sandbox.create(binding("narrow-lease", "", "one-lease", account=("team", "narrow"), role_kind="ClusterRole",
                           kind="ClusterRoleBinding"))
    coordination = client.CoordinationV1Api(identity.api_client)
    for name in ("lock", "other"):
        client.CoordinationV1Api(admin).create_namespaced_lease("team", {"metadata": {"name": name}, "spec": {}})
    assert coordination.read_namespaced_lease("lock", "team").metadata.name == "lock"
    forbidden(lambda: coordination.read_namespaced_lease("other", "team"))
    forbidden(lambda: coordination.list_namespaced_lease("team"))  # resourceNames never match an unnamed list
    identity.api_client.close()


def test_a_binding_to_a_missing_role_says_so_in_the_denial(sandbox, tmp_path):
    identity = Identity(sandbox, tmp_path, "team", "orphan")
    sandbox.create(binding("dangling", "team", "nowhere", account=("team", "orphan")))
    status = forbidden(lambda: identity.core.list_namespaced_config_map("team"))
    assert status["message"].endswith(f': RBAC: role.{RBAC} "nowhere" not found')
    identity.api_client.close()


def test_a_token_dies_with_its_service_account(sandbox, admin, reader):
    client.CoreV1Api(admin).delete_namespaced_service_account("reader", "team")
    with pytest.raises(ApiException) as refused:
        reader.core.read_namespaced_config_map("settings", "team")
    assert refused.value.status == 401


def test_a_role_bindings_role_ref_is_immutable(sandbox, admin):
    sandbox.create(binding("b", "default", "r1", account=("default", "x")))
    with pytest.raises(ApiException) as refused:
        client.RbacAuthorizationV1Api(admin).patch_namespaced_role_binding(
            "b", "default", {"roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "r2"}})
    assert refused.value.status == 422 and "cannot change roleRef" in refused.value.body


def test_self_subject_access_review_answers_for_the_caller(reader):
    review = client.AuthorizationV1Api(reader.api_client).create_self_subject_access_review(
        {"spec": {"resourceAttributes": {"namespace": "team", "verb": "list", "resource": "configmaps"}}})
    assert review.status.allowed is True
    review = client.AuthorizationV1Api(reader.api_client).create_self_subject_access_review(
        {"spec": {"resourceAttributes": {"namespace": "team", "verb": "delete", "resource": "configmaps"}}})
    assert review.status.allowed is False


@pytest.mark.kubectl
@kubectl_needed
def test_kubectl_as_a_service_account_is_refused_with_the_real_message(reader, tmp_path):
    kubectl = Kubectl(reader.kubeconfig, tmp_path)
    assert kubectl("get", "configmap", "settings", "-n", "team", "-o", "name").stdout == "configmap/settings\n"
    refused = kubectl("get", "configmap", "settings", "-n", "other")
    assert refused.returncode == 1
    assert (f'Error from server (Forbidden): configmaps "settings" is forbidden: User "{reader.user}" cannot get '
            'resource "configmaps" in API group "" in the namespace "other"') in refused.stderr
    whoami = kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
    assert whoami.stdout == reader.user


@pytest.mark.kubectl
@kubectl_needed
def test_kubectl_auth_can_i_answers_yes_and_no_with_exit_codes(reader, sandbox_kubeconfig, tmp_path):
    kubectl = Kubectl(reader.kubeconfig, tmp_path)
    allowed = kubectl("auth", "can-i", "list", "configmaps", "-n", "team")
    assert (allowed.returncode, allowed.stdout.strip()) == (0, "yes")
    denied = kubectl("auth", "can-i", "delete", "configmaps", "-n", "team")
    assert (denied.returncode, denied.stdout.strip()) == (1, "no")
    listed = [line.split() for line in kubectl("auth", "can-i", "--list", "-n", "team").stdout.splitlines()]
    assert ["configmaps", "[]", "[]", "[get", "list]"] in listed
    admin = Kubectl(sandbox_kubeconfig, tmp_path)
    assert admin("auth", "can-i", "delete", "configmaps", "-n", "team").stdout.strip() == "yes"
    impersonated = admin("auth", "can-i", "list", "configmaps", "-n", "other", f"--as={reader.user}")
    assert (impersonated.returncode, impersonated.stdout.strip()) == (1, "no")


@pytest.mark.kubectl
@kubectl_needed
def test_kubectl_create_token_mints_a_token_that_authenticates(sandbox, sandbox_kubeconfig, tmp_path):
    admin = Kubectl(sandbox_kubeconfig, tmp_path)
    assert admin("create", "serviceaccount", "bot", "-n", "default").returncode == 0
    minted = admin("create", "token", "bot", "-n", "default")
    assert minted.returncode == 0, minted.stderr
    bot = Kubectl(sandbox.write_kubeconfig(tmp_path / "bot.kubeconfig", token=minted.stdout.strip()), tmp_path)
    assert bot("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}").stdout == "system:serviceaccount:default:bot"
    assert admin("create", "token", "ghost", "-n", "default").returncode == 1  # no such ServiceAccount


def _deploy_rbac() -> list[dict]:
    return [d.data for d in load_documents((REPO_ROOT / "deploy" / "rbac.yaml").read_bytes(), filename="rbac.yaml")
            if d.data]


@pytest.mark.kubectl
@kubectl_needed
def test_deploy_rbac_yaml_bound_to_a_minted_token_answers_can_i_as_written(mesh_sandbox, tmp_path):
    sandbox = mesh_sandbox.server  # with the Istio kinds installed, so kubectl can resolve their names
    documents = _deploy_rbac()
    [cluster_role] = [d for d in documents if d["kind"] == "ClusterRole"]
    [cluster_binding] = [d for d in documents if d["kind"] == "ClusterRoleBinding"]
    account = cluster_binding["subjects"][0]
    token = sandbox.mint_token(account["namespace"], account["name"])
    for obj in (cluster_role, cluster_binding):
        sandbox.create(obj)
    kubectl = Kubectl(sandbox.write_kubeconfig(tmp_path / "meshops.kubeconfig", token=token), tmp_path)
    granted = [(verb, f"{resource}.{rule['apiGroups'][0]}".rstrip("."))
               for rule in cluster_role["rules"] for resource in rule["resources"] for verb in rule["verbs"]]
    for verb, resource in granted[:4] + granted[-2:]:
        answer = kubectl("auth", "can-i", verb, resource, "-n", "bookinfo")
        assert answer.stdout.strip() == "yes", (verb, resource)
    for verb, resource in (("update", "configmaps"), ("delete", "customresourcedefinitions.apiextensions.k8s.io"),
                           ("get", "clusterroles.rbac.authorization.k8s.io")):
        assert kubectl("auth", "can-i", verb, resource, "-n", "bookinfo").stdout.strip() == "no", (verb, resource)
