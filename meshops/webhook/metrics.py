"""`/metrics`: what an operator graphs and alerts on, in Prometheus's text format.

Names follow Prometheus conventions (`_total` counters, `_seconds` histograms) and the split Flux
and Argo CD users know (`gotk_reconcile_duration_seconds`, `argocd_app_sync_total`): deliveries by
result, reconciles by environment and outcome, failures by stage, durations, the phase of every
rollout seen, and whether this replica leads. One registry per process, not the global default,
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
        self.reconciles = Counter("meshops_reconciles", "Environment reconciles by outcome.",
                                  ["environment", "outcome"], registry=self.registry)
        self.failures = Counter("meshops_reconcile_failures", "Failed environment reconciles by stage.",
                                ["environment", "stage"], registry=self.registry)
        self.durations = Histogram("meshops_reconcile_duration_seconds", "Time to reconcile one environment.",
                                   ["environment"], buckets=DURATION_BUCKETS, registry=self.registry)
        self.rollouts = Gauge("meshops_rollout_phase", "1 for the current phase of each rollout seen.",
                              ["environment", "virtual_service", "phase"], registry=self.registry)
        self.revision_time = Gauge("meshops_last_reconcile_timestamp_seconds", "When the last reconcile run ended.",
                                   registry=self.registry)
        self.leader = Gauge("meshops_leader", "1 while this replica holds the leader Lease.", registry=self.registry)
        self._lock = threading.Lock()
        self._phases: dict[tuple[str, str], str] = {}

    def observe(self, report: ReconcileReport, *, trigger: str, ended: float) -> None:
        """Count one finished reconcile run."""
        self.runs.labels(trigger, "ok" if report.ok else "failed").inc()
        self.revision_time.set(ended)
        for env in report.environments:
            self.reconciles.labels(env.environment, env.outcome.value).inc()
            if env.outcome is Outcome.FAILED:
                self.failures.labels(env.environment, env.stage or "unknown").inc()
            if env.outcome is not Outcome.BLOCKED:
                self.durations.labels(env.environment).observe(env.duration)
            for row in env.rollouts:
                self._set_phase(env.environment, row["virtualService"], row["phase"])

    def _set_phase(self, environment: str, virtual_service: str, phase: str) -> None:
        with self._lock:
            previous = self._phases.get((environment, virtual_service))
            if previous and previous != phase:
                self.rollouts.labels(environment, virtual_service, previous).set(0)
            self._phases[(environment, virtual_service)] = phase
            self.rollouts.labels(environment, virtual_service, phase).set(1)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
