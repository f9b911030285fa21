"""CRDs' CEL rules (x-kubernetes-validations) and `format`, enforced by the sandbox like an apiserver.

The upstream Istio CRDs say `duration(self) >= duration('1ms')` on VirtualService timeouts; meshops's
shipped CRDs carry their own rules. A test CRD of our own covers what Istio's do not use: transition
rules (`oldSelf`), `messageExpression`, `reason` + `fieldPath`, ratcheting and formats. Every rejection
is shown through real kubectl and through the official client.
"""
from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from test_sandbox_kubectl import KUBECTL, NAMESPACE_AND_CONFIG, Kubectl, virtual_service

GROUP = "networking.istio.io"

WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "properties": {"spec": {
                     "type": "object",
                     "x-kubernetes-validations": [{"rule": "!has(self.a) || !has(self.b)", "message": "a and b exclude each other",
                                                   "reason": "FieldValueForbidden", "fieldPath": ".b"}],
                     "properties": {
                         "replicas": {"type": "integer", "x-kubernetes-validations": [
                             {"rule": "self >= 0", "message": "replicas must not be negative"}]},
                         "mode": {"type": "string", "x-kubernetes-validations": [
                             {"rule": "self == oldSelf", "message": "mode is immutable"}]},
                         "size": {"type": "integer", "x-kubernetes-validations": [
                             {"rule": "self <= 10", "messageExpression": "'size ' + string(self) + ' is over 10'"}]},
                         "legacy": {"type": "string", "x-kubernetes-validations": [{"rule": "self.startsWith('x')"}]},
                         "a": {"type": "string"}, "b": {"type": "string"},
                         "window": {"type": "string", "format": "duration"},
                         "address": {"type": "string", "format": "ipv4"},
                     }}}}}}]},
}


def widget(name: str = "w", **spec) -> dict:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, "namespace": "default"},
            "spec": spec}


@pytest.fixture
def custom(sandbox, sandbox_api_client):
    sandbox.install_crds([WIDGET_CRD])
    return client.CustomObjectsApi(sandbox_api_client)


def refusal(call) -> dict:
    with pytest.raises(ApiException) as refused:
        call()
    assert refused.value.status == 422, refused.value.body
    return json.loads(refused.value.body)


def create(custom, body: dict, **options):
    return custom.create_namespaced_custom_object("example.com", "v1", "default", "widgets", body, **options)


def test_a_broken_rule_is_422_with_the_crds_message_and_the_schema_type(custom):
    status = refusal(lambda: create(custom, widget(replicas=-1)))
    assert status["details"]["causes"] == [{"reason": "FieldValueInvalid", "field": "spec.replicas",
                                            "message": 'Invalid value: "integer": replicas must not be negative'}]
    assert status["message"] == ('Widget.example.com "w" is invalid: spec.replicas: Invalid value: "integer": '
                                 "replicas must not be negative")


@pytest.mark.parametrize("mode", ["Strict", "Warn", "Ignore"])
def test_rules_hold_in_every_field_validation_mode_on_create_patch_and_apply(custom, mode):
    with pytest.raises(ApiException):
        create(custom, widget(replicas=-1), field_validation=mode)
    create(custom, widget(replicas=1), field_validation=mode)
    with pytest.raises(ApiException) as patched:
        custom.patch_namespaced_custom_object("example.com", "v1", "default", "widgets", "w",
                                              {"spec": {"replicas": -2}}, field_validation=mode)
    assert "replicas must not be negative" in patched.value.body
    with pytest.raises(ApiException) as applied:
        custom.patch_namespaced_custom_object("example.com", "v1", "default", "widgets", "w", widget(replicas=-3),
                                              field_manager="t", field_validation=mode, force=True,
                                              _content_type="application/apply-patch+yaml")
    assert "replicas must not be negative" in applied.value.body


def test_a_transition_rule_compares_with_the_stored_object_and_is_skipped_on_create(custom):
    create(custom, widget(mode="fast"))  # no oldSelf on create: the rule is not evaluated
    live = custom.get_namespaced_custom_object("example.com", "v1", "default", "widgets", "w")
    live["spec"]["mode"] = "slow"
    status = refusal(lambda: custom.replace_namespaced_custom_object("example.com", "v1", "default", "widgets", "w", live))
    assert status["details"]["causes"][0]["message"] == 'Invalid value: "string": mode is immutable'
    live["spec"]["mode"] = "fast"
    live["spec"]["replicas"] = 2
    custom.replace_namespaced_custom_object("example.com", "v1", "default", "widgets", "w", live)


def test_message_expression_reason_field_path_and_the_default_message(custom):
    status = refusal(lambda: create(custom, widget(size=12, a="1", b="2", legacy="y")))
    causes = {c["field"]: c for c in status["details"]["causes"]}
    assert causes["spec.size"]["message"] == 'Invalid value: "integer": size 12 is over 10'
    assert causes["spec.b"] == {"reason": "FieldValueForbidden", "field": "spec.b",
                                "message": "Forbidden: a and b exclude each other"}
    assert causes["spec.legacy"]["message"] == "Invalid value: \"string\": failed rule: self.startsWith('x')"


def test_formats_are_checked_as_the_apiserver_does(custom):
    status = refusal(lambda: create(custom, widget(window="soon", address="300.1.1.1")))
    messages = sorted(c["message"] for c in status["details"]["causes"])
    assert messages == ['Invalid value: "300.1.1.1": spec.address in body must be of type ipv4: "300.1.1.1"',
                        'Invalid value: "soon": spec.window in body must be of type duration: "soon"']
    create(custom, widget(window="3 days", address="10.0.0.1"))  # strfmt's duration is wider than Go's


def test_an_update_ratchets_a_value_it_does_not_change(sandbox, custom):
    loose = json.loads(json.dumps(WIDGET_CRD))
    del loose["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["legacy"]["x-kubernetes-validations"]
    sandbox.install_crds([loose])
    create(custom, widget(legacy="y"))  # valid before the rule came back
    sandbox.install_crds([WIDGET_CRD])
    custom.patch_namespaced_custom_object("example.com", "v1", "default", "widgets", "w", {"spec": {"replicas": 3}})
    with pytest.raises(ApiException):
        custom.patch_namespaced_custom_object("example.com", "v1", "default", "widgets", "w", {"spec": {"legacy": "z"}})


def test_a_crd_whose_rule_does_not_compile_is_refused(sandbox, sandbox_api_client):
    broken = json.loads(json.dumps(WIDGET_CRD))
    broken["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["size"][
        "x-kubernetes-validations"] = [{"rule": "self <= (("}]
    extensions = client.ApiextensionsV1Api(sandbox_api_client)
    status = refusal(lambda: extensions.create_custom_resource_definition(broken))
    [cause] = status["details"]["causes"]
    assert cause["field"].endswith("properties[spec].properties[size].x-kubernetes-validations[0].rule")
    assert "compilation failed" in cause["message"]


# -- Istio's own rules -------------------------------------------------------------------------------


def test_the_upstream_virtual_service_rule_refuses_a_timeout_under_1ms(istio_sandbox, sandbox_api_client):
    custom = client.CustomObjectsApi(sandbox_api_client)
    client.CoreV1Api(sandbox_api_client).create_namespace({"metadata": {"name": "bookinfo"}})
    body = virtual_service()
    body["spec"]["http"][0]["timeout"] = "0.5ms"
    status = refusal(lambda: custom.create_namespaced_custom_object(GROUP, "v1", "bookinfo", "virtualservices", body))
    [cause] = status["details"]["causes"]
    assert cause["field"] == "spec.http[0].timeout" and cause["message"].startswith('Invalid value: "string": ')
    body["spec"]["http"][0]["timeout"] = "1ms"
    custom.create_namespaced_custom_object(GROUP, "v1", "bookinfo", "virtualservices", body)


def test_the_shipped_crds_carry_rules_and_the_sandbox_enforces_them(mesh_sandbox):
    custom = mesh_sandbox.custom_objects()
    mesh_sandbox.core_v1().create_namespace({"metadata": {"name": "bookinfo"}})
    body = virtual_service()
    body["spec"]["http"][0]["timeout"] = "0.5ms"
    status = refusal(lambda: custom.create_namespaced_custom_object(GROUP, "v1", "bookinfo", "virtualservices", body))
    assert status["details"]["causes"][0]["field"] == "spec.http[0].timeout"


@pytest.mark.kubectl
@pytest.mark.skipif(not KUBECTL.exists(), reason=f"kubectl is not installed at {KUBECTL}")
def test_kubectl_shows_the_rule_message_and_exits_1(istio_sandbox, sandbox_kubeconfig, tmp_path):
    kubectl = Kubectl(sandbox_kubeconfig, tmp_path)
    assert kubectl("apply", "-f", kubectl.write("base.yaml", *NAMESPACE_AND_CONFIG)).returncode == 0
    body = virtual_service()
    body["spec"]["http"][0]["timeout"] = "0.5ms"
    for mode in ("--validate=strict", "--validate=false"):
        refused = kubectl("apply", mode, "-f", kubectl.write("vs.yaml", body))
        assert refused.returncode == 1
        assert 'The VirtualService "reviews" is invalid: spec.http[0].timeout: Invalid value: "string"' in refused.stderr
    refused = kubectl("apply", "--server-side", "-f", kubectl.write("vs.yaml", body))
    assert refused.returncode == 1 and "spec.http[0].timeout" in refused.stderr
