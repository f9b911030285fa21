"""One reconcile run as `meshops serve` and the controller do it: reconcile, log, count.

The worker calls a `Runner` with a trigger ("webhook <delivery>", "poll", "leader"); the runner
reconciles the configured branch head with the fixed settings, writes every progress line to
the log, and records the report in the metrics. A run that cannot even start (the repository is
unreachable) is logged as one line and counted as an error; the next trigger tries again.
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
class Runner:
    """Callable by the worker: one reconcile of `settings` per call."""

    settings: Settings
    metrics: Metrics
    clock: Callable[[], float] = time.time
    last: ReconcileReport | None = field(default=None, init=False)

    def __call__(self, trigger: str) -> None:
        kind = trigger.split()[0]  # bounded label values: webhook, poll, leader, startup
        log.info("reconcile of %s %s (%s)", mask_url(self.settings.repo), self.settings.ref, trigger)
        try:
            report = reconcile(self.settings, emit=lambda line: log.info("  %s", line), clock=self.clock)
        except MeshopsError as error:
            self.metrics.runs.labels(kind, "error").inc()
            log.error("reconcile (%s) could not run: %s", trigger, error.one_line())
            return
        self.last = report
        self.metrics.observe(report, trigger=kind, ended=self.clock())
        log.info("reconcile (%s) done: %s", trigger, report.summary())
