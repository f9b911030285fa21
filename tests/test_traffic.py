"""The synthetic mesh: counters that make rate() exact, settings that change at runtime, weighted splits."""
from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from meshops.sim.traffic import (
    DURATION_BUCKETS_MS,
    History,
    ManualClock,
    TrafficSettings,
    TrafficSimulator,
    fixed_latency,
)

T0 = 1_704_067_200.0  # 2024-01-01T00:00:00Z


def simulator(**settings) -> tuple[TrafficSimulator, ManualClock]:
    clock = ManualClock(T0)
    return TrafficSimulator(namespace="bookinfo", clock=clock, **settings), clock


def series(simulator: TrafficSimulator, workload: str, code: str, reporter: str = "destination") -> float | None:
    counters, _ = simulator.samples()
    for sample in counters:
        labels = sample.labels
        if (labels["destination_workload"], labels["response_code"], labels["reporter"]) == (workload, code, reporter):
            return sample.value
    return None


def test_counters_grow_linearly_with_the_clock():
    mesh, clock = simulator()
    mesh.set_workload("ratings-v1", rps=12.5, error_share=0.2)
    clock.set(T0 + 8)
    assert mesh.requests("ratings-v1") == pytest.approx((100.0, 20.0))
    clock.set(T0 + 16)
    assert mesh.requests("ratings-v1") == pytest.approx((200.0, 40.0))


def test_changing_a_setting_keeps_counters_monotonic_and_applies_from_then_on():
    mesh, clock = simulator()
    mesh.set_workload("ratings-v1", rps=10)
    clock.set(T0 + 10)
    mesh.set_workload("ratings-v1", rps=1, error_share=0.5)
    assert mesh.requests("ratings-v1") == pytest.approx((100.0, 0.0))
    clock.set(T0 + 20)
    assert mesh.requests("ratings-v1") == pytest.approx((110.0, 5.0))


def test_every_request_is_counted_for_both_reporters():
    mesh, clock = simulator()
    mesh.set_workload("ratings-v1", rps=4, error_share=0.25)
    clock.set(T0 + 1)
    assert series(mesh, "ratings-v1", "200", "destination") == series(mesh, "ratings-v1", "200", "source") == 3
    assert series(mesh, "ratings-v1", "503", "destination") == series(mesh, "ratings-v1", "503", "source") == 1


def test_a_workload_without_errors_has_no_5xx_series_as_in_a_real_mesh():
    mesh, clock = simulator()
    mesh.set_workload("ratings-v1", rps=4)
    clock.set(T0 + 1)
    assert series(mesh, "ratings-v1", "200") == 4
    assert series(mesh, "ratings-v1", "503") is None


def test_weights_split_a_service_and_a_canary_at_zero_gets_no_requests():
    mesh, clock = simulator()
    mesh.set_service("reviews", rps=100, weights={"v1": 100, "v2": 0})
    clock.set(T0 + 10)
    assert mesh.requests("reviews-v1") == pytest.approx((1000.0, 0.0))
    assert mesh.requests("reviews-v2") == (0.0, 0.0)
    assert series(mesh, "reviews-v2", "200") is None
    mesh.set_weights("reviews", {"v1": 90, "v2": 10})
    clock.set(T0 + 20)
    assert mesh.requests("reviews-v1") == pytest.approx((1900.0, 0.0))
    assert mesh.requests("reviews-v2") == pytest.approx((100.0, 0.0))


def test_a_callable_weight_source_is_polled_and_a_failing_poll_keeps_the_last_split():
    mesh, clock = simulator()
    route = {"v1": 50, "v2": 50}
    broken = {"now": False}

    def read_virtual_service():
        if broken["now"]:
            raise ConnectionError("API server down")
        return dict(route)

    mesh.set_service("reviews", rps=10, weights=read_virtual_service)
    clock.set(T0 + 10)
    route.update(v1=0, v2=100)
    assert mesh.weights("reviews") == {"v1": 0.0, "v2": 100.0}
    broken["now"] = True
    clock.set(T0 + 20)
    assert mesh.weights("reviews") == {"v1": 0.0, "v2": 100.0}
    assert mesh.requests("reviews-v1") == pytest.approx((50.0, 0.0))
    assert mesh.requests("reviews-v2") == pytest.approx((150.0, 0.0))


def test_versions_keep_their_own_error_share_and_latency_inside_a_split():
    mesh, clock = simulator()
    mesh.set_service("reviews", rps=100, weights={"v1": 80, "v2": 20})
    mesh.set_workload("reviews-v2", error_share=0.5, latency=fixed_latency(300))
    clock.set(T0 + 1)
    assert mesh.requests("reviews-v2") == pytest.approx((20.0, 10.0))
    _, histograms = mesh.samples()
    canary = next(h for h in histograms if h.labels["destination_workload"] == "reviews-v2" and h.labels["reporter"] == "destination")
    buckets = dict(canary.buckets)
    assert buckets["250"] == 0 and buckets["500"] == pytest.approx(20.0) and buckets["+Inf"] == pytest.approx(20.0)
    assert canary.total == pytest.approx(20 * 300.0)


def test_histogram_buckets_are_cumulative_and_end_at_the_request_count():
    settings = TrafficSettings(latency={20.0: 0.5, 80.0: 0.3, 400.0: 0.2})
    shares = settings.bucket_shares()
    assert list(shares) == sorted(shares)
    assert shares[DURATION_BUCKETS_MS.index(25)] == pytest.approx(0.5)
    assert shares[DURATION_BUCKETS_MS.index(100)] == pytest.approx(0.8)
    assert shares[DURATION_BUCKETS_MS.index(500)] == 1.0


@pytest.mark.parametrize(
    "bad",
    [{"rps": -1}, {"error_share": 1.5}, {"latency": {}}, {"latency": {10.0: -0.5}}],
)
def test_impossible_settings_are_refused(bad):
    with pytest.raises(ValueError):
        TrafficSettings(**bad)


def test_metrics_are_served_over_http_in_prometheus_format():
    with TrafficSimulator(namespace="bookinfo") as mesh:
        mesh.set_workload("details-v1", rps=50, error_share=0.1)
        with urllib.request.urlopen(mesh.url, timeout=5) as response:
            text = response.read().decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    requests = families["istio_requests"]
    codes = {s.labels["response_code"] for s in requests.samples if s.labels["destination_workload"] == "details-v1"}
    assert codes == {"200", "503"}
    assert {s.labels["reporter"] for s in requests.samples} == {"destination", "source"}
    durations = families["istio_request_duration_milliseconds"]
    assert any(s.name.endswith("_bucket") and s.labels["le"] == "+Inf" for s in durations.samples)


def test_history_writes_each_series_in_time_order_and_ends_with_eof():
    mesh, clock = simulator()
    mesh.set_workload("ratings-v1", rps=1)
    history = History(mesh)
    for second in range(1, 4):
        clock.set(T0 + second)
        history.capture(T0 + second)
    text = history.openmetrics()
    assert text.endswith("# EOF\n")
    destination_ok = [line for line in text.splitlines() if line.startswith("istio_requests_total{reporter=\"destination\"")]
    assert [line.rsplit(" ", 2)[1:] for line in destination_ok] == [
        ["1.0", f"{T0 + 1:.3f}"],
        ["2.0", f"{T0 + 2:.3f}"],
        ["3.0", f"{T0 + 3:.3f}"],
    ]
    with pytest.raises(ValueError):
        history.capture(T0 + 2)
