"""Server-side apply in the sandbox: managedFields, pruning, conflicts, force, Update ownership."""
from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from test_sandbox_client import GROUP, PLURAL, VERSION, status_of, virtual_service

APPLY = "application/apply-patch+yaml"


@pytest.fixture
def custom(istio_sandbox, sandbox_api_client):
    client.CoreV1Api(sandbox_api_client).create_namespace({"metadata": {"name": "bookinfo"}})
    return client.CustomObjectsApi(sandbox_api_client)


@pytest.fixture
def core(sandbox_api_client):
    return client.CoreV1Api(sandbox_api_client)


def apply(custom, body: dict, *, manager: str, force: bool = False) -> tuple[int, dict | None]:
    data, code, _ = custom.patch_namespaced_custom_object_with_http_info(
        GROUP, VERSION, body["metadata"]["namespace"], PLURAL, body["metadata"]["name"], body,
        field_manager=manager, force=force, _content_type=APPLY)
    return code, data


def read(custom, name: str = "reviews") -> dict:
    return custom.get_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, name)


def fields_of(obj: dict, manager: str, operation: str = "Apply") -> dict:
    entries = [e for e in obj["metadata"].get("managedFields", []) if (e["manager"], e["operation"]) == (manager, operation)]
    assert len(entries) <= 1
    return entries[0]["fieldsV1"] if entries else {}


def test_apply_creates_a_missing_object_with_201(custom):
    code, _ = apply(custom, virtual_service(), manager="meshops")
    assert code == 201
    assert read(custom)["spec"]["hosts"] == ["reviews"]


def test_apply_records_fields_v1_with_atomic_lists_owned_whole(custom):
    apply(custom, virtual_service(), manager="meshops")
    entry = next(e for e in read(custom)["metadata"]["managedFields"] if e["manager"] == "meshops")
    assert (entry["operation"], entry["fieldsType"], entry["apiVersion"]) == ("Apply", "FieldsV1", f"{GROUP}/{VERSION}")
    assert entry["fieldsV1"] == {"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:hosts": {}, "f:http": {}}}


def test_apply_of_the_same_config_again_is_a_no_op(custom):
    apply(custom, virtual_service(), manager="meshops")
    before = read(custom)["metadata"]["resourceVersion"]
    code, again = apply(custom, virtual_service(), manager="meshops")
    assert code == 200 and again["metadata"]["resourceVersion"] == before


def test_a_field_dropped_from_the_applied_config_is_removed(custom):
    apply(custom, virtual_service(), manager="meshops")
    smaller = virtual_service()
    del smaller["metadata"]["labels"]
    smaller["spec"]["gateways"] = ["mesh"]
    apply(custom, smaller, manager="meshops")
    smaller["spec"].pop("gateways")
    apply(custom, smaller, manager="meshops")
    live = read(custom)
    assert "labels" not in live["metadata"] and "gateways" not in live["spec"]


def test_a_dropped_field_another_manager_also_owns_stays(custom):
    apply(custom, virtual_service(), manager="meshops")
    apply(custom, {"apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualService",
                   "metadata": {"name": "reviews", "namespace": "bookinfo", "labels": {"app": "reviews"}}},
          manager="team-labels")
    without_label = virtual_service()
    del without_label["metadata"]["labels"]
    apply(custom, without_label, manager="meshops")
    live = read(custom)
    assert live["metadata"]["labels"] == {"app": "reviews"}
    assert fields_of(live, "team-labels") == {"f:metadata": {"f:labels": {"f:app": {}}}}
    assert "f:metadata" not in fields_of(live, "meshops")


def test_applying_another_managers_field_with_a_new_value_is_a_409_conflict(custom):
    apply(custom, virtual_service(), manager="meshops")
    with pytest.raises(ApiException) as conflict:
        apply(custom, virtual_service(weights=(50, 50)), manager="rollout")
    status = status_of(conflict.value)
    assert conflict.value.status == 409 and status["reason"] == "Conflict"
    assert status["details"]["causes"] == [{"reason": "FieldManagerConflict", "field": ".spec.http",
                                            "message": f'conflict with "meshops" using {GROUP}/{VERSION}'}]
    assert status["message"] == f'Apply failed with 1 conflict: conflict with "meshops" using {GROUP}/{VERSION}: .spec.http'
    assert [r["weight"] for r in read(custom)["spec"]["http"][0]["route"]] == [90, 10]


def test_applying_the_same_value_makes_a_co_owner_without_conflict(custom):
    apply(custom, virtual_service(), manager="meshops")
    apply(custom, virtual_service(), manager="auditor")
    live = read(custom)
    assert fields_of(live, "meshops")["f:spec"] == fields_of(live, "auditor")["f:spec"] == {"f:hosts": {}, "f:http": {}}


def test_force_moves_ownership_to_the_applier(custom):
    apply(custom, virtual_service(), manager="meshops")
    apply(custom, virtual_service(weights=(50, 50)), manager="rollout", force=True)
    live = read(custom)
    assert [r["weight"] for r in live["spec"]["http"][0]["route"]] == [50, 50]
    assert "f:http" in fields_of(live, "rollout")["f:spec"]
    assert "f:http" not in fields_of(live, "meshops")["f:spec"]


def test_an_update_records_ownership_under_the_user_agent_manager(custom):
    apply(custom, virtual_service(), manager="meshops")
    custom.patch_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews",
                                          {"spec": {"http": virtual_service(weights=(80, 20))["spec"]["http"]}})
    live = read(custom)
    assert fields_of(live, "OpenAPI-Generator", "Update") == {"f:spec": {"f:http": {}}}
    with pytest.raises(ApiException) as conflict:
        apply(custom, virtual_service(), manager="meshops")
    assert status_of(conflict.value)["details"]["causes"][0]["message"].startswith('conflict with "OpenAPI-Generator"')


def test_an_update_with_an_explicit_field_manager_records_that_name(core):
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}, "data": {"a": "1"}}, field_manager="creator")
    live = core.read_namespaced_config_map("c", "default")
    [entry] = live.metadata.managed_fields
    assert (entry.manager, entry.operation) == ("creator", "Update")
    assert entry.fields_v1 == {"f:data": {".": {}, "f:a": {}}}


def test_apply_without_a_field_manager_is_invalid(custom):
    with pytest.raises(ApiException) as refused:
        custom.patch_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews", virtual_service(),
                                              _content_type=APPLY)
    assert refused.value.status == 422
    assert "fieldManager: Required value" in status_of(refused.value)["message"]


def test_resource_version_in_an_applied_config_is_a_precondition(custom):
    apply(custom, virtual_service(), manager="meshops")
    live = read(custom)
    stale = virtual_service(weights=(70, 30))
    stale["metadata"]["resourceVersion"] = str(int(live["metadata"]["resourceVersion"]) - 1)
    with pytest.raises(ApiException) as conflict:
        apply(custom, stale, manager="meshops")
    assert conflict.value.status == 409 and "has been modified" in status_of(conflict.value)["message"]
    fresh = virtual_service(weights=(70, 30))
    fresh["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
    assert apply(custom, fresh, manager="meshops")[0] == 200


def test_apply_with_a_resource_version_to_a_missing_object_is_404(custom):
    body = virtual_service(name="ghost")
    body["metadata"]["resourceVersion"] = "5"
    with pytest.raises(ApiException) as missing:
        apply(custom, body, manager="meshops")
    assert missing.value.status == 404


def test_keyed_list_items_belong_to_the_manager_that_applied_them(sandbox_api_client, core):
    def apply_service(ports: list[dict], manager: str) -> None:
        body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
                "spec": {"ports": ports}}
        core.patch_namespaced_service("web", "default", body, field_manager=manager, _content_type=APPLY)

    apply_service([{"name": "http", "port": 80}], "team-a")
    apply_service([{"name": "grpc", "port": 90}], "team-b")
    live = core.read_namespaced_service("web", "default")
    assert [p.port for p in live.spec.ports] == [80, 90]
    entry = next(e for e in live.metadata.managed_fields if e.manager == "team-a")
    assert entry.fields_v1 == {"f:spec": {"f:ports": {'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:name": {}, "f:port": {}}}}}
    apply_service([], "team-a")
    assert [p.port for p in core.read_namespaced_service("web", "default").spec.ports] == [90]


def test_client_side_apply_then_server_side_apply_conflicts_until_forced(custom):
    custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, virtual_service(),
                                           field_manager="kubectl-client-side-apply")
    with pytest.raises(ApiException) as conflict:
        apply(custom, virtual_service(weights=(0, 100)), manager="kubectl")
    causes = status_of(conflict.value)["details"]["causes"]
    assert [c["field"] for c in causes] == [".spec.http"]
    code, forced = apply(custom, virtual_service(weights=(0, 100)), manager="kubectl", force=True)
    assert code == 200 and forced["spec"]["http"][0]["route"][0]["weight"] == 0


def test_managed_fields_sent_by_a_client_replace_the_recorded_ones(custom):
    apply(custom, virtual_service(), manager="meshops")
    custom.patch_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews",
                                          [{"op": "replace", "path": "/metadata/managedFields", "value": [{}]}],
                                          _content_type="application/json-patch+json")
    assert "managedFields" not in read(custom)["metadata"]
    assert json.dumps(read(custom)["spec"]) == json.dumps(virtual_service()["spec"])


def test_a_granular_map_conflicts_per_key_not_as_a_whole(custom):
    apply(custom, virtual_service(), manager="meshops")
    other_key = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualService",
                 "metadata": {"name": "reviews", "namespace": "bookinfo", "labels": {"team": "reviews"}}}
    assert apply(custom, other_key, manager="team-labels")[0] == 200
    same_key = {**other_key, "metadata": {**other_key["metadata"], "labels": {"app": "ratings"}}}
    with pytest.raises(ApiException) as conflict:
        apply(custom, same_key, manager="team-labels")
    assert [c["field"] for c in status_of(conflict.value)["details"]["causes"]] == [".metadata.labels.app"]
    assert read(custom)["metadata"]["labels"] == {"app": "reviews", "team": "reviews"}
