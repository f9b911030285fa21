"""Namespaces are deleted as on a cluster: Terminating first, emptied by the namespace controller, then gone."""
from __future__ import annotations

import json
import time

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from meshops.sandbox import SandboxServer
from test_sandbox_kubectl import KUBECTL, Kubectl

TERMINATING_MESSAGE = 'configmaps "late" is forbidden: unable to create new content in namespace doomed because it is being terminated'


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def namespace_names(core) -> list[str]:
    return [n.metadata.name for n in core.list_namespace().items]


@pytest.fixture
def slow_sandbox(tmp_path):
    """A sandbox whose namespace controller waits 30 s, so a test can act on a Terminating namespace."""
    with SandboxServer(namespace_deletion_delay=30) as server:
        api = config.new_client_from_config(config_file=str(server.write_kubeconfig(tmp_path / "slow.kubeconfig")))
        yield server, client.CoreV1Api(api), tmp_path / "slow.kubeconfig"
        api.close()


def test_a_deleted_namespace_is_terminating_then_emptied_then_gone(sandbox_api_client):
    core = client.CoreV1Api(sandbox_api_client)
    core.create_namespace({"metadata": {"name": "doomed"}})
    core.create_namespaced_config_map("doomed", {"metadata": {"name": "inside"}})
    deleted = core.delete_namespace("doomed")  # the answer is the namespace, as the apiserver sends it
    assert deleted["status"]["phase"] == "Terminating" and deleted["spec"]["finalizers"] == ["kubernetes"]
    assert deleted["metadata"]["deletionTimestamp"]
    wait_until(lambda: "doomed" not in namespace_names(core))
    assert core.list_config_map_for_all_namespaces(field_selector="metadata.namespace=doomed").items == []


def test_creating_in_a_terminating_namespace_is_403_forbidden(slow_sandbox):
    _, core, _ = slow_sandbox
    core.create_namespace({"metadata": {"name": "doomed"}})
    core.delete_namespace("doomed")
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_config_map("doomed", {"metadata": {"name": "late"}})
    status = json.loads(refused.value.body)
    assert (refused.value.status, status["reason"], status["message"]) == (403, "Forbidden", TERMINATING_MESSAGE)
    assert status["details"]["causes"][0]["reason"] == "NamespaceTerminating"
    assert core.read_namespace("doomed").status.phase == "Terminating"


def test_an_object_with_a_finalizer_keeps_its_namespace_terminating_until_it_goes(sandbox_api_client):
    core = client.CoreV1Api(sandbox_api_client)
    core.create_namespace({"metadata": {"name": "held"}})
    core.create_namespaced_config_map("held", {"metadata": {"name": "pinned", "finalizers": ["example.com/hold"]}})
    core.delete_namespace("held")
    wait_until(lambda: core.read_namespaced_config_map("pinned", "held").metadata.deletion_timestamp is not None)
    time.sleep(0.6)
    assert core.read_namespace("held").status.phase == "Terminating"
    core.patch_namespaced_config_map("pinned", "held", {"metadata": {"finalizers": None}})
    wait_until(lambda: "held" not in namespace_names(core))


def test_the_default_namespace_may_not_be_deleted(sandbox_api_client):
    with pytest.raises(ApiException) as refused:
        client.CoreV1Api(sandbox_api_client).delete_namespace("default")
    assert refused.value.status == 403
    assert json.loads(refused.value.body)["message"] == 'namespaces "default" is forbidden: this namespace may not be deleted'


@pytest.mark.kubectl
@pytest.mark.skipif(not KUBECTL.exists(), reason=f"kubectl is not installed at {KUBECTL}")
def test_kubectl_delete_of_a_namespace_and_its_objects_succeeds(sandbox_kubeconfig, sandbox_api_client, tmp_path):
    kubectl = Kubectl(sandbox_kubeconfig, tmp_path)
    manifest = kubectl.write("app.yaml",
                             {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}},
                             {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "app"}},
                             {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "app"},
                              "spec": {"ports": [{"port": 80}]}})
    assert kubectl("apply", "-f", manifest).returncode == 0
    deleted = kubectl("delete", "-f", manifest)
    assert deleted.returncode == 0, deleted.stderr
    assert 'namespace "app" deleted' in deleted.stdout and 'configmap "a" deleted' in deleted.stdout
    wait_until(lambda: "app" not in namespace_names(client.CoreV1Api(sandbox_api_client)))


@pytest.mark.kubectl
@pytest.mark.skipif(not KUBECTL.exists(), reason=f"kubectl is not installed at {KUBECTL}")
def test_kubectl_create_in_a_terminating_namespace_shows_the_forbidden_message(slow_sandbox, tmp_path):
    _, core, kubeconfig = slow_sandbox
    core.create_namespace({"metadata": {"name": "doomed"}})
    kubectl = Kubectl(kubeconfig, tmp_path)
    assert kubectl("delete", "namespace", "doomed", "--wait=false").returncode == 0
    refused = kubectl("create", "configmap", "late", "-n", "doomed")
    assert refused.returncode == 1
    assert f"error: failed to create configmap: {TERMINATING_MESSAGE}" in refused.stderr
