"""Exact analysis values: ten minutes of synthetic mesh history backfilled with promtool, queried at fixed times.

The history is recorded from the same `TrafficSimulator` the live tests scrape, driven by a manual
clock one sample per second from T0 = 2024-01-01T00:00:00Z, and written into Prometheus's TSDB with
`promtool tsdb create-blocks-from openmetrics` before the server starts. Expected values follow from
the settings alone (ratios are exact; counts too, since samples sit on the window edges). Tests
target Debian's Prometheus 2.42, whose range selectors include both ends.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from meshops.source.envconfig import EnvConfig
from meshops.sim.prometheus import LocalPrometheus
from meshops.rollout.analysis import AnalysisTarget, Outcome, analyze
from meshops.rollout.policy import StableComparison, load_policy
from meshops.sim.traffic import History, ManualClock, TrafficSimulator, fixed_latency

pytestmark = pytest.mark.prometheus

T0 = 1_704_067_200.0
END = 600  # seconds of history
RATINGS_BREAKS = 300  # ratings-v2 starts answering 10 % 5xx here
DETAILS_STARTS = 400  # details-v2 gets its first traffic here
# Series no sidecar writes: a canary whose request counter holds NaN samples, and one counted
# without its duration histogram (dropped by relabelling), both at 10 requests/s.
ODD_SERIES = ("nan-v2", "nohisto-v2")


def _odd_series() -> list[str]:
    labels = '{{reporter="destination",destination_workload="{}",destination_workload_namespace="bookinfo",response_code="200"}}'
    lines = []
    for workload in ODD_SERIES:
        for second in range(1, END + 1):
            value = "NaN" if workload == "nan-v2" else f"{10.0 * second!r}"
            lines.append(f"istio_requests_total{labels.format(workload)} {value} {T0 + second:.3f}")
    return lines


def record_history() -> str:
    clock = ManualClock(T0)
    mesh = TrafficSimulator(namespace="bookinfo", clock=clock)
    mesh.set_service("reviews", rps=100, weights={"v1": 90, "v2": 10})
    mesh.set_workload("reviews-v1", error_share=0.01, latency=fixed_latency(30))
    mesh.set_workload("reviews-v2", error_share=0.052, latency=fixed_latency(300))
    mesh.set_service("ratings", rps=50, weights={"v1": 50, "v2": 50})
    mesh.set_service("details", rps=100, weights={"v1": 100, "v2": 0})
    mesh.set_service("ambient", rps=100, weights={"v1": 90, "v2": 10})
    for version in ("v1", "v2"):  # ambient mode: no sidecars, a waypoint proxy reports the requests
        mesh.set_workload(f"ambient-{version}", reporters=("waypoint",))
    history = History(mesh)
    for second in range(1, END + 1):
        clock.set(T0 + second)
        if second == RATINGS_BREAKS:
            mesh.set_workload("ratings-v2", error_share=0.1)
        if second == DETAILS_STARTS:
            mesh.set_weights("details", {"v1": 90, "v2": 10})
        history.capture(T0 + second)
    text = history.openmetrics()
    durations = text.index("# HELP istio_request_duration_milliseconds")
    return text[:durations] + "\n".join(_odd_series()) + "\n" + text[durations:]


@pytest.fixture(scope="module")
def server(prometheus_binary):
    instance = LocalPrometheus(binary=prometheus_binary)
    instance.backfill(record_history())
    with instance:
        yield instance


@pytest.fixture(scope="module")
def policy():
    config = EnvConfig(
        name="test",
        file="environments/test/meshops.yaml",
        data={"rollout": {"window": "1m", "minRequests": 100, "successRate": {"min": 99}, "latency": {"percentile": 99, "max": 400}}},
    )
    return load_policy(config)


def judge(server, policy, service: str, seconds: float):
    target = AnalysisTarget.of(policy, service=service, namespace="bookinfo", canary="v2", stable="v1")
    return analyze(metrics=server.client(), policy=policy, target=target, at=T0 + seconds)


def test_exact_success_rate_and_request_count_at_a_fixed_time(server, policy):
    result = judge(server, policy, "reviews", 200)
    count, success = result.check("request-count"), result.check("success-rate")
    assert count.value == pytest.approx(600.0, rel=1e-9)  # 10 rps over 1m
    assert count.reason == "600 requests to canary reviews-v2 in 1m ≥ min 100"
    assert success.value == pytest.approx(94.8, abs=1e-9)
    assert success.reason == "success rate 94.8% < min 99%"
    assert result.decision is Outcome.FAIL and result.at == T0 + 200


def test_exact_latency_percentiles_follow_istio_buckets(server, policy):
    p99 = judge(server, policy, "reviews", 200).check("latency")
    assert p99.value == pytest.approx(497.5, abs=1e-9) and p99.reason == "p99 latency 497.5ms > max 400ms"
    p50 = judge(server, replace(policy, latency_percentile=50.0), "reviews", 200).check("latency")
    assert p50.value == pytest.approx(375.0, abs=1e-9) and p50.reason == "p50 latency 375ms ≤ max 400ms"


def test_exact_comparison_with_stable_over_the_same_window(server, policy):
    comparing = replace(policy, success_rate_min=90.0, latency_max_ms=1000.0,
                        compare_to_stable=StableComparison(max_error_rate_increase=5, max_latency_increase=400))
    result = judge(server, comparing, "reviews", 200)
    errors, latency = result.check("error-rate-vs-stable"), result.check("latency-vs-stable")
    assert errors.value == pytest.approx(4.2, abs=1e-9)
    assert errors.reason == "canary error rate 5.2% vs stable 1%: +4.2 points ≤ max +5 points"
    assert latency.value == pytest.approx(497.5 - 49.75, abs=1e-9)
    assert latency.outcome is Outcome.FAIL
    assert result.decision is Outcome.FAIL


def test_a_regression_is_seen_in_the_window_that_contains_it(server, policy):
    before = judge(server, policy, "ratings", RATINGS_BREAKS - 10)
    assert before.decision is Outcome.PASS and before.check("success-rate").value == pytest.approx(100.0)
    during = judge(server, policy, "ratings", RATINGS_BREAKS + 30)  # half the window at 10 % errors
    assert during.check("success-rate").value == pytest.approx(95.0, abs=1e-9)
    assert during.decision is Outcome.FAIL


def test_a_canary_holds_until_weight_reaches_it_and_then_passes(server, policy):
    idle = judge(server, policy, "details", DETAILS_STARTS - 10)
    assert idle.decision is Outcome.HOLD
    assert idle.check("request-count").reason == "no data: canary details-v2 received no requests in 1m"
    busy = judge(server, policy, "details", DETAILS_STARTS + 70)
    assert busy.decision is Outcome.PASS, busy.summary()


def test_an_evaluation_time_after_the_data_ends_is_no_data_never_a_pass(server, policy):
    result = judge(server, policy, "reviews", END + 100)
    assert result.decision is Outcome.HOLD
    assert {check.outcome for check in result.checks} == {Outcome.HOLD}


def test_the_same_analysis_at_the_same_time_gives_the_same_result(server, policy):
    first = judge(server, policy, "reviews", 250)
    again = analyze(
        metrics=server.client(),
        policy=policy,
        target=first.target,
        at=datetime.fromtimestamp(T0 + 250, tz=timezone.utc),
    )
    assert again.to_dict() == first.to_dict()


def test_odd_names_are_escaped_so_they_mean_no_data_not_bad_promql(server, policy):
    target = AnalysisTarget(service='re"views', namespace="book\\info", canary="v2", stable="v1",
                            canary_workload='re"views-v2', stable_workload='re"views-v1')
    result = analyze(metrics=server.client(), policy=policy, target=target, at=T0 + 200)
    assert result.decision is Outcome.HOLD
    assert result.check("request-count").reason == 'no data: canary re"views-v2 received no requests in 1m'


def test_a_request_count_of_nan_is_reported_as_nan_samples_not_as_an_idle_canary(server, policy):
    result = judge(server, policy, "nan", 200)
    count = result.check("request-count")
    assert result.decision is Outcome.HOLD and count.value is None
    assert count.reason == ('no data: Prometheus answered NaN for the requests to canary nan-v2 in 1m '
                            '(NaN samples in istio_requests_total{reporter="destination"}, not a count of 0)')
    assert "received no requests" not in result.summary()


def test_a_latency_missing_while_requests_are_counted_names_the_missing_histogram(server, policy):
    result = judge(server, policy, "nohisto", 200)
    latency = result.check("latency")
    assert result.check("request-count").outcome is Outcome.PASS
    assert latency.outcome is Outcome.FAIL
    assert latency.reason.startswith("p99 latency of canary nohisto-v2 has no series although 600 requests were counted")
    assert "istio_request_duration_milliseconds_bucket" in latency.reason


def test_an_ambient_canary_is_judged_on_the_waypoints_metrics_when_the_policy_says_so(server, policy):
    assert judge(server, policy, "ambient", 200).check("request-count").reason == (
        "no data: canary ambient-v2 received no requests in 1m")
    waypoint = judge(server, replace(policy, reporter="waypoint"), "ambient", 200)
    assert waypoint.decision is Outcome.PASS, waypoint.summary()
    assert 'reporter="waypoint"' in waypoint.check("success-rate").query
