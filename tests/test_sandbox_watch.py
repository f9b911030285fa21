"""Watch in the sandbox, through the official client's `watch.Watch`."""
from __future__ import annotations

import threading
import time

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from test_sandbox_client import GROUP, PLURAL, VERSION, virtual_service


@pytest.fixture
def core(sandbox_api_client):
    return client.CoreV1Api(sandbox_api_client)


def events(func, *args, **kwargs) -> list[tuple[str, str]]:
    return [(e["type"], e["raw_object"]["metadata"]["name"]) for e in watch.Watch().stream(func, *args, **kwargs)]


def test_a_watch_from_a_list_resource_version_replays_later_changes(core):
    core.create_namespaced_config_map("default", {"metadata": {"name": "before"}})
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", {"metadata": {"name": "cfg"}, "data": {"a": "1"}})
    core.patch_namespaced_config_map("cfg", "default", {"data": {"a": "2"}}, _content_type="application/merge-patch+json")
    core.delete_namespaced_config_map("cfg", "default")
    assert events(core.list_namespaced_config_map, "default", resource_version=start, timeout_seconds=1) == [
        ("ADDED", "cfg"), ("MODIFIED", "cfg"), ("DELETED", "cfg")]


def test_a_watch_without_resource_version_starts_with_the_current_objects(core):
    core.create_namespaced_config_map("default", {"metadata": {"name": "one"}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "two"}})
    assert events(core.list_namespaced_config_map, "default", timeout_seconds=1) == [("ADDED", "one"), ("ADDED", "two")]


def test_a_watch_sees_changes_made_while_it_waits(core):
    received: list[tuple[str, str]] = []

    def consume() -> None:
        for event in watch.Watch().stream(core.list_namespaced_config_map, "default", timeout_seconds=3):
            received.append((event["type"], event["object"].metadata.name))
            if len(received) == 2:
                return

    consumer = threading.Thread(target=consume)
    consumer.start()
    time.sleep(0.3)
    core.create_namespaced_config_map("default", {"metadata": {"name": "live"}})
    core.delete_namespaced_config_map("live", "default")
    consumer.join(timeout=5)
    assert received == [("ADDED", "live"), ("DELETED", "live")]


def test_an_object_leaving_the_label_selector_is_sent_as_deleted(core):
    core.create_namespaced_config_map("default", {"metadata": {"name": "tagged", "labels": {"tier": "web"}}})
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.patch_namespaced_config_map("tagged", "default", {"metadata": {"labels": {"tier": "db"}}},
                                     _content_type="application/merge-patch+json")
    core.patch_namespaced_config_map("tagged", "default", {"metadata": {"labels": {"tier": "web"}}},
                                     _content_type="application/merge-patch+json")
    assert events(core.list_namespaced_config_map, "default", label_selector="tier=web", resource_version=start,
                  timeout_seconds=1) == [("DELETED", "tagged"), ("ADDED", "tagged")]


def test_a_watch_only_sees_its_namespace(core):
    core.create_namespace({"metadata": {"name": "other"}})
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("other", {"metadata": {"name": "elsewhere"}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "here"}})
    assert events(core.list_namespaced_config_map, "default", resource_version=start, timeout_seconds=1) == [
        ("ADDED", "here")]


def test_a_resource_version_older_than_the_history_is_410_gone(tmp_path):
    from kubernetes import config
    from meshops.sandbox import SandboxServer

    with SandboxServer(watch_history=2) as small:
        core = client.CoreV1Api(config.new_client_from_config(config_file=str(small.write_kubeconfig(tmp_path / "kc"))))
        start = core.list_namespaced_config_map("default").metadata.resource_version
        for index in range(3):
            core.create_namespaced_config_map("default", {"metadata": {"name": f"cm{index}"}})
        with pytest.raises(ApiException) as gone:
            events(core.list_namespaced_config_map, "default", resource_version=start, timeout_seconds=1)
    assert gone.value.status == 410
    assert "too old resource version" in gone.value.reason


def test_watching_custom_resources(istio_sandbox, sandbox_api_client, core):
    core.create_namespace({"metadata": {"name": "bookinfo"}})
    custom = client.CustomObjectsApi(sandbox_api_client)
    start = custom.list_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL)["metadata"]["resourceVersion"]
    custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", PLURAL, virtual_service())
    assert events(custom.list_namespaced_custom_object, GROUP, VERSION, "bookinfo", PLURAL, resource_version=start,
                  timeout_seconds=1) == [("ADDED", "reviews")]
