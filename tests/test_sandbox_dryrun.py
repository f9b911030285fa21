"""`dryRun=All`: every write verb runs its whole path and answers, and nothing is stored."""
from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from test_sandbox_client import GROUP, PLURAL, VERSION, status_of, virtual_service


@pytest.fixture
def custom(istio_sandbox, sandbox_api_client):
    client.CoreV1Api(sandbox_api_client).create_namespace({"metadata": {"name": "bookinfo"}})
    api = client.CustomObjectsApi(sandbox_api_client)
    api.patch_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews", virtual_service(),
                                       field_manager="meshops", _content_type="application/apply-patch+yaml")
    return api


def snapshot(custom) -> dict:
    """Everything a client can see of the VirtualServices, resourceVersion of the list included."""
    return custom.list_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL)


def weights(obj: dict) -> list[int]:
    return [route["weight"] for route in obj["spec"]["http"][0]["route"]]


def test_dry_run_create_returns_the_would_be_object_and_stores_nothing(custom):
    before = snapshot(custom)
    created = custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL,
                                                     virtual_service(name="ratings"), dry_run="All")
    assert created["metadata"]["name"] == "ratings" and created["metadata"]["uid"]
    assert "resourceVersion" not in created["metadata"]
    assert snapshot(custom) == before


def test_dry_run_update_returns_the_would_be_object_and_stores_nothing(custom):
    before = snapshot(custom)
    live = custom.get_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews")
    live["spec"]["http"] = virtual_service(weights=(60, 40))["spec"]["http"]
    updated = custom.replace_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews", live, dry_run="All")
    assert weights(updated) == [60, 40] and updated["metadata"]["generation"] == 2
    assert snapshot(custom) == before


@pytest.mark.parametrize("content_type, body", [
    ("application/merge-patch+json", {"spec": {"http": virtual_service(weights=(30, 70))["spec"]["http"]}}),
    ("application/json-patch+json", [{"op": "replace", "path": "/spec/http/0/route/0/weight", "value": 30},
                                     {"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 70}]),
    ("application/apply-patch+yaml", virtual_service(weights=(30, 70))),
])
def test_dry_run_patch_returns_the_would_be_object_and_stores_nothing(custom, content_type, body):
    before = snapshot(custom)
    patched = custom.patch_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews", body,
                                                    dry_run="All", field_manager="meshops",
                                                    _content_type=content_type)
    assert weights(patched) == [30, 70]
    assert snapshot(custom) == before


def test_dry_run_apply_of_a_missing_object_creates_nothing(custom):
    before = snapshot(custom)
    custom.patch_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "ratings", virtual_service(name="ratings"),
                                          dry_run="All", field_manager="meshops",
                                          _content_type="application/apply-patch+yaml")
    assert snapshot(custom) == before


def test_dry_run_delete_returns_the_object_and_keeps_it(custom):
    before = snapshot(custom)
    answer = custom.delete_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews", dry_run="All")
    assert answer["metadata"]["name"] == "reviews"
    assert snapshot(custom) == before


def test_dry_run_delete_collection_keeps_everything(custom):
    before = snapshot(custom)
    custom.delete_collection_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, dry_run="All")
    assert snapshot(custom) == before


def test_dry_run_still_reports_what_would_fail(custom):
    body = virtual_service(name="broken")
    body["spec"]["http"][0]["route"][0]["weight"] = "heavy"
    with pytest.raises(ApiException) as refused:
        custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, body, dry_run="All")
    assert refused.value.status == 422 and status_of(refused.value)["reason"] == "Invalid"


def test_an_unknown_dry_run_value_is_a_bad_request(custom):
    with pytest.raises(ApiException) as refused:
        custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, virtual_service(name="x"),
                                               dry_run="Some")
    assert refused.value.status == 400
