"""The real kubectl against the sandbox: apply (client- and server-side), get, diff, delete, CRDs."""
from __future__ import annotations

import pytest

from helpers import ISTIO_CRDS, KUBECTL, Kubectl
from meshops.yamlio.documents import load_documents

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(not KUBECTL.exists(), reason=f"kubectl is not installed at {KUBECTL}"),
]

NAMESPACE_AND_CONFIG = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bookinfo"}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "bookinfo"},
     "data": {"mode": "fast"}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "reviews", "namespace": "bookinfo"},
     "spec": {"selector": {"app": "reviews"}, "ports": [{"name": "http", "port": 9080}]}},
]


def virtual_service(weights: tuple[int, int] = (90, 10), **spec_extra) -> dict:
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": "reviews", "namespace": "bookinfo"},
            "spec": {"hosts": ["reviews"], **spec_extra, "http": [{"route": [
                {"destination": {"host": "reviews", "subset": "v1"}, "weight": weights[0]},
                {"destination": {"host": "reviews", "subset": "v2"}, "weight": weights[1]}]}]}}


@pytest.fixture
def kubectl(sandbox_kubeconfig, tmp_path) -> Kubectl:
    return Kubectl(sandbox_kubeconfig, tmp_path)


@pytest.fixture
def istio_kubectl(istio_sandbox, kubectl) -> Kubectl:
    assert kubectl("apply", "-f", kubectl.write("base.yaml", *NAMESPACE_AND_CONFIG)).returncode == 0
    return kubectl


def test_client_side_apply_creates_then_reports_unchanged(kubectl):
    manifest = kubectl.write("base.yaml", *NAMESPACE_AND_CONFIG)
    first = kubectl("apply", "-f", manifest)
    assert first.returncode == 0, first.stderr
    assert "configmap/settings created" in first.stdout and "service/reviews created" in first.stdout
    second = kubectl("apply", "-f", manifest)
    assert second.returncode == 0, second.stderr
    assert "configmap/settings unchanged" in second.stdout and "service/reviews unchanged" in second.stdout


def test_client_side_apply_of_a_changed_core_object_patches_it(kubectl):
    kubectl("apply", "-f", kubectl.write("base.yaml", *NAMESPACE_AND_CONFIG))
    changed = [dict(NAMESPACE_AND_CONFIG[1], data={"mode": "slow", "extra": "1"})]
    result = kubectl("apply", "-f", kubectl.write("changed.yaml", *changed))
    assert result.returncode == 0 and "configmap/settings configured" in result.stdout, result.stderr
    shown = kubectl("get", "configmap", "settings", "-n", "bookinfo", "-o", "jsonpath={.data.mode},{.data.extra}")
    assert shown.stdout == "slow,1"


def test_server_side_apply_then_get_all_namespaces_as_yaml(istio_kubectl):
    applied = istio_kubectl("apply", "--server-side", "-f", istio_kubectl.write("vs.yaml", virtual_service()))
    assert applied.returncode == 0 and "serverside-applied" in applied.stdout, applied.stderr
    listed = istio_kubectl("get", "vs", "-A", "-o", "yaml")
    assert listed.returncode == 0, listed.stderr
    [document] = [d.data for d in load_documents(listed.stdout, filename="kubectl output")]
    [item] = document["items"]
    assert (item["metadata"]["namespace"], item["metadata"]["name"]) == ("bookinfo", "reviews")
    assert [r["weight"] for r in item["spec"]["http"][0]["route"]] == [90, 10]


def test_diff_exits_0_when_equal_and_1_when_different(istio_kubectl):
    istio_kubectl("apply", "-f", istio_kubectl.write("vs.yaml", virtual_service()))
    same = istio_kubectl("diff", "-f", istio_kubectl.write("same.yaml", virtual_service()))
    assert same.returncode == 0, same.stderr
    different = istio_kubectl("diff", "-f", istio_kubectl.write("different.yaml", virtual_service(weights=(50, 50))))
    assert different.returncode == 1, different.stderr
    assert "-      weight: 90" in different.stdout and "+      weight: 50" in different.stdout


def test_server_side_diff_exits_0_when_equal_and_1_when_different(istio_kubectl):
    istio_kubectl("apply", "--server-side", "-f", istio_kubectl.write("vs.yaml", virtual_service()))
    assert istio_kubectl("diff", "--server-side", "-f", istio_kubectl.write("s.yaml", virtual_service())).returncode == 0
    changed = istio_kubectl("diff", "--server-side", "-f", istio_kubectl.write("d.yaml", virtual_service(weights=(0, 100))))
    assert changed.returncode == 1, changed.stderr


def test_diff_of_a_missing_object_shows_it_as_new(istio_kubectl):
    result = istio_kubectl("diff", "-f", istio_kubectl.write("vs.yaml", virtual_service()))
    assert result.returncode == 1 and "+  name: reviews" in result.stdout


def test_delete_removes_and_a_second_delete_is_not_found(istio_kubectl):
    manifest = istio_kubectl.write("vs.yaml", virtual_service())
    istio_kubectl("apply", "-f", manifest)
    deleted = istio_kubectl("delete", "-f", manifest)
    assert deleted.returncode == 0 and 'virtualservice.networking.istio.io "reviews" deleted' in deleted.stdout
    again = istio_kubectl("delete", "vs", "reviews", "-n", "bookinfo")
    assert again.returncode == 1 and "NotFound" in again.stderr


def test_server_side_apply_conflict_is_reported_by_kubectl(istio_kubectl):
    istio_kubectl("apply", "-f", istio_kubectl.write("vs.yaml", virtual_service()))
    conflict = istio_kubectl("apply", "--server-side", "-f", istio_kubectl.write("ssa.yaml", virtual_service(weights=(1, 99))))
    assert conflict.returncode == 1
    assert 'conflict with "kubectl-client-side-apply"' in conflict.stderr and ".spec.http" in conflict.stderr
    forced = istio_kubectl("apply", "--server-side", "--force-conflicts", "-f", istio_kubectl.write("f.yaml", virtual_service(weights=(1, 99))))
    assert forced.returncode == 0, forced.stderr


def test_label_selectors_through_kubectl(kubectl):
    kubectl("apply", "-f", kubectl.write("base.yaml", *NAMESPACE_AND_CONFIG))
    kubectl("label", "configmap", "settings", "-n", "bookinfo", "tier=web")
    assert kubectl("get", "cm", "-n", "bookinfo", "-l", "tier in (web,db)", "-o", "name").stdout.strip() == "configmap/settings"
    assert kubectl("get", "cm", "-n", "bookinfo", "-l", "tier!=web", "-o", "name").stdout.strip() == ""


@pytest.mark.skipif(not ISTIO_CRDS.is_file(), reason=f"upstream Istio CRDs not found at {ISTIO_CRDS}")
def test_kubectl_applies_the_upstream_istio_crds_then_objects_of_those_kinds(sandbox, kubectl):
    crds = kubectl("apply", "-f", str(ISTIO_CRDS))
    assert crds.returncode == 0, crds.stderr
    assert "customresourcedefinition.apiextensions.k8s.io/virtualservices.networking.istio.io created" in crds.stdout
    kubectl("apply", "-f", kubectl.write("base.yaml", *NAMESPACE_AND_CONFIG))
    destination_rule = {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
                        "metadata": {"name": "reviews", "namespace": "bookinfo"},
                        "spec": {"host": "reviews", "subsets": [{"name": "v1", "labels": {"version": "v1"}},
                                                                {"name": "v2", "labels": {"version": "v2"}}]}}
    applied = kubectl("apply", "-f", kubectl.write("mesh.yaml", destination_rule, virtual_service()))
    assert applied.returncode == 0, applied.stderr
    assert "destinationrule.networking.istio.io/reviews created" in applied.stdout
    invalid = virtual_service(weights=(90, 10))
    invalid["metadata"]["name"] = "broken"
    invalid["spec"]["http"][0]["route"][0]["weight"] = "ninety"
    refused = kubectl("apply", "-f", kubectl.write("invalid.yaml", invalid))
    assert refused.returncode == 1
    assert 'The VirtualService "broken" is invalid' in refused.stderr and "must be of type integer" in refused.stderr
    assert kubectl("get", "vs", "broken", "-n", "bookinfo").returncode == 1


def test_kubectl_strict_validation_refuses_an_unknown_field(istio_kubectl):
    typo = virtual_service()
    typo["spec"]["hostz"] = typo["spec"].pop("hosts")
    refused = istio_kubectl("apply", "-f", istio_kubectl.write("typo.yaml", typo))
    assert refused.returncode == 1 and 'unknown field "spec.hostz"' in refused.stderr


def test_kubectl_create_sends_protobuf_for_core_kinds_and_the_sandbox_reads_it(kubectl):
    assert kubectl("create", "namespace", "made").returncode == 0
    created = kubectl("create", "configmap", "cfg", "-n", "made", "--from-literal=mode=fast")
    assert created.returncode == 0, created.stderr
    assert kubectl("create", "secret", "generic", "pw", "-n", "made", "--from-literal=key=s3cr3t").returncode == 0
    assert kubectl("create", "service", "clusterip", "web", "-n", "made", "--tcp=80:8080").returncode == 0
    shown = kubectl("get", "configmap", "cfg", "-n", "made", "-o", "jsonpath={.data.mode}")
    assert shown.stdout == "fast"
    assert kubectl("get", "secret", "pw", "-n", "made", "-o", "jsonpath={.data.key}").stdout == "czNjcjN0"
    ports = kubectl("get", "service", "web", "-n", "made", "-o", "jsonpath={.spec.ports[0].port}:{.spec.ports[0].targetPort}")
    assert ports.stdout == "80:8080"
