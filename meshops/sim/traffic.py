"""A synthetic Istio mesh for Prometheus to scrape: the traffic the rollout analysis judges, on demand.

Tests, benchmarks and `meshops demo` need canaries that are healthy, failing, slow or idle without a
cluster. `TrafficSimulator` serves Istio's two standard metrics — `istio_requests_total` and
`istio_request_duration_milliseconds` (histogram with Istio's default buckets) — with the labels a
real sidecar reports (`reporter="destination"` and `"source"`), for workloads whose request rate,
5xx share and latency distribution can change at any time. Each workload is reported by a sidecar
pair (`destination` and `source`) unless told otherwise: an ambient-mode workload behind a
waypoint proxy is reported with `reporter="waypoint"` only. Counters grow linearly with the clock, so
`rate()` over them is exact; a change folds what has accumulated first, so counters stay monotonic.
A service's traffic can be split between versions by weights (a mapping, or a callable polled at
every scrape, e.g. one that reads the VirtualService), so a canary at 0 % gets no requests; a
mirror share adds copies of requests to a version on top (what a mirroring route sends it). When
each version is a Service of its own (`by_service`: HTTPRoute backends, host-level splits), its
requests report that Service as `destination_service_name`, as Istio does.
`History` records the same samples at chosen timestamps as OpenMetrics text for
`promtool tsdb create-blocks-from openmetrics` (exact, repeatable series).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

REQUESTS_FAMILY = "istio_requests"  # exposed as istio_requests_total
DURATION_FAMILY = "istio_request_duration_milliseconds"
REQUESTS_HELP = "Requests seen by Istio sidecars (synthetic)"
DURATION_HELP = "Request duration in milliseconds (synthetic)"
# Istio's default buckets for request duration in milliseconds (istio/proxy stats plugin).
DURATION_BUCKETS_MS: tuple[float, ...] = (
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
)
OK_CODE = "200"
ERROR_CODE = "503"  # what Envoy answers for an upstream failure; any 5xx counts as an error
REPORTERS = ("destination", "source")
# A healthy service: most requests quick, a thin tail (p50 in the 10-25 ms bucket, p99 under 250 ms).
DEFAULT_LATENCY: Mapping[float, float] = {20.0: 0.9, 80.0: 0.09, 200.0: 0.01}
DEFAULT_RPS = 10.0
UNKNOWN = "unknown"  # what Istio reports for a label it cannot determine

Weights = Mapping[str, float]
WeightsSource = Weights | Callable[[], Weights]


def fixed_latency(milliseconds: float) -> dict[float, float]:
    """A latency distribution where every request takes `milliseconds`."""
    return {float(milliseconds): 1.0}


@dataclass(frozen=True)
class TrafficSettings:
    """How one workload behaves: requests per second, share of 5xx, latency (ms -> share of requests)."""

    rps: float = DEFAULT_RPS
    error_share: float = 0.0
    latency: Mapping[float, float] = field(default_factory=lambda: dict(DEFAULT_LATENCY))

    def __post_init__(self) -> None:
        if self.rps < 0:
            raise ValueError(f"rps must be >= 0, got {self.rps}")
        if not 0 <= self.error_share <= 1:
            raise ValueError(f"error_share is a share from 0 to 1, got {self.error_share}")
        if not self.latency or any(ms < 0 or share < 0 for ms, share in self.latency.items()):
            raise ValueError("latency maps milliseconds to a non-negative share of requests, and may not be empty")
        if sum(self.latency.values()) <= 0:
            raise ValueError("latency shares must add up to more than 0")

    def bucket_shares(self) -> tuple[float, ...]:
        """For each duration bucket, the share of requests at or below its upper bound."""
        total = sum(self.latency.values())
        slowest = max(ms for ms, share in self.latency.items() if share > 0)
        return tuple(
            1.0 if bound >= slowest else sum(share for ms, share in self.latency.items() if ms <= bound) / total
            for bound in DURATION_BUCKETS_MS
        )

    def mean_latency(self) -> float:
        total = sum(self.latency.values())
        return sum(ms * share for ms, share in self.latency.items()) / total


@dataclass
class _Workload:
    """One Deployment's counters: what has accumulated up to `since`, and the rate since then."""

    name: str
    namespace: str
    service: str
    version: str
    settings: TrafficSettings
    since: float
    rps: float  # effective: the settings' rps, or the service's share when split by weights
    reporters: tuple[str, ...] = REPORTERS  # who reports its requests (sidecars, or a waypoint in ambient mode)
    reported_service: str | None = None  # the Service its requests were sent to, when not `service`
    ok: float = 0.0
    errors: float = 0.0
    buckets: list[float] = field(default_factory=lambda: [0.0] * len(DURATION_BUCKETS_MS))
    latency_sum: float = 0.0

    def fold(self, now: float) -> None:
        """Add the requests served since `since` at the current settings, and move `since` to now."""
        requests = self.rps * max(0.0, now - self.since)
        self.since = max(self.since, now)
        if requests <= 0:
            return
        self.errors += requests * self.settings.error_share
        self.ok += requests * (1 - self.settings.error_share)
        for index, share in enumerate(self.settings.bucket_shares()):
            self.buckets[index] += requests * share
        self.latency_sum += requests * self.settings.mean_latency()

    def labels(self, reporter: str, source_workload: str, source_namespace: str) -> dict[str, str]:
        return {
            "reporter": reporter,
            "source_workload": source_workload,
            "source_workload_namespace": source_namespace,
            "destination_workload": self.name,
            "destination_workload_namespace": self.namespace,
            "destination_service": f"{self.reported_service or self.service}.{self.namespace}.svc.cluster.local",
            "destination_service_name": self.reported_service or self.service,
            "destination_service_namespace": self.namespace,
            "destination_app": self.service,
            "destination_version": self.version,
            "request_protocol": "http",
        }


@dataclass
class _Split:
    """A service whose total rate is shared between its versions by weight."""

    rps: float
    source: WeightsSource
    weights: dict[str, float] = field(default_factory=dict)
    last_error: str | None = None  # a polled callable that raised keeps the previous weights
    mirrors: dict[str, float] = field(default_factory=dict)  # version -> percent of rps copied to it
    by_service: bool = False  # each version is a Service of its own


@dataclass(frozen=True)
class CounterSample:
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class HistogramSample:
    labels: dict[str, str]
    buckets: tuple[tuple[str, float], ...]  # (le, cumulative count), ending with +Inf
    total: float  # sum of observed milliseconds


class TrafficSimulator:
    """Istio metrics for synthetic workloads, served over HTTP for Prometheus to scrape."""

    def __init__(
        self,
        *,
        namespace: str = "default",
        workload_template: str = "{service}-{version}",
        source_workload: str = "loadgenerator",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.namespace = namespace
        self.workload_template = workload_template
        self.source_workload = source_workload
        self.clock = clock
        self._lock = threading.RLock()
        self._workloads: dict[tuple[str, str], _Workload] = {}
        self._splits: dict[tuple[str, str], _Split] = {}
        self._server = None
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(self))

    # --- settings -------------------------------------------------------------------------------

    def set_workload(
        self,
        workload: str,
        *,
        namespace: str | None = None,
        service: str | None = None,
        version: str | None = None,
        rps: float | None = None,
        error_share: float | None = None,
        latency: Mapping[float, float] | None = None,
        reporters: tuple[str, ...] | None = None,
    ) -> None:
        """Create or change a workload; unspecified settings keep their value.

        `rps` applies to workloads outside a weighted split; inside one, the split decides.
        """
        with self._lock:
            now = self.clock()
            self._refresh(now)
            key = (namespace or self.namespace, workload)
            current = self._workloads.get(key)
            if current is None:
                current = _Workload(
                    name=workload, namespace=key[0], service=service or workload, version=version or UNKNOWN,
                    settings=TrafficSettings(), since=now, rps=0.0,
                )
                self._workloads[key] = current
            current.fold(now)
            given = {"rps": rps, "error_share": error_share, "latency": latency}
            changes = {name: value for name, value in given.items() if value is not None}
            current.settings = replace(current.settings, **changes)
            current.service = service or current.service
            current.version = version or current.version
            current.reporters = reporters or current.reporters
            self._apply_rates(now)

    def set_service(self, service: str, *, rps: float, weights: WeightsSource, namespace: str | None = None,
                    mirrors: Mapping[str, float] | None = None, by_service: bool = False) -> None:
        """Send `rps` requests/s to `service`, split between its versions by `weights` (or a callable),
        plus `mirrors` (version -> percent of `rps` copied to it)."""
        if rps < 0:
            raise ValueError(f"rps must be >= 0, got {rps}")
        with self._lock:
            now = self.clock()
            self._fold_all(now)
            key = (namespace or self.namespace, service)
            self._splits[key] = _Split(rps=rps, source=weights, mirrors=dict(mirrors or {}), by_service=by_service)
            self._refresh(now, force=True)

    def set_weights(self, service: str, weights: WeightsSource, *, namespace: str | None = None,
                    mirrors: Mapping[str, float] | None = None) -> None:
        """Change how `service`'s traffic is split, e.g. `{"v1": 90, "v2": 10}` (set_service first)."""
        with self._lock:
            key = (namespace or self.namespace, service)
            if key not in self._splits:
                raise KeyError(f"service {key[0]}/{service} has no traffic yet; call set_service first")
            now = self.clock()
            self._fold_all(now)
            self._splits[key].source = weights
            self._splits[key].mirrors = dict(mirrors or {})
            self._refresh(now, force=True)

    def weights(self, service: str, *, namespace: str | None = None) -> dict[str, float]:
        """The split in effect for `service` (after polling a callable source)."""
        with self._lock:
            self._refresh(self.clock())
            return dict(self._splits[(namespace or self.namespace, service)].weights)

    def _workload_of(self, namespace: str, service: str, version: str, now: float) -> _Workload:
        name = self.workload_template.format(service=service, version=version, namespace=namespace)
        workload = self._workloads.get((namespace, name))
        if workload is None:
            workload = _Workload(name=name, namespace=namespace, service=service, version=version,
                                 settings=TrafficSettings(), since=now, rps=0.0)
            self._workloads[(namespace, name)] = workload
        return workload

    def _refresh(self, now: float, *, force: bool = False) -> None:
        """Poll callable weight sources; on any change, fold counters and move to the new rates."""
        changed = force
        for split in self._splits.values():
            source = split.source
            try:
                polled = source() if callable(source) else source
                weights = {str(version): float(weight) for version, weight in polled.items()}
            except Exception as error:  # a failing poll (e.g. API server down) keeps the last split
                split.last_error = f"{type(error).__name__}: {error}"
                continue
            split.last_error = None
            if any(weight < 0 for weight in weights.values()):
                split.last_error = f"negative weight in {weights}"
                continue
            if weights != split.weights:
                split.weights, changed = weights, True
        if changed:
            self._fold_all(now)
            self._apply_rates(now)

    def _fold_all(self, now: float) -> None:
        for workload in self._workloads.values():
            workload.fold(now)

    def _apply_rates(self, now: float) -> None:
        split_members: set[tuple[str, str]] = set()
        for (namespace, service), split in self._splits.items():
            total = sum(split.weights.values())
            members = {w.version for w in self._workloads.values() if (w.namespace, w.service) == (namespace, service)}
            versions = set(split.weights) | set(split.mirrors) | members
            for version in versions:
                workload = self._workload_of(namespace, service, version, now)
                share = split.weights.get(version, 0.0) / total if total > 0 else 0.0
                workload.rps = split.rps * (share + split.mirrors.get(version, 0.0) / 100)
                workload.reported_service = workload.name if split.by_service else None
                split_members.add((namespace, workload.name))
        for key, workload in self._workloads.items():
            if key not in split_members:
                workload.rps = workload.settings.rps

    # --- reading ----------------------------------------------------------------------------------

    def requests(self, workload: str, *, namespace: str | None = None) -> tuple[float, float]:
        """(total, errors) served by `workload` so far."""
        with self._lock:
            now = self.clock()
            self._refresh(now)
            current = self._workloads[(namespace or self.namespace, workload)]
            current.fold(now)
            return current.ok + current.errors, current.errors

    def samples(self) -> tuple[list[CounterSample], list[HistogramSample]]:
        """Every series as a sidecar would report it now; series appear once they have a request."""
        with self._lock:
            now = self.clock()
            self._refresh(now)
            self._fold_all(now)
            counters: list[CounterSample] = []
            histograms: list[HistogramSample] = []
            for workload in sorted(self._workloads.values(), key=lambda w: (w.namespace, w.name)):
                total = workload.ok + workload.errors
                if total <= 0:
                    continue
                for reporter in workload.reporters:
                    labels = workload.labels(reporter, self.source_workload, self.namespace)
                    for code, count in ((OK_CODE, workload.ok), (ERROR_CODE, workload.errors)):
                        if count > 0:
                            counters.append(CounterSample({**labels, "response_code": code}, count))
                    buckets = tuple((f"{bound:g}", count) for bound, count in zip(DURATION_BUCKETS_MS, workload.buckets))
                    histograms.append(HistogramSample(labels, buckets + (("+Inf", total),), workload.latency_sum))
            return counters, histograms

    # --- serving ----------------------------------------------------------------------------------

    def start(self, *, port: int = 0, host: str = "127.0.0.1") -> TrafficSimulator:
        """Serve /metrics on `host:port` (port 0 picks a free one; see `.target`)."""
        if self._server is None:
            self._server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return self

    @property
    def target(self) -> str:
        """`host:port` for a Prometheus scrape config."""
        if self._server is None:
            raise RuntimeError("the simulator is not serving; call start() first")
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.target}/metrics"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> TrafficSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Collector:
    """prometheus-client custom collector: turns the simulator's samples into metric families."""

    def __init__(self, simulator: TrafficSimulator) -> None:
        self.simulator = simulator

    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        counters, histograms = self.simulator.samples()
        requests = CounterMetricFamily(REQUESTS_FAMILY, REQUESTS_HELP, labels=_label_names(counters))
        for sample in counters:
            requests.add_metric(list(sample.labels.values()), sample.value)
        durations = HistogramMetricFamily(DURATION_FAMILY, DURATION_HELP, labels=_label_names(histograms))
        for sample in histograms:
            durations.add_metric(list(sample.labels.values()), list(sample.buckets), sum_value=sample.total)
        yield requests
        yield durations


def _label_names(samples: list) -> list[str]:
    return list(samples[0].labels) if samples else []


class ManualClock:
    """A clock that moves only when told (for recording histories at exact timestamps)."""

    def __init__(self, now: float) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def set(self, now: float) -> None:
        if now < self.now:
            raise ValueError("a clock for counters may not go backwards")
        self.now = float(now)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _series(name: str, labels: Mapping[str, str]) -> str:
    return name + "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items()) + "}"


class History:
    """Samples of a simulator captured at explicit timestamps, written as OpenMetrics for backfill.

    promtool silently drops out-of-order samples, so `capture` refuses timestamps that go back and
    `openmetrics()` writes each series' points together, oldest first, ending with `# EOF`.
    """

    def __init__(self, simulator: TrafficSimulator) -> None:
        self.simulator = simulator
        self._counters: dict[str, list[tuple[float, float]]] = {}
        self._histograms: dict[tuple[str, ...], tuple[dict[str, str], list[tuple[float, HistogramSample]]]] = {}
        self._last: float | None = None

    def capture(self, timestamp: float) -> None:
        """Record every series as it is now, stamped `timestamp` (unix seconds)."""
        if self._last is not None and timestamp <= self._last:
            raise ValueError(f"timestamps must increase: {timestamp} after {self._last}")
        self._last = timestamp
        counters, histograms = self.simulator.samples()
        for sample in counters:
            series = _series(REQUESTS_FAMILY + "_total", sample.labels)
            self._counters.setdefault(series, []).append((timestamp, sample.value))
        for sample in histograms:
            key = tuple(sorted(sample.labels.items()))
            self._histograms.setdefault(key, (sample.labels, []))[1].append((timestamp, sample))

    def openmetrics(self) -> str:
        lines = [f"# HELP {REQUESTS_FAMILY} {REQUESTS_HELP}", f"# TYPE {REQUESTS_FAMILY} counter"]
        for series, points in self._counters.items():
            lines += [f"{series} {value!r} {timestamp:.3f}" for timestamp, value in points]
        lines += [f"# HELP {DURATION_FAMILY} {DURATION_HELP}", f"# TYPE {DURATION_FAMILY} histogram"]
        for labels, points in self._histograms.values():
            for timestamp, sample in points:
                for le, count in sample.buckets:
                    lines.append(f"{_series(DURATION_FAMILY + '_bucket', {**labels, 'le': le})} {count!r} {timestamp:.3f}")
                lines.append(f"{_series(DURATION_FAMILY + '_count', labels)} {sample.buckets[-1][1]!r} {timestamp:.3f}")
                lines.append(f"{_series(DURATION_FAMILY + '_sum', labels)} {sample.total!r} {timestamp:.3f}")
        lines.append("# EOF")
        return "\n".join(lines) + "\n"
