"""Leader election on a Lease: exactly one replica leads; a dead leader is replaced within its lease.

Each candidate tries to take the Lease every `retry_period`; the leader renews it at the same
pace. A leader that cannot renew for `renew_deadline` (shorter than the lease duration, so it
stops before anyone else may start) steps down; one that finds the Lease taken steps down at
once. Stepping down is final for this elector: the controller exits and its pod restarts as a
fresh candidate, which is simpler to reason about than a replica that leads, follows, and leads
again with work half-done. On a clean shutdown the leader releases the Lease so the next one
need not wait for it to expire.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

from ..cluster.api import ApiError
from ..model.errors import MeshopsError
from ..reconcile.lease import Lease, LeaseRecord

log = logging.getLogger("meshops.leader")


class LeaderElector:
    """Runs the election loop for one candidate (see module docstring)."""

    def __init__(self, lease: Lease, *, on_started: Callable[[], None], on_stopped: Callable[[str], None],
                 retry_period: float | None = None, renew_deadline: float | None = None) -> None:
        self.lease = lease
        self.on_started = on_started
        self.on_stopped = on_stopped
        # client-go's defaults keep the same proportions: 15 s lease, 10 s renew deadline, 2 s retry.
        self.retry_period = retry_period or max(0.2, lease.duration / 5)
        self.renew_deadline = renew_deadline or lease.duration * 2 / 3
        self.leading = threading.Event()
        self.holder: str | None = None  # the leader as last seen (for logs and /readyz)

    def run(self, stop: threading.Event) -> None:
        record: LeaseRecord | None = None
        last_renewal = 0.0
        while not stop.is_set():
            try:
                if record is None:
                    record, seen = self.lease.try_acquire()
                    if record is not None:
                        last_renewal = self.lease.clock()
                        self._start()
                    elif seen is not None and seen.holder != self.holder:
                        self.holder = seen.holder
                        log.info("leader is %s (%s)", seen.holder, self.lease)
                else:
                    renewed = self.lease.renew(record)
                    if renewed is None:
                        current = self.lease.read()
                        self._stop(f"{self.lease} was taken by {current.holder if current else 'nobody'}")
                        return
                    record, last_renewal = renewed, self.lease.clock()
            except (MeshopsError, ApiError) as error:
                text = error.one_line() if isinstance(error, MeshopsError) else str(error)
                log.warning("leader election: %s", text)
                if record is not None and self.lease.clock() - last_renewal > self.renew_deadline:
                    self._stop(f"could not renew {self.lease} for {self.renew_deadline:.0f}s")
                    return
            stop.wait(self.retry_period)
        if record is not None:
            try:
                self.lease.release(record)
                log.info("released %s", self.lease)
            except (MeshopsError, ApiError):
                pass  # it expires on its own
        self.leading.clear()

    def _start(self) -> None:
        self.holder = self.lease.identity
        self.leading.set()
        log.info("became leader (%s, identity %s)", self.lease, self.lease.identity)
        self.on_started()

    def _stop(self, reason: str) -> None:
        self.leading.clear()
        log.error("stopped leading: %s", reason)
        self.on_stopped(reason)
