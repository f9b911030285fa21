"""Fault injection and the request log of the sandbox."""
from __future__ import annotations

import json
import time

import pytest
import urllib3
from kubernetes import client
from kubernetes.client.rest import ApiException

from meshops.sandbox import Fault


@pytest.fixture
def core(sandbox_kubeconfig):
    """A client that does not retry, so each injected failure reaches the test."""
    from kubernetes import config

    configuration = client.Configuration()
    config.load_kube_config(config_file=str(sandbox_kubeconfig), client_configuration=configuration)
    configuration.retries = False
    with client.ApiClient(configuration) as api_client:
        yield client.CoreV1Api(api_client)


def read_default(core):
    return core.read_namespace("default")


def outcomes(core, count: int) -> list[int]:
    codes = []
    for _ in range(count):
        try:
            read_default(core)
            codes.append(200)
        except ApiException as error:
            codes.append(error.status)
    return codes


def test_every_matching_request_fails_when_no_share_or_nth_is_given(sandbox, core):
    sandbox.faults.add(Fault(status=500, verbs={"get"}, resources={"namespaces"}))
    with pytest.raises(ApiException) as failed:
        read_default(core)
    assert failed.value.status == 500 and json.loads(failed.value.body)["reason"] == "InternalError"


def test_nth_fails_exactly_the_chosen_matching_requests(sandbox, core):
    sandbox.faults.add(Fault(status=503, nth={2, 3}, verbs={"get"}))
    assert outcomes(core, 4) == [200, 503, 503, 200]


def test_a_share_fails_about_that_fraction_repeatably(sandbox, core):
    sandbox.faults.add(Fault(status=500, share=0.25, seed=7, verbs={"get"}))
    first = outcomes(core, 200)
    sandbox.faults.clear()
    sandbox.faults.add(Fault(status=500, share=0.25, seed=7, verbs={"get"}))
    assert outcomes(core, 200) == first
    assert 30 <= first.count(500) <= 70


def test_429_carries_retry_after(sandbox, core):
    sandbox.faults.add(Fault(status=429, retry_after=3, times=1))
    with pytest.raises(ApiException) as throttled:
        read_default(core)
    assert throttled.value.status == 429 and throttled.value.headers["Retry-After"] == "3"
    assert json.loads(throttled.value.body)["details"] == {"retryAfterSeconds": 3}
    assert read_default(core).metadata.name == "default"


def test_faults_are_scoped_by_verb_and_resource(sandbox, core):
    sandbox.faults.add(Fault(status=500, verbs={"patch"}, resources={"configmaps"}))
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    core.patch_namespace("default", {"metadata": {"labels": {"x": "y"}}}, _content_type="application/merge-patch+json")
    with pytest.raises(ApiException):
        core.patch_namespaced_config_map("c", "default", {"data": {"a": "b"}}, _content_type="application/merge-patch+json")


def test_a_delay_slows_the_answer_without_failing_it(sandbox, core):
    sandbox.faults.add(Fault(delay=0.3, verbs={"get"}, times=1))
    started = time.perf_counter()
    assert read_default(core).metadata.name == "default"
    assert time.perf_counter() - started >= 0.3


def test_a_dropped_connection_gets_no_answer(sandbox, core):
    sandbox.faults.add(Fault(drop_connection=True, verbs={"get"}, times=1))
    with pytest.raises(urllib3.exceptions.ProtocolError):
        read_default(core)
    assert read_default(core).metadata.name == "default"


def test_clearing_faults_restores_normal_answers(sandbox, core):
    sandbox.faults.add(Fault(status=500))
    sandbox.faults.clear()
    assert read_default(core).metadata.name == "default"


def test_a_fault_without_anything_to_do_is_refused():
    with pytest.raises(ValueError):
        Fault(verbs={"get"})


def test_the_request_log_counts_calls_by_verb_resource_and_status(sandbox, core):
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    core.list_namespaced_config_map("default")
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("missing", "default")
    assert sandbox.log.count(verb="create", resource="configmaps", status=201) == 1
    assert sandbox.log.count(verb="list", resource="configmaps") == 1
    assert sandbox.log.count(verb="get", status=404) == 1
    assert sandbox.log.counts()[("create", "configmaps", 201)] == 1


def test_the_request_log_records_dry_run_content_type_and_manager(sandbox, core):
    core.patch_namespace("default", {"metadata": {"labels": {"a": "b"}}}, dry_run="All", field_manager="tester",
                         _content_type="application/merge-patch+json")
    [entry] = sandbox.log.entries(verb="patch")
    assert (entry.dry_run, entry.content_type, entry.field_manager, entry.namespace, entry.name) == (
        True, "application/merge-patch+json", "tester", None, "default")


def test_injected_failures_are_marked_in_the_log(sandbox, core):
    sandbox.faults.add(Fault(status=503, nth=1))
    outcomes(core, 2)
    assert [e.injected for e in sandbox.log.entries(verb="get")] == [True, False]


def test_clearing_the_log_starts_counting_again(sandbox, core):
    read_default(core)
    sandbox.log.clear()
    assert sandbox.log.count() == 0


def test_an_unknown_log_filter_is_an_error_not_a_zero(sandbox):
    with pytest.raises(TypeError):
        sandbox.log.count(verbs="get")
