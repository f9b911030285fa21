"""One reconcile run as `meshops serve` and the controller do it: reconcile, log, count.

The worker calls a `Runner` with a trigger ("webhook <delivery>", "poll", "leader"); the runner
reconciles the configured branch head with the fixed settings, writes every progress line to
the log, and records the report in the metrics. A run that cannot even start (the repository is
unreachable) is logged as one line and counted as an error; the next trigger tries again.
Every progress line is also a heartbeat: a run silent for longer than the stall timeout makes
`/healthz` fail, so Kubernetes restarts a replica whose worker is stuck (and its Leases expire).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from ..model.errors import MeshopsError
from ..reconcile.reconciler import Settings, reconcile
from ..model.masking import mask_url
from ..reconcile.report import ReconcileReport
from .metrics import Metrics

log = logging.getLogger("meshops.reconcile")


@dataclass
class Heartbeat:
    """When the running reconcile last showed progress (None while the worker is idle)."""

    clock: Callable[[], float] = time.monotonic
    last: float | None = None

    def beat(self) -> None:
        self.last = self.clock()

    def idle(self) -> None:
        self.last = None

    def stalled(self, limit: float) -> str | None:
        """Why the worker counts as stuck (silent for over `limit` seconds while running), or None."""
        last = self.last
        if last is None or self.clock() - last <= limit:
            return None
        return f"the reconcile worker has shown no progress for {self.clock() - last:.0f}s (stall timeout {limit:.0f}s)"


@dataclass
class Runner:
    """Callable by the worker: one reconcile of `settings` per call."""

    settings: Settings
    metrics: Metrics
    clock: Callable[[], float] = time.time
    last: ReconcileReport | None = field(default=None, init=False)
    heartbeat: Heartbeat = field(default_factory=Heartbeat)

    def _progress(self, line: str) -> None:
        self.heartbeat.beat()
        log.info("  %s", line)

    def __call__(self, trigger: str) -> None:
        self.heartbeat.beat()
        try:
            self._run(trigger)
        finally:
            self.heartbeat.idle()

    def _run(self, trigger: str) -> None:
        kind = trigger.split()[0]  # bounded label values: webhook, poll, leader, startup
        log.info("reconcile of %s %s (%s)", mask_url(self.settings.repo), self.settings.ref, trigger)
        try:
            report = reconcile(self.settings, emit=self._progress, clock=self.clock)
        except MeshopsError as error:
            self.metrics.runs.labels(kind, "error").inc()
            log.error("reconcile (%s) could not run: %s", trigger, error.one_line())
            return
        self.last = report
        self.metrics.observe(report, trigger=kind, ended=self.clock())
        log.info("reconcile (%s) done: %s", trigger, report.summary())
