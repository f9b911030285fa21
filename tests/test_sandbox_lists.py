"""LIST in the sandbox: label and field selectors, limit/continue paging, all-namespaces lists."""
from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

LABELS = {
    "reviews-v1": {"app": "reviews", "version": "v1"},
    "reviews-v2": {"app": "reviews", "version": "v2"},
    "ratings-v1": {"app": "ratings", "version": "v1", "canary": "true"},
    "details": {"app": "details"},
}


@pytest.fixture
def core(sandbox_api_client):
    api = client.CoreV1Api(sandbox_api_client)
    for name, labels in LABELS.items():
        api.create_namespaced_config_map("default", {"metadata": {"name": name, "labels": labels}})
    return api


def names(core, **options) -> list[str]:
    return [cm.metadata.name for cm in core.list_namespaced_config_map("default", **options).items]


@pytest.mark.parametrize("selector, expected", [
    ("app=reviews", ["reviews-v1", "reviews-v2"]),
    ("app==reviews,version=v2", ["reviews-v2"]),
    ("app!=reviews", ["details", "ratings-v1"]),
    ("version in (v1, v3)", ["ratings-v1", "reviews-v1"]),
    ("version notin (v1)", ["details", "reviews-v2"]),
    ("canary", ["ratings-v1"]),
    ("!version", ["details"]),
    ("app in (reviews,ratings),!canary", ["reviews-v1", "reviews-v2"]),
])
def test_label_selectors_equality_and_set_based(core, selector, expected):
    assert names(core, label_selector=selector) == expected


def test_a_malformed_label_selector_is_a_bad_request(core):
    with pytest.raises(ApiException) as refused:
        core.list_namespaced_config_map("default", label_selector="app in reviews")
    assert refused.value.status == 400


def test_field_selector_on_metadata_name(core):
    assert names(core, field_selector="metadata.name=details") == ["details"]
    assert names(core, field_selector="metadata.name!=details") == ["ratings-v1", "reviews-v1", "reviews-v2"]


def test_an_unsupported_field_selector_is_a_bad_request(core):
    with pytest.raises(ApiException) as refused:
        core.list_namespaced_config_map("default", field_selector="data.x=y")
    assert refused.value.status == 400
    assert json.loads(refused.value.body)["message"] == "field label not supported: data.x"


def test_limit_and_continue_page_through_everything_once(core):
    seen, token, pages = [], None, 0
    while True:
        page = core.list_namespaced_config_map("default", limit=3, _continue=token)
        seen += [cm.metadata.name for cm in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    assert pages == 2
    assert seen == sorted(LABELS)


def test_a_limited_page_says_how_many_items_remain(core):
    page = core.list_namespaced_config_map("default", limit=1)
    assert page.metadata.remaining_item_count == len(LABELS) - 1 and page.metadata._continue


def test_paging_combines_with_a_label_selector(core):
    first = core.list_namespaced_config_map("default", limit=1, label_selector="version")
    rest = core.list_namespaced_config_map("default", label_selector="version", _continue=first.metadata._continue)
    assert [cm.metadata.name for cm in first.items + rest.items] == ["ratings-v1", "reviews-v1", "reviews-v2"]


def test_a_garbled_continue_token_is_a_bad_request(core):
    with pytest.raises(ApiException) as refused:
        core.list_namespaced_config_map("default", _continue="not-a-token")
    assert refused.value.status == 400


def test_listing_across_namespaces_orders_by_namespace_then_name(core):
    core.create_namespace({"metadata": {"name": "aaa"}})
    core.create_namespaced_config_map("aaa", {"metadata": {"name": "zzz"}})
    listed = core.list_config_map_for_all_namespaces()
    assert [(cm.metadata.namespace, cm.metadata.name) for cm in listed.items][:2] == [("aaa", "zzz"), ("default", "details")]


def test_list_resource_version_is_the_latest_write(core):
    created = core.create_namespaced_config_map("default", {"metadata": {"name": "newest"}})
    assert core.list_namespaced_config_map("default").metadata.resource_version == created.metadata.resource_version
