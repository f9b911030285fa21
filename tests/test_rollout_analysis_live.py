"""The analysis against a real Prometheus scraping the synthetic mesh every second (10 s windows).

All scenarios run side by side as services of their own, set up once for the module, so the whole
module waits for Prometheus's first scrape and one full window only once.
"""
from __future__ import annotations

import re
import textwrap
from dataclasses import replace

import pytest

from meshops.source.envconfig import load_env_config
from meshops.rollout.analysis import AnalysisTarget, Outcome, analyze
from meshops.rollout.policy import StableComparison, load_policy
from meshops.metrics.prometheus import PrometheusClient
from meshops.metrics.source import QueryStatus
from meshops.source.repo import WorkTree
from meshops.sim.traffic import fixed_latency

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

NAMESPACE = "bookinfo"
WINDOW = "10s"
# Live scrapes on a loaded machine drift by a few parts per million (scrape jitter at the window's
# edges); exact values are asserted with backfilled data in test_rollout_analysis_backfill.py.
LIVE = 0.01
POLICY = f"""
rollout:
  window: {WINDOW}
  minRequests: 20
  onLowTraffic: hold
  successRate: {{min: 99}}
  latency: {{percentile: 99, max: 400}}
"""


@pytest.fixture(scope="module")
def mesh(traffic, prometheus):
    """Every scenario's traffic, with one full window of samples in Prometheus."""
    scenarios = {
        # service: (total rps, canary weight, canary settings, stable settings)
        "an-healthy": (200, 10, {}, {}),
        "an-erroring": (200, 10, {"error_share": 0.05}, {}),
        "an-slow": (200, 10, {"latency": fixed_latency(450)}, {}),
        "an-idle": (200, 0, {}, {}),
        "an-trickle": (100, 0.5, {}, {}),
        "an-compared": (200, 50, {"error_share": 0.025, "latency": fixed_latency(300)},
                        {"error_share": 0.01, "latency": fixed_latency(30)}),
    }
    for service, (rps, canary_weight, canary, stable) in scenarios.items():
        traffic.set_service(service, rps=rps, weights={"v1": 100 - canary_weight, "v2": canary_weight})
        traffic.set_workload(f"{service}-v1", **stable)
        traffic.set_workload(f"{service}-v2", **canary)
    prometheus.wait_for_series(
        f'min(count_over_time(istio_requests_total{{reporter="destination",destination_service_name=~"an-.*"}}[{WINDOW}]))',
        timeout=60,
        ready=lambda result: result.ok and bool(result.samples) and result.samples[0].value >= 10,
    )
    return traffic


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    root = tmp_path_factory.mktemp("config")
    config = root / "environments" / "test" / "meshops.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(textwrap.dedent(POLICY).lstrip())
    return load_policy(load_env_config(WorkTree(root), "test"))


def analysis(prometheus, policy, service, **options):
    target = AnalysisTarget.of(policy, service=service, namespace=NAMESPACE, canary="v2", stable="v1")
    return analyze(metrics=prometheus.client(), policy=policy, target=target, **options)


def test_a_healthy_canary_passes_every_check(mesh, prometheus, policy):
    result = analysis(prometheus, policy, "an-healthy")
    assert result.decision is Outcome.PASS, result.summary()
    assert [check.outcome for check in result.checks] == [Outcome.PASS] * 3
    assert result.check("success-rate").value == pytest.approx(100.0)
    assert result.check("request-count").value > 100  # 20 rps over 10 s
    assert result.summary() == "pass: an-healthy-v2: all checks passed"


def test_five_percent_errors_fail_the_success_rate_with_the_measured_value(mesh, prometheus, policy):
    result = analysis(prometheus, policy, "an-erroring")
    assert result.decision is Outcome.FAIL
    success = result.check("success-rate")
    assert success.outcome is Outcome.FAIL and success.value == pytest.approx(95.0, abs=LIVE)
    assert re.fullmatch(r"success rate 95(\.\d+)?% < min 99%", success.reason), success.reason
    assert 'destination_workload="an-erroring-v2"' in success.query and "[10s]" in success.query
    assert result.check("latency").outcome is Outcome.PASS
    assert result.failed == (success,) and result.inconclusive == ()


def test_a_latency_regression_fails_the_latency_check(mesh, prometheus, policy):
    result = analysis(prometheus, policy, "an-slow")
    latency = result.check("latency")
    assert result.decision is Outcome.FAIL and latency.outcome is Outcome.FAIL
    # every request takes 450 ms: Istio's 250-500 bucket, interpolated to its 99th percent
    assert latency.value == pytest.approx(497.5, abs=LIVE)
    assert re.fullmatch(r"p99 latency 497\.\d+ms > max 400ms", latency.reason), latency.reason
    assert "histogram_quantile(0.99" in latency.query


def test_a_canary_without_traffic_holds_and_is_never_passed(mesh, prometheus, policy):
    result = analysis(prometheus, policy, "an-idle")
    assert result.decision is Outcome.HOLD
    count = result.check("request-count")
    assert count.value == 0 and count.status is QueryStatus.NO_DATA
    assert count.reason == "no data: canary an-idle-v2 received no requests in 10s"
    assert result.check("success-rate").outcome is Outcome.HOLD
    assert result.check("success-rate").reason == "not judged: no data: canary an-idle-v2 received no requests in 10s"


def test_a_canary_without_traffic_fails_when_the_policy_says_so(mesh, prometheus, policy):
    result = analysis(prometheus, replace(policy, on_low_traffic="fail"), "an-idle")
    assert result.decision is Outcome.FAIL
    assert {check.outcome for check in result.checks} == {Outcome.FAIL}


def test_too_few_requests_hold_with_the_count(mesh, prometheus, policy):
    result = analysis(prometheus, policy, "an-trickle")
    count = result.check("request-count")
    assert result.decision is Outcome.HOLD and count.outcome is Outcome.HOLD
    assert 0 < count.value < 20
    assert count.reason.startswith("only ") and count.reason.endswith("requests to canary an-trickle-v2 in 10s (< min 20)")


def test_a_canary_worse_than_stable_fails_the_comparison_even_within_absolute_bounds(mesh, prometheus, policy):
    lenient = replace(policy, success_rate_min=95.0, latency_max_ms=1000.0,
                      compare_to_stable=StableComparison(max_error_rate_increase=1, max_latency_increase=100))
    result = analysis(prometheus, lenient, "an-compared")
    assert result.check("success-rate").outcome is Outcome.PASS  # 97.5 % >= 95 %
    errors = result.check("error-rate-vs-stable")
    assert errors.outcome is Outcome.FAIL and errors.value == pytest.approx(1.5, abs=LIVE)
    assert re.fullmatch(r"canary error rate 2\.\d+% vs stable (1|0\.9\d+)%: \+1\.\d+ points > max \+1 points", errors.reason), errors.reason
    latency = result.check("latency-vs-stable")
    # canary 300 ms -> 497.5 (250-500 bucket); stable 30 ms -> 49.75 (25-50 bucket)
    assert latency.outcome is Outcome.FAIL and latency.value == pytest.approx(447.75, abs=LIVE)
    assert result.decision is Outcome.FAIL


def test_a_canary_as_good_as_stable_passes_the_comparison(mesh, prometheus, policy):
    comparing = replace(policy, compare_to_stable=StableComparison(max_error_rate_increase=0.5, max_latency_increase=10))
    result = analysis(prometheus, comparing, "an-healthy")
    assert result.decision is Outcome.PASS, result.summary()
    assert result.check("error-rate-vs-stable").value == pytest.approx(0.0, abs=LIVE)
    assert result.check("latency-vs-stable").value == pytest.approx(0.0, abs=LIVE)


def test_custom_checks_are_templated_and_missing_data_or_many_series_never_pass(mesh, prometheus, policy, tmp_path):
    config = tmp_path / "environments" / "test" / "meshops.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(textwrap.dedent(POLICY).lstrip() + textwrap.indent(textwrap.dedent("""
        checks:
          - name: canary-rps
            query: sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="$namespace",destination_workload="$canary_workload"}[$window]))
            min: 10
          - name: rps-by-version
            query: sum by (destination_workload) (rate(istio_requests_total{reporter="destination",destination_service_name="$service"}[$window]))
            max: 1000
          - name: queue-depth
            query: max(app_queue_depth{app="$service",version="$canary"})
            max: 100
            onNoData: hold
        """), "  "))
    custom = load_policy(load_env_config(WorkTree(tmp_path), "test"))
    result = analysis(prometheus, custom, "an-healthy")
    rps = result.check("canary-rps")
    assert rps.outcome is Outcome.PASS and rps.value == pytest.approx(20.0, rel=0.15)  # rate() of a live scrape on a busy machine
    assert 'destination_workload="an-healthy-v2"}[10s]' in rps.query
    several = result.check("rps-by-version")  # a query mistake, not the canary's: inconclusive until fixed
    assert several.outcome is Outcome.INCONCLUSIVE and several.status is QueryStatus.MULTIPLE_SERIES
    assert several.reason.startswith("expected one number but the query returned 2 series")
    queue = result.check("queue-depth")
    assert queue.outcome is Outcome.HOLD and queue.query == 'max(app_queue_depth{app="an-healthy",version="v2"})'
    assert result.decision is Outcome.INCONCLUSIVE
    assert result.query_count == 1 + 3  # built-ins in one query, each custom check its own


def test_a_stopped_prometheus_makes_every_check_inconclusive_with_its_reason(policy, stopped_prometheus_url):
    url = stopped_prometheus_url
    target = AnalysisTarget.of(policy, service="an-healthy", namespace=NAMESPACE, canary="v2", stable="v1")
    result = analyze(metrics=PrometheusClient(url=url), policy=policy, target=target)
    reason = f"Prometheus unreachable at {url}: connection refused"
    assert result.decision is Outcome.INCONCLUSIVE and result.failed == ()
    assert {(check.outcome, check.reason, check.status) for check in result.checks} == {
        (Outcome.INCONCLUSIVE, reason, QueryStatus.UNREACHABLE)
    }
    assert result.inconclusive == result.checks
    assert result.summary() == f"inconclusive: an-healthy-v2: request-count, success-rate, latency: {reason}"
