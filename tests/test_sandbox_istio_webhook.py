"""The stand-in for istiod's validating webhook: what validation.istio.io denies, and that it is a layer of its own.

Uses meshops's shipped Istio CRDs (no ../shared needed). A write the CRD schema and rules accept can
still be denied by the webhook; with `istio_webhook=False` the same write is stored, which shows
where the rejection came from.
"""
from __future__ import annotations

import json

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from test_sandbox_kubectl import KUBECTL, Kubectl, virtual_service

GROUP = "networking.istio.io"
DENIED = 'admission webhook "validation.istio.io" denied the request: configuration is invalid: '


def destination_rule(**spec) -> dict:
    return {"apiVersion": f"{GROUP}/v1", "kind": "DestinationRule", "metadata": {"name": "reviews", "namespace": "bookinfo"},
            "spec": {"host": "reviews", **spec}}


def gateway(*servers: dict) -> dict:
    return {"apiVersion": f"{GROUP}/v1", "kind": "Gateway", "metadata": {"name": "web", "namespace": "bookinfo"},
            "spec": {"selector": {"istio": "ingressgateway"}, "servers": list(servers)}}


def _with(body: dict, change) -> dict:
    body = json.loads(json.dumps(body))
    change(body["spec"])
    return body


# (what is wrong, object, istiod's message)
DENIALS = [
    ("a virtual service bound to a gateway without hosts",
     _with(virtual_service(gateways=["web"]), lambda s: s.pop("hosts")),
     "delegate virtual service must have no gateways specified"),
    ("weights that are all zero",
     _with(virtual_service(weights=(0, 0)), lambda s: None), "total destination weight = 0"),
    ("a route together with a redirect",
     _with(virtual_service(), lambda s: s["http"][0].update(redirect={"uri": "/elsewhere"})),
     "HTTP route cannot contain both route and redirect"),
    ("an empty prefix match",
     _with(virtual_service(), lambda s: s["http"][0].update(match=[{"uri": {"prefix": ""}}])),
     '"uri": prefix string match should not be empty'),
    ("a header match with an invalid name",
     _with(virtual_service(), lambda s: s["http"][0].update(match=[{"headers": {"bad name": {"exact": "x"}}}])),
     "header name bad name is not a valid header name"),
    ("a subset name that is not a DNS label",
     _with(virtual_service(), lambda s: s["http"][0]["route"][0]["destination"].update(subset="V_1")),
     "subset name is invalid: V_1"),
]


@pytest.fixture
def custom(mesh_sandbox):
    mesh_sandbox.core_v1().create_namespace({"metadata": {"name": "bookinfo"}})
    return mesh_sandbox.custom_objects()


def create(custom, body: dict):
    plural = body["kind"].lower() + "s"
    return custom.create_namespaced_custom_object(GROUP, "v1", "bookinfo", plural, body)


@pytest.mark.parametrize("what,body,message", DENIALS, ids=[d[0] for d in DENIALS])
def test_the_webhook_denies_what_istiod_denies(custom, what, body, message):
    with pytest.raises(ApiException) as denied:
        create(custom, body)
    status = json.loads(denied.value.body)
    assert denied.value.status == 400 and "reason" not in status
    assert status["message"] == DENIED + message


def test_several_errors_come_in_istios_multierror_format(custom):
    body = _with(virtual_service(), lambda s: s["http"][0]["route"][1]["destination"].update(host="*", subset="V_1"))
    with pytest.raises(ApiException) as denied:
        create(custom, body)
    assert json.loads(denied.value.body)["message"] == (
        DENIED + "2 errors occurred:\n\t* invalid destination host *\n\t* subset name is invalid: V_1\n\n")


PORT_70000 = _with(virtual_service(), lambda s: s["http"][0]["route"][0]["destination"].update(port={"number": 70000}))


def test_a_destination_port_above_65535_is_denied_by_the_webhook_under_the_upstream_crds(istio_sandbox,
                                                                                         sandbox_api_client):
    client.CoreV1Api(sandbox_api_client).create_namespace({"metadata": {"name": "bookinfo"}})
    with pytest.raises(ApiException) as denied:
        create(client.CustomObjectsApi(sandbox_api_client), PORT_70000)
    assert json.loads(denied.value.body)["message"] == DENIED + "port number 70000 must be in the range 1..65535"


def test_the_shipped_crds_refuse_that_port_already_with_their_own_rule(custom):
    with pytest.raises(ApiException) as refused:
        create(custom, PORT_70000)
    assert refused.value.status == 422 and "port must be between 1-65535" in refused.value.body


def test_a_valid_delegate_without_hosts_is_admitted(custom):
    create(custom, _with(virtual_service(), lambda s: s.pop("hosts")))


def test_destination_rules_and_gateways_are_checked_too(custom):
    with pytest.raises(ApiException) as duplicate:
        create(custom, destination_rule(subsets=[{"name": "v1"}, {"name": "v1"}]))
    assert "duplicate subset names: v1" in duplicate.value.body
    with pytest.raises(ApiException) as no_tls:
        create(custom, gateway({"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": ["*"]}))
    assert "server must have TLS settings for HTTPS/TLS protocols" in no_tls.value.body
    create(custom, gateway({"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}))


def test_the_webhook_also_judges_updates_and_dry_runs(custom):
    create(custom, virtual_service())
    with pytest.raises(ApiException) as patched:
        custom.patch_namespaced_custom_object(GROUP, "v1", "bookinfo", "virtualservices", "reviews",
                                              {"spec": {"http": [{"route": [{"destination": {"host": "*"}}]}]}})
    assert json.loads(patched.value.body)["message"] == DENIED + "invalid destination host *"
    zero = virtual_service(weights=(0, 0)) | {"metadata": {"name": "dry", "namespace": "bookinfo"}}
    with pytest.raises(ApiException) as dry:
        custom.create_namespaced_custom_object(GROUP, "v1", "bookinfo", "virtualservices", zero, dry_run="All")
    assert json.loads(dry.value.body)["message"] == DENIED + "total destination weight = 0"


def test_switched_off_the_same_write_is_stored_so_the_denial_came_from_the_webhook(tmp_path):
    from meshops.sandbox import SandboxServer
    from meshops.validate.schemas import shipped_crds

    with SandboxServer(istio_webhook=False) as server:
        server.install_crds(shipped_crds())
        api = config.new_client_from_config(config_file=str(server.write_kubeconfig(tmp_path / "kc")))
        client.CoreV1Api(api).create_namespace({"metadata": {"name": "bookinfo"}})
        stored = create(client.CustomObjectsApi(api), _with(virtual_service(weights=(0, 0)), lambda s: None))
        assert [r["weight"] for r in stored["spec"]["http"][0]["route"]] == [0, 0]
        api.close()


@pytest.mark.kubectl
@pytest.mark.skipif(not KUBECTL.exists(), reason=f"kubectl is not installed at {KUBECTL}")
def test_kubectl_reports_the_denial_as_error_from_server(mesh_sandbox, tmp_path):
    kubectl = Kubectl(mesh_sandbox.kubeconfig, tmp_path)
    kubectl("create", "namespace", "bookinfo")
    _, body, message = DENIALS[1]  # weights that are all zero
    refused = kubectl("apply", "-f", kubectl.write("vs.yaml", body))
    assert refused.returncode == 1
    assert f'Error from server: error when creating "{tmp_path}/vs.yaml": {DENIED}{message}' in refused.stderr
