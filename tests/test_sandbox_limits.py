"""Size limits and update rules a real cluster enforces: through the official client and real kubectl.

ConfigMap/Secret data over 1 MiB is 422 Too long; an object over etcd's 1.5 MiB request limit fails
with etcd's own error; a request body over 3 MiB is 413; a PUT of a custom resource needs a
resourceVersion; immutable ConfigMaps/Secrets, Service cluster IPs, the Service type enum and
duplicate port names are 422 as on a real server.
"""
from __future__ import annotations

import base64
import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from test_sandbox_kubectl import KUBECTL, Kubectl

MIB = 1024 * 1024

BLOBS_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "blobs.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "blobs", "kind": "Blob"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "properties": {"spec": {"type": "object", "properties": {"data": {"type": "string"}}}}}}}]},
}


def config_map(name: str = "settings", **fields) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}, **fields}


def service(**spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}], **spec}}


def blob(size: int, **metadata) -> dict:
    return {"apiVersion": "example.com/v1", "kind": "Blob", "metadata": {"name": "big", "namespace": "default", **metadata},
            "spec": {"data": "x" * size}}


@pytest.fixture
def core(sandbox_api_client):
    return client.CoreV1Api(sandbox_api_client)


@pytest.fixture
def kubectl(sandbox_kubeconfig, tmp_path) -> Kubectl:
    return Kubectl(sandbox_kubeconfig, tmp_path)


def status_of(call) -> tuple[int, dict]:
    with pytest.raises(ApiException) as refused:
        call()
    return refused.value.status, json.loads(refused.value.body)


# -- sizes -------------------------------------------------------------------------------------------


def test_config_map_data_over_1_mib_is_too_long(core):
    code, status = status_of(lambda: core.create_namespaced_config_map("default", config_map(data={"blob": "x" * MIB})))
    assert code == 422
    assert status["message"] == 'ConfigMap "settings" is invalid: []: Too long: may not be more than 1048576 bytes'
    core.create_namespaced_config_map("default", config_map(data={"blob": "x" * (MIB - 100)}))


def test_secret_data_over_1_mib_is_too_long(core):
    body = {"metadata": {"name": "big"}, "data": {"blob": base64.b64encode(b"x" * (MIB + 1)).decode()}}
    code, status = status_of(lambda: core.create_namespaced_secret("default", body))
    assert code == 422 and status["message"] == 'Secret "big" is invalid: data: Too long: may not be more than 1048576 bytes'


def test_an_object_over_etcds_limit_fails_with_etcds_error_and_a_dry_run_does_not(sandbox, sandbox_api_client):
    sandbox.install_crds([BLOBS_CRD])
    custom = client.CustomObjectsApi(sandbox_api_client)
    create = lambda **options: custom.create_namespaced_custom_object(  # noqa: E731
        "example.com", "v1", "default", "blobs", blob(int(1.6 * MIB)), **options)
    create(dry_run="All")  # storage is never reached
    code, status = status_of(create)
    assert (code, status["message"], "reason" in status) == (500, "etcdserver: request is too large", False)


def test_a_request_body_over_3_mib_is_413(core):
    code, status = status_of(lambda: core.create_namespaced_config_map("default", config_map(data={"a": "x" * 3 * MIB})))
    assert (code, status["reason"]) == (413, "RequestEntityTooLarge")
    assert status["message"] == "Request entity too large: limit is 3145728"
    assert core.list_namespaced_config_map("default").items == []


@pytest.mark.parametrize("size,expected", [
    (int(1.1 * MIB), 'The ConfigMap "settings" is invalid: []: Too long: may not be more than 1048576 bytes'),
    (int(3.5 * MIB), "Error from server (RequestEntityTooLarge): error when creating"),
])
@pytest.mark.kubectl
@pytest.mark.skipif(not KUBECTL.exists(), reason=f"kubectl is not installed at {KUBECTL}")
def test_kubectl_create_reports_the_size_limits(kubectl, size, expected):
    refused = kubectl("create", "-f", kubectl.write("big.yaml", config_map(data={"blob": "x" * size})))
    assert refused.returncode == 1 and expected in refused.stderr


@pytest.mark.kubectl
@pytest.mark.skipif(not KUBECTL.exists(), reason=f"kubectl is not installed at {KUBECTL}")
def test_kubectl_shows_etcds_error_for_an_oversized_object(sandbox, kubectl):
    sandbox.install_crds([BLOBS_CRD])
    refused = kubectl("create", "-f", kubectl.write("blob.yaml", blob(int(1.6 * MIB))))
    assert refused.returncode == 1 and refused.stderr.startswith("Error from server: error when creating")
    assert refused.stderr.rstrip().endswith("etcdserver: request is too large")


# -- update rules ------------------------------------------------------------------------------------


def test_a_put_of_a_custom_resource_without_resource_version_is_422(sandbox, sandbox_api_client):
    sandbox.install_crds([BLOBS_CRD])
    custom = client.CustomObjectsApi(sandbox_api_client)
    custom.create_namespaced_custom_object("example.com", "v1", "default", "blobs", blob(10))
    code, status = status_of(lambda: custom.replace_namespaced_custom_object(
        "example.com", "v1", "default", "blobs", "big", blob(20)))
    assert code == 422 and status["message"] == (
        'Blob.example.com "big" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update')
    live = custom.get_namespaced_custom_object("example.com", "v1", "default", "blobs", "big")
    custom.replace_namespaced_custom_object("example.com", "v1", "default", "blobs", "big",
                                            blob(20, resourceVersion=live["metadata"]["resourceVersion"]))


def test_a_put_of_a_config_map_without_resource_version_is_allowed(core):
    core.create_namespaced_config_map("default", config_map(data={"a": "1"}))
    assert core.replace_namespaced_config_map("settings", "default", config_map(data={"a": "2"})).data == {"a": "2"}


@pytest.mark.kubectl
@pytest.mark.skipif(not KUBECTL.exists(), reason=f"kubectl is not installed at {KUBECTL}")
def test_kubectl_replace_of_a_custom_resource_needs_a_resource_version(sandbox, kubectl):
    sandbox.install_crds([BLOBS_CRD])
    assert kubectl("create", "-f", kubectl.write("blob.yaml", blob(10))).returncode == 0
    path = "/apis/example.com/v1/namespaces/default/blobs/big"
    (kubectl.tmp_path / "blob2.json").write_text(json.dumps(blob(20)))
    refused = kubectl("replace", "--raw", path, "-f", str(kubectl.tmp_path / "blob2.json"))  # a bare PUT
    assert refused.returncode == 1
    assert "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update" in refused.stderr
    # Plain `kubectl replace` reads the live resourceVersion first, so it works as on a real cluster.
    assert kubectl("replace", "-f", kubectl.write("blob2.yaml", blob(20))).returncode == 0


def test_an_immutable_config_map_keeps_its_data_and_stays_immutable(core):
    core.create_namespaced_config_map("default", config_map(data={"a": "1"}, immutable=True))
    code, status = status_of(lambda: core.patch_namespaced_config_map("settings", "default", {"data": {"a": "2"}}))
    assert code == 422 and status["message"] == (
        'ConfigMap "settings" is invalid: data: Forbidden: field is immutable when `immutable` is set')
    _, status = status_of(lambda: core.patch_namespaced_config_map("settings", "default", {"immutable": False}))
    assert status["details"]["causes"][0]["field"] == "immutable"
    core.patch_namespaced_config_map("settings", "default", {"metadata": {"labels": {"ok": "yes"}}})


def test_an_immutable_secret_keeps_its_data_and_a_secret_keeps_its_type(core):
    core.create_namespaced_secret("default", {"metadata": {"name": "s"}, "stringData": {"a": "1"}, "immutable": True})
    _, status = status_of(lambda: core.patch_namespaced_secret("s", "default", {"stringData": {"a": "2"}}))
    assert status["details"]["causes"] == [{"reason": "FieldValueForbidden", "field": "data",
                                            "message": "Forbidden: field is immutable when `immutable` is set"}]
    core.create_namespaced_secret("default", {"metadata": {"name": "t"}, "stringData": {"a": "1"}})
    _, status = status_of(lambda: core.patch_namespaced_secret("t", "default", {"type": "kubernetes.io/tls"}))
    assert status["details"]["causes"][0]["message"] == 'Invalid value: "kubernetes.io/tls": field is immutable'


def test_a_services_cluster_ip_may_not_change_and_omitting_it_keeps_it(core):
    created = core.create_namespaced_service("default", service())
    address = created.spec.cluster_ip
    assert core.replace_namespaced_service("web", "default", service()).spec.cluster_ip == address
    code, status = status_of(lambda: core.patch_namespaced_service("web", "default", {"spec": {"clusterIP": "10.96.0.99"}}))
    assert code == 422 and status["message"] == (
        'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.96.0.99"}: may not change once set')


def test_a_service_type_outside_the_enum_is_unsupported(core):
    code, status = status_of(lambda: core.create_namespaced_service("default", service(type="Internal")))
    assert code == 422 and status["message"] == (
        'Service "web" is invalid: spec.type: Unsupported value: "Internal": supported values: "ClusterIP", '
        '"ExternalName", "LoadBalancer", "NodePort"')


def test_duplicate_service_port_names_are_refused(core):
    ports = [{"name": "http", "port": 80}, {"name": "http", "port": 8080}]
    code, status = status_of(lambda: core.create_namespaced_service("default", service(ports=ports)))
    assert code == 422 and status["details"]["causes"] == [
        {"reason": "FieldValueDuplicate", "field": "spec.ports[1].name", "message": 'Duplicate value: "http"'}]


@pytest.mark.kubectl
@pytest.mark.skipif(not KUBECTL.exists(), reason=f"kubectl is not installed at {KUBECTL}")
def test_kubectl_apply_reports_update_rules(kubectl):
    assert kubectl("apply", "-f", kubectl.write("cm.yaml", config_map(data={"a": "1"}, immutable=True))).returncode == 0
    refused = kubectl("apply", "-f", kubectl.write("cm.yaml", config_map(data={"a": "2"}, immutable=True)))
    assert refused.returncode == 1
    assert 'The ConfigMap "settings" is invalid: data: Forbidden: field is immutable when `immutable` is set' in refused.stderr
    assert kubectl("apply", "-f", kubectl.write("svc.yaml", service())).returncode == 0
    moved = kubectl("apply", "-f", kubectl.write("svc.yaml", service(clusterIP="10.96.0.99")))
    assert moved.returncode == 1 and "may not change once set" in moved.stderr
    for bad, message in ((service(type="Internal"), 'spec.type: Unsupported value: "Internal"'),
                         (service(ports=[{"name": "a", "port": 80}, {"name": "a", "port": 81}]),
                          'spec.ports[1].name: Duplicate value: "a"')):
        bad["metadata"]["name"] = "other"
        refused = kubectl("create", "-f", kubectl.write("bad.yaml", bad))
        assert refused.returncode == 1 and message in refused.stderr
