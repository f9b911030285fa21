"""Writes to custom resources are checked against the CRD schema, as a real apiserver checks them."""
from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from test_sandbox_client import GROUP, PLURAL, VERSION, status_of, virtual_service


@pytest.fixture
def custom(istio_sandbox, sandbox_api_client):
    client.CoreV1Api(sandbox_api_client).create_namespace({"metadata": {"name": "bookinfo"}})
    return client.CustomObjectsApi(sandbox_api_client)


def rejected(custom, body: dict, **options) -> ApiException:
    with pytest.raises(ApiException) as refused:
        custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, body, **options)
    return refused.value


def test_a_wrong_type_is_422_invalid_with_a_type_cause(custom):
    body = virtual_service()
    body["spec"]["http"][0]["route"][0]["weight"] = "ninety"
    error = rejected(custom, body)
    status = status_of(error)
    assert error.status == 422 and status["reason"] == "Invalid"
    assert status["details"]["causes"][0] == {
        "reason": "FieldValueTypeInvalid", "field": "spec.http[0].route[0].weight",
        "message": 'Invalid value: "string": spec.http[0].route[0].weight in body must be of type integer: "string"'}
    # As on a real server, the CRD's CEL rules are not run on an object with type errors, and it says so.
    assert status["details"]["causes"][1]["message"].endswith("some validation rules were not checked because the "
                                                              "object was invalid; correct the existing errors to "
                                                              "complete validation")
    assert status["message"].startswith('VirtualService.networking.istio.io "reviews" is invalid: [spec.http[0]')
    assert (status["details"]["kind"], status["details"]["group"]) == ("VirtualService", GROUP)


def test_a_missing_required_field_is_a_required_value_cause(custom):
    body = virtual_service()
    del body["spec"]["http"][0]["route"][0]["destination"]["host"]
    causes = status_of(rejected(custom, body))["details"]["causes"]
    assert causes == [{"reason": "FieldValueRequired", "field": "spec.http[0].route[0].destination.host",
                       "message": "Required value"}]


def test_a_value_outside_an_enum_is_not_supported(custom, sandbox_api_client):
    body = {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
            "metadata": {"name": "default", "namespace": "bookinfo"}, "spec": {"mtls": {"mode": "STRICTEST"}}}
    with pytest.raises(ApiException) as refused:
        custom.create_namespaced_custom_object("security.istio.io", "v1", "bookinfo", "peerauthentications", body)
    [cause] = status_of(refused.value)["details"]["causes"]
    assert cause["reason"] == "FieldValueNotSupported" and cause["field"] == "spec.mtls.mode"
    assert cause["message"].startswith('Unsupported value: "STRICTEST": supported values: "UNSET", "DISABLE"')


def test_several_problems_are_all_reported_in_one_status(custom):
    body = virtual_service()
    body["spec"]["http"][0]["route"][0]["weight"] = "x"
    del body["spec"]["http"][0]["route"][1]["destination"]["host"]
    status = status_of(rejected(custom, body))
    assert [c["field"] for c in status["details"]["causes"]] == [
        "spec.http[0].route[0].weight", "spec.http[0].route[1].destination.host", "<nil>"]
    assert status["message"].count("spec.http[0].route") >= 2 and ": [" in status["message"]


def test_strict_field_validation_rejects_unknown_fields_with_400(custom):
    body = virtual_service()
    body["spec"]["hostz"] = body["spec"].pop("hosts")
    error = rejected(custom, body, field_validation="Strict")
    assert error.status == 400 and status_of(error)["reason"] == "BadRequest"
    assert status_of(error)["message"] == ('VirtualService in version "v1" cannot be handled as a VirtualService: '
                                           'strict decoding error: unknown field "spec.hostz"')


def test_warn_field_validation_prunes_and_sends_a_warning_header(custom):
    body = virtual_service()
    body["spec"]["http"][0]["route"][0]["wieght"] = 5
    _, code, headers = custom.create_namespaced_custom_object_with_http_info(
        GROUP, VERSION, "bookinfo", PLURAL, body, field_validation="Warn")
    assert code == 201
    assert headers["Warning"] == '299 - "unknown field \\"spec.http[0].route[0].wieght\\""'
    live = custom.get_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews")
    assert "wieght" not in live["spec"]["http"][0]["route"][0]


def test_ignore_field_validation_prunes_silently(custom):
    body = virtual_service()
    body["spec"]["extra"] = {"anything": True}
    _, code, headers = custom.create_namespaced_custom_object_with_http_info(
        GROUP, VERSION, "bookinfo", PLURAL, body, field_validation="Ignore")
    assert code == 201 and "Warning" not in headers
    assert "extra" not in custom.get_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews")["spec"]


def test_unknown_metadata_fields_are_unknown_fields_too(custom):
    body = virtual_service()
    body["metadata"]["labelz"] = {"a": "b"}
    assert "unknown field \"metadata.labelz\"" in status_of(rejected(custom, body, field_validation="Strict"))["message"]


def widget_crd(schema: dict) -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced", "names": {"kind": "Widget", "plural": "widgets"},
                     "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}]}}


def test_schema_defaults_are_filled_in(sandbox_api_client):
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "size": {"type": "integer", "default": 3}, "color": {"type": "string"}}}}}
    client.ApiextensionsV1Api(sandbox_api_client).create_custom_resource_definition(widget_crd(schema))
    created = client.CustomObjectsApi(sandbox_api_client).create_namespaced_custom_object(
        "example.com", "v1", "default", "widgets",
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"color": "red"}})
    assert created["spec"] == {"color": "red", "size": 3}


def test_a_crd_without_a_storage_version_is_invalid(sandbox_api_client):
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "gadgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced", "names": {"kind": "Gadget", "plural": "gadgets"},
                    "versions": [{"name": "v1", "served": True, "storage": False,
                                  "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    with pytest.raises(ApiException) as refused:
        client.ApiextensionsV1Api(sandbox_api_client).create_custom_resource_definition(crd)
    assert refused.value.status == 422
    assert "must have exactly one version marked as storage version" in status_of(refused.value)["message"]


def test_an_invalid_object_name_is_rejected(sandbox_api_client):
    with pytest.raises(ApiException) as refused:
        client.CoreV1Api(sandbox_api_client).create_namespaced_config_map("default", {"metadata": {"name": "Not_Valid"}})
    [cause] = status_of(refused.value)["details"]["causes"]
    assert refused.value.status == 422 and cause["field"] == "metadata.name"
    assert "a lowercase RFC 1123 subdomain" in cause["message"]


def test_generate_name_gets_a_random_suffix(sandbox_api_client):
    created = client.CoreV1Api(sandbox_api_client).create_namespaced_config_map(
        "default", {"metadata": {"generateName": "run-"}})
    assert created.metadata.name.startswith("run-") and len(created.metadata.name) == len("run-") + 5
