"""`meshops controller` with exactly the permissions `deploy/rbac.yaml` grants, on a sandbox that enforces RBAC.

The operator follows the file's comments (`kubectl create namespace`, then the manifests); the
controller authenticates with a ServiceAccount token bound to the file's Roles and ClusterRole, as
in a cluster: it reconciles the example repository's dev environment, adopting the bookinfo
Namespace the operator created and named in MESHOPS_ALLOWED_NAMESPACES; with one rule it needs
taken away, it fails that environment with one clear 403 line, no traceback.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import KUBECTL, REPO_ROOT, Background, Kubectl
from meshops.yamlio.documents import load_documents

RBAC_FILE = REPO_ROOT / "deploy" / "rbac.yaml"
pytestmark = pytest.mark.skipif(not KUBECTL.exists(), reason=f"kubectl is not installed at {KUBECTL}")
SERVICE_ACCOUNT_FILE = REPO_ROOT / "deploy" / "serviceaccount.yaml"
CONTROLLER_NAMESPACE = "meshops-system"


def _install(server, *files: Path, drop: tuple[str, str, str] | None = None) -> None:
    """Create every object of `files`; `drop` = (namespace, Role name, resource) removes that resource from the Role."""
    for path in files:
        for document in load_documents(path.read_text(), filename=str(path)):
            obj = document.data
            if obj.get("kind") == "Role" and drop and (obj["metadata"]["namespace"], obj["metadata"]["name"]) == drop[:2]:
                for rule in obj["rules"]:
                    rule["resources"] = [r for r in rule["resources"] if r != drop[2]]
                obj["rules"] = [rule for rule in obj["rules"] if rule["resources"]]
            server.create(obj)


@pytest.fixture
def controller_with_deploy_rbac(mesh_sandbox, pushed_example_repo, origin, tmp_path):
    """Start the controller with a token of the ServiceAccount deploy/ defines, bound as deploy/rbac.yaml says."""
    server = mesh_sandbox.server
    # The operator creates both, as deploy/rbac.yaml says (their RoleBindings live there); bookinfo,
    # which the repository renders too and the allow-list names, is adopted by the first apply.
    kubectl = Kubectl(mesh_sandbox.kubeconfig, tmp_path)
    for namespace in (CONTROLLER_NAMESPACE, "bookinfo"):
        kubectl.run("create", "namespace", namespace)
    started: list[Background] = []

    def start(*, drop: tuple[str, str, str] | None = None) -> Background:
        _install(server, SERVICE_ACCOUNT_FILE, RBAC_FILE, drop=drop)
        token = server.mint_token(CONTROLLER_NAMESPACE, "meshops")
        kubeconfig = server.write_kubeconfig(tmp_path / "controller.kubeconfig", token=token)
        process = Background("controller", "--identity", "rbac-test", "--listen", "127.0.0.1:0", "--repo", str(origin),
                             "--env", "dev", "--interval", "1s", "--leader-namespace", CONTROLLER_NAMESPACE,
                             "--kubeconfig", str(kubeconfig), "--context", "sandbox", "--no-dashboard",
                             "--allowed-namespaces", "bookinfo,istio-system", "--cache-dir", str(tmp_path / "cache"))
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def test_the_controller_reconciles_with_exactly_the_permissions_deploy_rbac_grants(controller_with_deploy_rbac, mesh_sandbox):
    controller = controller_with_deploy_rbac()
    controller.wait_for(r"dev: applied: ", timeout=90)
    names = {o["metadata"]["name"] for o in mesh_sandbox.server.objects("networking.istio.io", "virtualservices", "bookinfo")}
    assert {"productpage", "reviews"} <= names
    namespace = mesh_sandbox.core_v1().read_namespace("bookinfo")  # the one `kubectl create namespace` made
    assert namespace.metadata.annotations["meshops.dev/owner"].endswith("/dev")
    assert namespace.metadata.labels["app.kubernetes.io/managed-by"] == "meshops"
    forbidden = [e for e in mesh_sandbox.server.log.entries() if e.status == 403 and e.verb not in ("list",)]
    assert forbidden == [], [(e.verb, e.path) for e in forbidden]
    assert "Traceback" not in controller.output


def test_without_one_rule_it_needs_the_controller_fails_with_one_clear_403_line(controller_with_deploy_rbac, mesh_sandbox):
    controller = controller_with_deploy_rbac(drop=("bookinfo", "meshops", "virtualservices"))
    line = controller.wait_for(r"dev: failed.*", timeout=90).group(0)
    assert "403" in line or "forbidden" in line.lower(), controller.output
    assert "virtualservices" in controller.output
    assert "Traceback" not in controller.output
    assert mesh_sandbox.server.objects("networking.istio.io", "virtualservices", "bookinfo") == []
