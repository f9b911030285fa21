"""One reconcile at a time, in the background, however many pushes arrive meanwhile.

A webhook must be answered within seconds (GitHub gives up after 10), while a reconcile with a
canary can take many minutes. The worker thread runs reconciles one after another; requests that
arrive while one runs collapse into a single follow-up run, because every run reconciles the
branch head anyway. Running one at a time in-process, plus each environment's Lease across
processes, is what keeps two reconciles of one environment from overlapping.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger("meshops.worker")


class ReconcileWorker:
    """A background thread calling `run(trigger)` whenever requested, never two at once."""

    def __init__(self, run: Callable[[str], None]) -> None:
        self._run = run
        self._wake = threading.Condition()
        self._pending: list[str] = []
        self._stopping = False
        self.busy = False
        self.completed = 0
        self._thread = threading.Thread(target=self._loop, name="reconcile-worker", daemon=True)

    def start(self) -> "ReconcileWorker":
        self._thread.start()
        return self

    def request(self, trigger: str) -> bool:
        """Ask for a run; False when one was already waiting (this request joins it)."""
        with self._wake:
            joined = bool(self._pending)
            self._pending.append(trigger)
            self._wake.notify()
            return not joined

    def stop(self, timeout: float | None = None) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                triggers, self._pending = self._pending, []
                self.busy = True
            trigger = triggers[0] if len(triggers) == 1 else f"{triggers[0]} (+{len(triggers) - 1} more)"
            try:
                self._run(trigger)
            except Exception:  # noqa: BLE001 - a bug in one run must not kill the worker; it is logged in full
                log.exception("reconcile run failed unexpectedly (trigger: %s)", trigger)
            finally:
                with self._wake:
                    self.busy = False
                    self.completed += 1
