"""The sandbox at the HTTP level: version, discovery, OpenAPI, errors, keep-alive, tokens, subresources."""
from __future__ import annotations

import http.client
import json

import pytest

WIDGETS = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"kind": "Widget", "plural": "widgets", "shortNames": ["wd"]},
             "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                               "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
                               "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}}}]},
}


class Raw:
    """Plain HTTP/1.1 requests over one persistent connection."""

    def __init__(self, sandbox) -> None:
        self.connection = http.client.HTTPSConnection("127.0.0.1", sandbox.port, timeout=5,
                                                     context=sandbox.certificate.client_context())
        self.token = sandbox.token

    def __call__(self, method: str, path: str, body: object = None, *, content_type: str = "application/json",
                 token: str | None = None) -> tuple[int, dict | str, http.client.HTTPResponse]:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        payload = None
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        self.connection.request(method, path, body=payload, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        is_json = response.getheader("Content-Type", "").startswith("application/json")
        return response.status, json.loads(text) if is_json else text, response


@pytest.fixture
def raw(sandbox):
    requester = Raw(sandbox)
    yield requester
    requester.connection.close()


def test_version_reports_kubernetes_1_32_so_the_kubectl_dispatcher_picks_1_32(raw):
    status, body, _ = raw("GET", "/version?timeout=5s")
    assert status == 200 and (body["major"], body["minor"]) == ("1", "32") and body["gitVersion"].startswith("v1.32.")


def test_health_endpoints_answer_ok(raw):
    for path in ("/healthz", "/readyz", "/livez"):
        assert raw("GET", path)[:2] == (200, "ok")


def test_legacy_discovery_lists_core_groups_and_resources(raw):
    assert raw("GET", "/api")[1]["versions"] == ["v1"]
    groups = {g["name"]: g for g in raw("GET", "/apis")[1]["groups"]}
    assert {"coordination.k8s.io", "apiextensions.k8s.io"} <= set(groups)
    resources = {r["name"]: r for r in raw("GET", "/api/v1")[1]["resources"]}
    assert {"namespaces", "services", "configmaps", "secrets", "pods", "events"} <= set(resources)
    assert resources["services"]["shortNames"] == ["svc"] and resources["namespaces"]["namespaced"] is False
    assert "services/status" in resources


def test_installing_a_crd_makes_its_group_and_kind_discoverable_and_deleting_removes_them(raw):
    assert raw("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", WIDGETS)[0] == 201
    assert raw("GET", "/apis/example.com")[1]["preferredVersion"] == {"groupVersion": "example.com/v1", "version": "v1"}
    resources = raw("GET", "/apis/example.com/v1")[1]["resources"]
    assert [r["name"] for r in resources] == ["widgets", "widgets/status"] and resources[0]["shortNames"] == ["wd"]
    crd = raw("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")[1]
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]}["Established"] == "True"
    assert raw("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")[0] == 200
    assert raw("GET", "/apis/example.com/v1")[0] == 404
    assert "example.com" not in [g["name"] for g in raw("GET", "/apis")[1]["groups"]]


def test_openapi_v3_advertises_server_side_field_validation_per_kind(raw):
    raw("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", WIDGETS)
    index = raw("GET", "/openapi/v3")[1]["paths"]
    url = index["apis/example.com/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/example.com/v1?hash=")
    document = raw("GET", url)[1]
    patch = document["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "example.com", "version": "v1", "kind": "Widget"}
    assert {"name": "fieldValidation", "in": "query"}.items() <= patch["parameters"][2].items()
    assert "application/apply-patch+yaml" in patch["requestBody"]["content"]


def test_the_openapi_hash_changes_when_a_crd_changes(raw):
    raw("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", WIDGETS)
    before = raw("GET", "/openapi/v3")[1]["paths"]["apis/example.com/v1"]["serverRelativeURL"]
    changed = json.loads(json.dumps(WIDGETS))
    changed["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["color"] = {"type": "string"}
    assert raw("PUT", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com", changed)[0] == 200
    assert raw("GET", "/openapi/v3")[1]["paths"]["apis/example.com/v1"]["serverRelativeURL"] != before


def test_unknown_paths_and_resources_are_404_status_objects(raw):
    for path in ("/nothing", "/api/v1/widgets", "/apis/example.com/v1/widgets", "/openapi/v2"):
        status, body, _ = raw("GET", path)
        assert status == 404 and body["kind"] == "Status" and body["reason"] == "NotFound"
        assert body["message"] == "the server could not find the requested resource"


def test_a_cluster_scoped_kind_under_a_namespace_is_404(raw):
    assert raw("GET", "/apis/apiextensions.k8s.io/v1/namespaces/default/customresourcedefinitions")[0] == 404


def test_writing_to_discovery_is_405_method_not_allowed(raw):
    status, body, _ = raw("POST", "/apis", {})
    assert status == 405 and body["reason"] == "MethodNotAllowed"


def test_a_body_in_an_unknown_media_type_is_415(raw):
    status, body, _ = raw("POST", "/api/v1/namespaces/default/configmaps", b"a=b", content_type="text/plain")
    assert status == 415 and body["reason"] == "UnsupportedMediaType"


def test_a_yaml_body_is_accepted(raw):
    status, body, _ = raw("POST", "/api/v1/namespaces/default/configmaps",
                          b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: b\n",
                          content_type="application/yaml")
    assert status == 201 and body["data"] == {"a": "b"}


def test_one_connection_serves_many_requests_each_with_content_length(raw):
    socket_before = None
    for _ in range(5):
        status, _, response = raw("GET", "/api/v1/namespaces")
        assert status == 200 and int(response.getheader("Content-Length")) > 0
        socket_before = socket_before or raw.connection.sock
        assert raw.connection.sock is socket_before


def test_a_wrong_bearer_token_is_401(raw):
    status, body, _ = raw("GET", "/api/v1/namespaces", token="wrong")
    assert status == 401 and body["reason"] == "Unauthorized"


def test_the_status_subresource_changes_status_only_and_the_main_resource_never_does(raw):
    raw("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", WIDGETS)
    base = "/apis/example.com/v1/namespaces/default/widgets"
    created = raw("POST", base, {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                                 "spec": {"size": 1}, "status": {"ready": True}})[1]
    assert "status" not in created
    status_write = raw("PATCH", f"{base}/w/status", {"spec": {"size": 9}, "status": {"ready": True}},
                       content_type="application/merge-patch+json")[1]
    assert status_write["spec"] == {"size": 1} and status_write["status"] == {"ready": True}
    assert status_write["metadata"]["generation"] == 1
    main_write = raw("PATCH", f"{base}/w", {"spec": {"size": 2}, "status": {"ready": False}},
                     content_type="application/merge-patch+json")[1]
    assert main_write["status"] == {"ready": True} and main_write["metadata"]["generation"] == 2


def test_a_name_in_the_body_that_differs_from_the_url_is_a_bad_request(raw):
    raw("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "a"}})
    status, body, _ = raw("PUT", "/api/v1/namespaces/default/configmaps/a", {"metadata": {"name": "b"}})
    assert status == 400 and body["message"] == "the name of the object (b) does not match the name on the URL (a)"


def test_force_on_a_non_apply_patch_is_refused(raw):
    status, _, _ = raw("PATCH", "/api/v1/namespaces/default?force=true", {"metadata": {}},
                       content_type="application/merge-patch+json")
    assert status == 422


def _field(number: int, payload: bytes) -> bytes:
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_a_protobuf_field_the_sandbox_does_not_know_is_415_not_a_silent_loss(raw):
    metadata = _field(1, b"cm")
    config_map = _field(1, metadata) + _field(9, b"surprise")
    body = b"k8s\x00" + _field(1, _field(1, b"v1") + _field(2, b"ConfigMap")) + _field(2, config_map)
    status, body, _ = raw("POST", "/api/v1/namespaces/default/configmaps", body,
                          content_type="application/vnd.kubernetes.protobuf")
    assert status == 415 and "field 9 of ConfigMap" in body["message"]
    assert raw("GET", "/api/v1/namespaces/default/configmaps/cm")[0] == 404
