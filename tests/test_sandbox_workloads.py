"""apps/v1 Deployments stored, defaulted and checked; readiness set through the status subresource;
server-side Tables for `kubectl get` (CRD printer columns, built-in columns)."""
from __future__ import annotations

import http.client
import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from helpers import ISTIO_CRDS
from test_sandbox_kubectl import KUBECTL, NAMESPACE_AND_CONFIG, Kubectl, virtual_service

kubectl_needed = pytest.mark.skipif(not KUBECTL.exists(), reason=f"kubectl is not installed at {KUBECTL}")


def deployment(name: str = "reviews-v2", *, replicas: int = 3, labels: dict | None = None, selector: dict | None = None) -> dict:
    labels = labels or {"app": "reviews", "version": "v2"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": selector or labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "reviews", "image": "reviews:2.0",
                                                           "ports": [{"containerPort": 9080}]}]}}}}


@pytest.fixture
def apps(sandbox_api_client):
    return client.AppsV1Api(sandbox_api_client)


def test_a_deployment_is_stored_with_the_apiservers_defaults_and_no_status(apps):
    created = apps.create_namespaced_deployment("default", deployment())
    assert created.spec.strategy.type == "RollingUpdate" and created.spec.strategy.rolling_update.max_surge == "25%"
    assert created.spec.revision_history_limit == 10 and created.spec.progress_deadline_seconds == 600
    container = created.spec.template.spec.containers[0]
    assert (container.image_pull_policy, container.ports[0].protocol) == ("IfNotPresent", "TCP")
    assert created.metadata.generation == 1 and created.status.ready_replicas is None  # nothing runs it


def test_set_ready_reports_readiness_through_the_status_subresource(sandbox, apps):
    apps.create_namespaced_deployment("default", deployment())
    sandbox.set_ready("default", "reviews-v2", ready_replicas=1)
    status = apps.read_namespaced_deployment_status("reviews-v2", "default").status
    assert (status.replicas, status.ready_replicas, status.available_replicas) == (3, 1, 1)
    assert {c.type: c.status for c in status.conditions}["Available"] == "False"
    sandbox.set_ready("default", "reviews-v2")
    status = apps.read_namespaced_deployment("reviews-v2", "default").status
    assert status.ready_replicas == 3 and {c.type: c.status for c in status.conditions}["Available"] == "True"


def test_a_client_can_patch_status_and_a_main_resource_write_cannot(apps):
    apps.create_namespaced_deployment("default", deployment())
    apps.patch_namespaced_deployment_status("reviews-v2", "default", {"status": {"readyReplicas": 2, "replicas": 3}})
    apps.patch_namespaced_deployment("reviews-v2", "default", {"status": {"readyReplicas": 0}})
    assert apps.read_namespaced_deployment("reviews-v2", "default").status.ready_replicas == 2


def test_a_selector_that_does_not_select_the_template_is_refused(apps):
    with pytest.raises(ApiException) as refused:
        apps.create_namespaced_deployment("default", deployment(selector={"app": "ratings"}))
    assert refused.value.status == 422
    assert json.loads(refused.value.body)["details"]["causes"] == [{
        "reason": "FieldValueInvalid", "field": "spec.template.metadata.labels",
        "message": 'Invalid value: map[string]string{"app":"reviews", "version":"v2"}: `selector` does not match '
                   "template `labels`"}]


def test_an_apps_v1_selector_is_immutable(apps):
    apps.create_namespaced_deployment("default", deployment())
    with pytest.raises(ApiException) as refused:
        apps.patch_namespaced_deployment("reviews-v2", "default", {"spec": {"selector": {"matchLabels": {"version": None}}}})
    assert refused.value.status == 422 and "spec.selector: Invalid value: v1.LabelSelector{" in refused.value.body
    assert "field is immutable" in refused.value.body


@pytest.mark.kubectl
@kubectl_needed
def test_kubectl_get_deployments_shows_ready_up_to_date_available(sandbox, sandbox_kubeconfig, tmp_path):
    kubectl = Kubectl(sandbox_kubeconfig, tmp_path)
    assert kubectl("apply", "-f", kubectl.write("deploy.yaml", deployment())).returncode == 0
    sandbox.set_ready("default", "reviews-v2", ready_replicas=2)
    header, row = kubectl("get", "deployments").stdout.splitlines()
    assert header.split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert row.split()[:4] == ["reviews-v2", "2/3", "3", "2"]
    refused = kubectl("apply", "-f", kubectl.write("bad.yaml", deployment("bad", selector={"app": "x"})))
    assert refused.returncode == 1 and 'The Deployment "bad" is invalid: spec.template.metadata.labels' in refused.stderr


# -- server-side tables -----------------------------------------------------------------------------

PRINTED_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "gadgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "gadgets", "kind": "Gadget"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "additionalPrinterColumns": [
                               {"name": "Hosts", "type": "string", "jsonPath": ".spec.hosts"},
                               {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                               {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
                               "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]},
}


def test_a_table_request_gets_the_crds_printer_columns(sandbox):
    sandbox.install_crds([PRINTED_CRD])
    sandbox.create({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": "default"},
                    "spec": {"hosts": ["a", "b"], "replicas": 2}})
    connection = http.client.HTTPSConnection("127.0.0.1", sandbox.port, context=sandbox.certificate.client_context())
    connection.request("GET", "/apis/example.com/v1/namespaces/default/gadgets", headers={
        "Authorization": f"Bearer {sandbox.token}",
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
    table = json.loads(connection.getresponse().read())
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Hosts", "Replicas", "Age"]
    [row] = table["rows"]
    assert row["cells"][:3] == ["g", '["a","b"]', 2] and row["cells"][3].endswith("s")
    assert row["object"]["kind"] == "PartialObjectMetadata" and row["object"]["metadata"]["name"] == "g"


@pytest.mark.kubectl
@kubectl_needed
@pytest.mark.skipif(not ISTIO_CRDS.is_file(), reason=f"upstream Istio CRDs not found at {ISTIO_CRDS}")
def test_kubectl_get_virtualservices_shows_gateways_hosts_and_age(istio_sandbox, sandbox_kubeconfig, tmp_path):
    kubectl = Kubectl(sandbox_kubeconfig, tmp_path)
    assert kubectl("apply", "-f", kubectl.write("base.yaml", *NAMESPACE_AND_CONFIG)).returncode == 0
    assert kubectl("apply", "-f", kubectl.write("vs.yaml", virtual_service(gateways=["web"]))).returncode == 0
    header, row = kubectl("get", "vs", "-n", "bookinfo").stdout.splitlines()
    assert header.split() == ["NAME", "GATEWAYS", "HOSTS", "AGE"]
    assert row.split()[:3] == ["reviews", '["web"]', '["reviews"]']


@pytest.mark.kubectl
@kubectl_needed
def test_kubectl_get_virtualservices_shows_the_same_columns_with_meshops_own_crds(mesh_sandbox, tmp_path):
    kubectl = Kubectl(mesh_sandbox.kubeconfig, tmp_path)
    assert kubectl("apply", "-f", kubectl.write("base.yaml", *NAMESPACE_AND_CONFIG)).returncode == 0
    assert kubectl("apply", "-f", kubectl.write("vs.yaml", virtual_service(gateways=["web"]))).returncode == 0
    header, row = kubectl("get", "vs", "-n", "bookinfo").stdout.splitlines()
    assert header.split() == ["NAME", "GATEWAYS", "HOSTS", "AGE"]
    assert row.split()[:3] == ["reviews", '["web"]', '["reviews"]']


@pytest.mark.kubectl
@kubectl_needed
def test_kubectl_get_of_built_in_kinds_shows_their_columns(sandbox_kubeconfig, tmp_path):
    kubectl = Kubectl(sandbox_kubeconfig, tmp_path)
    kubectl("apply", "-f", kubectl.write("base.yaml", *NAMESPACE_AND_CONFIG))
    services = kubectl("get", "services", "-n", "bookinfo").stdout.splitlines()
    assert services[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert services[1].split()[1] == "ClusterIP" and services[1].split()[4] == "9080/TCP"
    namespaces = kubectl("get", "namespace", "bookinfo").stdout.splitlines()
    assert namespaces[0].split() == ["NAME", "STATUS", "AGE"] and namespaces[1].split()[1] == "Active"


@pytest.mark.kubectl
@kubectl_needed
def test_kubectl_get_watch_prints_rows_of_server_side_tables(sandbox, sandbox_kubeconfig, tmp_path):
    import threading
    import time

    def create_later() -> None:
        time.sleep(1.0)
        sandbox.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late", "namespace": "default"},
                        "data": {"a": "1", "b": "2"}})

    threading.Thread(target=create_later, daemon=True).start()
    watched = Kubectl(sandbox_kubeconfig, tmp_path)("get", "configmaps", "-w", "--request-timeout=3s")
    lines = [line.split() for line in watched.stdout.splitlines()]
    assert lines[0] == ["NAME", "DATA", "AGE"] and lines[-1][:2] == ["late", "2"]
    assert sandbox.log.count(verb="watch", resource="configmaps", status=200) == 1


def test_every_workload_kind_reads_back_through_the_typed_client(sandbox_api_client):
    apps, core, batch = (client.AppsV1Api(sandbox_api_client), client.CoreV1Api(sandbox_api_client),
                         client.BatchV1Api(sandbox_api_client))
    body = deployment()
    for kind, create, read in (("ReplicaSet", apps.create_namespaced_replica_set, apps.read_namespaced_replica_set),
                               ("DaemonSet", apps.create_namespaced_daemon_set, apps.read_namespaced_daemon_set),
                               ("StatefulSet", apps.create_namespaced_stateful_set, apps.read_namespaced_stateful_set)):
        spec = {k: v for k, v in body["spec"].items() if not (kind == "DaemonSet" and k == "replicas")}
        create("default", {**body, "kind": kind, "spec": spec})
        assert read("reviews-v2", "default").status is not None, kind  # required status fields come as 0
    template = body["spec"]["template"]
    core.create_namespaced_replication_controller("default", {"metadata": {"name": "rc"},
                                                              "spec": {"replicas": 1, "template": template}})
    assert core.read_namespaced_replication_controller("rc", "default").status.replicas == 0
    job_template = {**template, "spec": {**template["spec"], "restartPolicy": "Never"}}
    batch.create_namespaced_job("default", {"metadata": {"name": "job"}, "spec": {"template": job_template}})
    assert batch.read_namespaced_job("job", "default").spec.backoff_limit == 6
