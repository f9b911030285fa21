"""`/metrics`: what an operator graphs and alerts on, in Prometheus's text format.

Names follow Prometheus conventions (`_total` counters, `_seconds` histograms) and the split Flux
and Argo CD users know (`gotk_reconcile_duration_seconds`, `argocd_app_sync_total`): deliveries by
result, reconciles by environment, cluster and outcome, failures by stage, durations, the phase of every
rollout seen, and whether this replica leads (and how many shards it holds). One registry per process, not the global default,
so tests and several servers in one process never share counters.
"""
from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ..reconcile.report import Outcome, ReconcileReport

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Reconciles range from a skip (under a second) to a canary with several steps (tens of minutes).
DURATION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class Metrics:
    """Every metric `meshops serve` and `meshops controller` export."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter("meshops_webhook_deliveries", "Webhook deliveries by provider and result.",
                                  ["provider", "result"], registry=self.registry)
        self.runs = Counter("meshops_reconcile_runs", "Reconcile runs by trigger and result (ok, failed, error).",
                            ["trigger", "result"], registry=self.registry)
        self.reconciles = Counter("meshops_reconciles", "Environment reconciles by cluster and outcome.",
                                  ["environment", "cluster", "outcome"], registry=self.registry)
        self.failures = Counter("meshops_reconcile_failures", "Failed environment reconciles by cluster and stage.",
                                ["environment", "cluster", "stage"], registry=self.registry)
        self.durations = Histogram("meshops_reconcile_duration_seconds", "Time to reconcile one environment on one cluster.",
                                   ["environment", "cluster"], buckets=DURATION_BUCKETS, registry=self.registry)
        self.rollouts = Gauge("meshops_rollout_phase", "1 for the current phase of each rollout seen.",
                              ["environment", "cluster", "virtual_service", "phase"], registry=self.registry)
        self.revision_time = Gauge("meshops_last_reconcile_timestamp_seconds", "When the last reconcile run ended.",
                                   registry=self.registry)
        self.leader = Gauge("meshops_leader", "1 while this replica holds the leader Lease (or a shard Lease).",
                            registry=self.registry)
        self.shards = Gauge("meshops_controller_shards", "Shards (of environment x cluster targets) this replica holds.",
                            registry=self.registry)
        self._lock = threading.Lock()
        self._phases: dict[tuple[str, str, str], str] = {}

    def observe(self, report: ReconcileReport, *, trigger: str, ended: float) -> None:
        """Count one finished reconcile run."""
        self.runs.labels(trigger, "ok" if report.ok else "failed").inc()
        self.revision_time.set(ended)
        for env in report.environments:
            if env.observed:
                continue  # another replica's cluster: it counts its own
            self.reconciles.labels(env.environment, env.cluster, env.outcome.value).inc()
            if env.outcome is Outcome.FAILED:
                self.failures.labels(env.environment, env.cluster, env.stage or "unknown").inc()
            if env.outcome is not Outcome.BLOCKED:
                self.durations.labels(env.environment, env.cluster).observe(env.duration)
            for row in env.rollouts:
                self._set_phase((env.environment, env.cluster, row["virtualService"]), row["phase"])

    def _set_phase(self, key: tuple[str, str, str], phase: str) -> None:
        with self._lock:
            previous = self._phases.get(key)
            if previous and previous != phase:
                self.rollouts.labels(*key, previous).set(0)
            self._phases[key] = phase
            self.rollouts.labels(*key, phase).set(1)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
