"""The sandbox through the official kubernetes client: typed CoreV1Api, CustomObjectsApi, DynamicClient."""
from __future__ import annotations

import json

import pytest
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

GROUP, VERSION, PLURAL = "networking.istio.io", "v1", "virtualservices"


def virtual_service(name: str = "reviews", namespace: str = "bookinfo", weights: tuple[int, int] = (90, 10)) -> dict:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "reviews"}},
        "spec": {
            "hosts": ["reviews"],
            "http": [{"route": [
                {"destination": {"host": "reviews", "subset": "v1"}, "weight": weights[0]},
                {"destination": {"host": "reviews", "subset": "v2"}, "weight": weights[1]},
            ]}],
        },
    }


def status_of(error: ApiException) -> dict:
    return json.loads(error.body)


@pytest.fixture
def core(sandbox_api_client):
    return client.CoreV1Api(sandbox_api_client)


@pytest.fixture
def custom(istio_sandbox, sandbox_api_client):
    api = client.CustomObjectsApi(sandbox_api_client)
    client.CoreV1Api(sandbox_api_client).create_namespace({"metadata": {"name": "bookinfo"}})
    return api


def test_typed_client_creates_reads_lists_and_deletes_configmaps(core):
    created = core.create_namespaced_config_map("default", {"metadata": {"name": "settings"}, "data": {"mode": "fast"}})
    assert created.metadata.uid and created.metadata.creation_timestamp
    assert core.read_namespaced_config_map("settings", "default").data == {"mode": "fast"}
    assert [cm.metadata.name for cm in core.list_namespaced_config_map("default").items] == ["settings"]
    core.delete_namespaced_config_map("settings", "default")
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("settings", "default")
    assert missing.value.status == 404
    assert status_of(missing.value)["reason"] == "NotFound"
    assert status_of(missing.value)["message"] == 'configmaps "settings" not found'


def test_delete_of_a_missing_object_is_404_not_found(core):
    with pytest.raises(ApiException) as missing:
        core.delete_namespaced_config_map("nothing", "default")
    assert missing.value.status == 404 and status_of(missing.value)["reason"] == "NotFound"


def test_create_of_an_existing_name_is_409_already_exists(core):
    core.create_namespaced_config_map("default", {"metadata": {"name": "once"}})
    with pytest.raises(ApiException) as twice:
        core.create_namespaced_config_map("default", {"metadata": {"name": "once"}})
    assert twice.value.status == 409
    assert status_of(twice.value)["reason"] == "AlreadyExists"
    assert status_of(twice.value)["details"] == {"name": "once", "kind": "configmaps"}


def test_write_into_a_missing_namespace_is_rejected_like_a_real_server(core):
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_config_map("nowhere", {"metadata": {"name": "x"}})
    assert refused.value.status == 404
    assert status_of(refused.value)["message"] == 'namespaces "nowhere" not found'
    assert status_of(refused.value)["details"]["kind"] == "namespaces"


def test_resource_versions_increase_with_every_write(core):
    first = core.create_namespaced_config_map("default", {"metadata": {"name": "counter"}, "data": {"n": "1"}})
    second = core.patch_namespaced_config_map("counter", "default", {"data": {"n": "2"}},
                                              _content_type="application/merge-patch+json")
    other = core.create_namespaced_config_map("default", {"metadata": {"name": "other"}})
    versions = [int(o.metadata.resource_version) for o in (first, second, other)]
    assert versions == sorted(versions) and len(set(versions)) == 3


def test_a_write_with_a_stale_resource_version_gets_409_conflict(core):
    live = core.create_namespaced_config_map("default", {"metadata": {"name": "guarded"}, "data": {"a": "1"}})
    core.patch_namespaced_config_map("guarded", "default", {"data": {"a": "2"}},
                                     _content_type="application/merge-patch+json")
    live.data = {"a": "3"}
    with pytest.raises(ApiException) as stale:
        core.replace_namespaced_config_map("guarded", "default", live)
    assert stale.value.status == 409
    assert status_of(stale.value)["reason"] == "Conflict"
    assert "the object has been modified" in status_of(stale.value)["message"]


def test_two_clients_writing_the_same_read_lose_nothing(sandbox_kubeconfig, core):
    from kubernetes import config

    core.create_namespaced_config_map("default", {"metadata": {"name": "shared"}, "data": {"base": "1"}})
    other = client.CoreV1Api(config.new_client_from_config(config_file=str(sandbox_kubeconfig)))
    mine, theirs = core.read_namespaced_config_map("shared", "default"), other.read_namespaced_config_map("shared", "default")
    mine.data["mine"] = "yes"
    theirs.data["theirs"] = "yes"
    core.replace_namespaced_config_map("shared", "default", mine)
    with pytest.raises(ApiException) as second:
        other.replace_namespaced_config_map("shared", "default", theirs)
    assert second.value.status == 409
    retried = other.read_namespaced_config_map("shared", "default")
    retried.data["theirs"] = "yes"
    other.replace_namespaced_config_map("shared", "default", retried)
    assert core.read_namespaced_config_map("shared", "default").data == {"base": "1", "mine": "yes", "theirs": "yes"}


def test_custom_objects_api_round_trips_a_virtual_service(custom):
    custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, virtual_service())
    live = custom.get_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews")
    assert live["spec"]["http"][0]["route"][1]["weight"] == 10
    assert live["metadata"]["generation"] == 1
    listed = custom.list_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL)
    assert listed["kind"] == "VirtualServiceList" and [i["metadata"]["name"] for i in listed["items"]] == ["reviews"]


def test_generation_moves_on_spec_changes_only(custom):
    custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, virtual_service())
    labelled = custom.patch_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews",
                                                     {"metadata": {"labels": {"team": "reviews"}}})
    assert labelled["metadata"]["generation"] == 1
    reweighted = custom.patch_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews",
                                                       {"spec": {"hosts": ["reviews", "reviews.bookinfo"]}})
    assert reweighted["metadata"]["generation"] == 2


def test_a_write_that_changes_nothing_keeps_the_resource_version(custom):
    created = custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, virtual_service())
    again = custom.patch_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews",
                                                  {"spec": {"hosts": ["reviews"]}})
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_every_served_version_of_a_crd_reads_the_same_object(custom):
    custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, virtual_service())
    old = custom.get_namespaced_custom_object(GROUP, "v1beta1", "bookinfo", PLURAL, "reviews")
    assert old["apiVersion"] == "networking.istio.io/v1beta1"
    assert old["spec"] == custom.get_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews")["spec"]


def test_json_patch_and_merge_patch_both_apply(custom):
    custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, virtual_service())
    custom.patch_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews",
                                          [{"op": "replace", "path": "/spec/http/0/route/0/weight", "value": 75},
                                           {"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 25}],
                                          _content_type="application/json-patch+json")
    live = custom.get_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews")
    assert [r["weight"] for r in live["spec"]["http"][0]["route"]] == [75, 25]


def test_a_failed_json_patch_test_operation_changes_nothing(custom):
    created = custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, virtual_service())
    with pytest.raises(ApiException) as failed:
        custom.patch_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews",
                                              [{"op": "test", "path": "/spec/hosts/0", "value": "ratings"},
                                               {"op": "replace", "path": "/spec/hosts/0", "value": "x"}],
                                              _content_type="application/json-patch+json")
    assert failed.value.status == 422
    live = custom.get_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews")
    assert live["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_strategic_merge_patch_is_refused_for_custom_resources(custom):
    custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, virtual_service())
    with pytest.raises(ApiException) as refused:
        custom.patch_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, "reviews", {"spec": {}},
                                              _content_type="application/strategic-merge-patch+json")
    assert refused.value.status == 415 and status_of(refused.value)["reason"] == "UnsupportedMediaType"


def test_strategic_merge_patch_merges_service_ports_by_port(core):
    core.create_namespaced_service("default", {"metadata": {"name": "web"},
                                               "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]}})
    core.patch_namespaced_service("web", "default", {"spec": {"ports": [{"name": "grpc", "port": 90}]}},
                                  _content_type="application/strategic-merge-patch+json")
    ports = core.read_namespaced_service("web", "default").spec.ports
    assert [(p.name, p.port, p.protocol) for p in ports] == [("http", 80, "TCP"), ("grpc", 90, "TCP")]


def test_dynamic_client_discovers_and_lists_custom_resources(custom, sandbox_api_client, tmp_path):
    custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, virtual_service())
    dyn = dynamic.DynamicClient(sandbox_api_client, cache_file=str(tmp_path / "discovery.json"))
    resource = dyn.resources.get(api_version=f"{GROUP}/{VERSION}", kind="VirtualService")
    listed = resource.get(namespace="bookinfo")
    assert [item.metadata.name for item in listed.items] == ["reviews"]
    patched = resource.patch(name="reviews", namespace="bookinfo", body={"spec": {"hosts": ["reviews", "x"]}},
                             content_type="application/merge-patch+json")
    assert patched.spec.hosts == ["reviews", "x"]


def test_deleting_a_crd_removes_its_kind_and_objects(custom, sandbox_api_client):
    custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, virtual_service())
    extensions = client.ApiextensionsV1Api(sandbox_api_client)
    extensions.delete_custom_resource_definition("virtualservices.networking.istio.io")
    with pytest.raises(ApiException) as gone:
        custom.list_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL)
    assert gone.value.status == 404
    groups = client.ApisApi(sandbox_api_client).get_api_versions()
    resources = client.CustomObjectsApi(sandbox_api_client).get_api_resources(GROUP, VERSION)
    assert GROUP in [g.name for g in groups.groups]
    assert "virtualservices" not in [r.name for r in resources.resources]


def test_services_get_the_defaults_clients_rely_on(core):
    service = core.create_namespaced_service("default", {"metadata": {"name": "api"},
                                                         "spec": {"ports": [{"port": 8080}], "selector": {"app": "api"}}})
    assert service.spec.type == "ClusterIP" and service.spec.cluster_ip.startswith("10.")
    assert (service.spec.ports[0].protocol, service.spec.ports[0].target_port) == ("TCP", 8080)


def test_secret_string_data_is_stored_base64_encoded(core):
    secret = core.create_namespaced_secret("default", {"metadata": {"name": "token"}, "stringData": {"key": "s3cr3t"}})
    assert secret.data == {"key": "czNjcjN0"} and secret.string_data is None and secret.type == "Opaque"


def test_an_object_with_finalizers_is_only_marked_until_they_are_removed(core):
    core.create_namespaced_config_map("default", {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
    core.delete_namespaced_config_map("held", "default")
    marked = core.read_namespaced_config_map("held", "default")
    assert marked.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("held", "default", {"metadata": {"finalizers": None}},
                                     _content_type="application/merge-patch+json")
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("held", "default")
    assert gone.value.status == 404
