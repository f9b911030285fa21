"""Range queries against a real Prometheus: series over time, and every way of failing as a typed result."""
from __future__ import annotations

import math
import time

import pytest

from meshops.metrics.prometheus import PrometheusClient
from meshops.metrics.source import QueryStatus

pytestmark = pytest.mark.prometheus


@pytest.fixture(scope="module")
def scraped(traffic, prometheus):
    """A service of its own with a few seconds of samples in Prometheus."""
    traffic.set_service("range-svc", rps=50, weights={"v1": 100})
    traffic.set_workload("range-svc-v1")
    query = 'sum(istio_requests_total{reporter="destination",destination_workload="range-svc-v1"})'
    prometheus.wait_for_series(f"count_over_time(({query})[10s:1s])", timeout=60,
                               ready=lambda result: result.ok and bool(result.samples) and result.samples[0].value >= 3)
    return PrometheusClient(url=prometheus.url), query


def test_a_range_query_returns_each_series_with_its_points_oldest_first(scraped):
    client, query = scraped
    now = time.time()
    result = client.query_range(f'label_replace({query}, "which", "total", "", "")', start=now - 5, end=now, step=1)
    assert result.ok, result.reason
    (series,) = result.series
    assert series.labels == {"which": "total"}
    moments = [moment for moment, _ in series.points]
    assert moments == sorted(moments) and len(moments) >= 3
    assert all(math.isfinite(value) and value > 0 for _, value in series.points)


def test_a_range_query_keeps_nan_points_for_the_chart_to_leave_as_gaps(scraped):
    client, _ = scraped
    now = time.time()
    result = client.query_range("vector(0) / vector(0)", start=now - 3, end=now, step=1)
    assert result.ok, result.reason
    assert all(math.isnan(value) for _, value in result.series[0].points)


def test_a_range_query_with_broken_promql_is_a_bad_query(scraped):
    client, _ = scraped
    now = time.time()
    result = client.query_range("sum(rate(x[1m])", start=now - 60, end=now, step=15)
    assert result.status is QueryStatus.BAD_QUERY and "query" in result.reason


def test_a_range_query_matching_nothing_is_no_data(scraped):
    client, _ = scraped
    now = time.time()
    assert client.query_range('up{job="no-such-job"}', start=now - 60, end=now, step=15).status is QueryStatus.NO_DATA


def test_a_range_of_too_many_points_is_refused_before_asking(scraped):
    client, _ = scraped
    before = client.query_count
    result = client.query_range("up", start=0, end=1_000_000, step=1)
    assert result.status is QueryStatus.BAD_QUERY and client.query_count == before


def test_a_range_query_against_a_stopped_prometheus_is_unreachable(stopped_prometheus_url):
    now = time.time()
    result = PrometheusClient(url=stopped_prometheus_url, timeout=2).query_range("up", start=now - 60, end=now, step=15)
    assert result.status is QueryStatus.UNREACHABLE and "connection refused" in result.reason
