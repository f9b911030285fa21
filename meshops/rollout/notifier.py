"""Posting rollout decisions to receivers: in order, with retries, never in a rollout's way.

The engine hands the `Notifier` the history entries of a rollout that are not yet notified (the
state's `seq`/`notified` cursor, see `state`); each receiver has its own queue and sender thread,
so entries reach every receiver in decision order, a slow receiver never delays another, and no
rollout ever waits for one: `submit` only queues. A failed POST is retried (`RETRIES` times, with
backoff); a receiver whose last entry failed every attempt is "down" and gets one attempt per
entry until it answers again, so it cannot build a backlog. Nothing a receiver does changes a
rollout.

What is handled (sent, or given up) advances per rollout; the engine records it in the state's
`notified` with its next write (or a small one of its own for a rollout that ended or is paused),
so decisions written just before the process was killed are posted when a driver resumes —
possibly twice, with the same `id` and `X-Meshops-Delivery` for the receiver to de-duplicate.
Repeats of a waiting decision (a hold that lasts) are posted once.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..model.secrets import SecretsDir
from .posting import post_json
from .receivers import Notification, Receiver, ResolvedReceiver, body
from .state import WAITING_REASONS, RolloutState
from .store import RolloutRef

log = logging.getLogger(__name__)

# Attempts per entry and receiver, and the pause before each retry: a receiver restarting within
# a few seconds still gets the entry; one that is down costs seconds, not minutes.
RETRIES = 3
BACKOFF = (0.5, 1.0, 2.0)
# Longest `flush` waits at the end of a run for queued entries: a receiver that is down does not
# hold a finished command (what is left is posted by the next driver, from the cursor).
FLUSH_TIMEOUT = 5.0
# Entries queued per receiver at most; beyond it the oldest waiting ones are dropped (and counted).
QUEUE_LIMIT = 1000


@dataclass
class _Outbox:
    """One receiver's queue and sender thread."""

    receiver: ResolvedReceiver
    queue: queue.Queue = field(default_factory=lambda: queue.Queue(QUEUE_LIMIT))
    down: bool = False
    sent: int = 0
    failed: int = 0
    thread: threading.Thread | None = None


class Notifier:
    """Receivers of one environment, each with its own ordered queue (see the module docstring)."""

    def __init__(self, receivers: tuple[Receiver, ...], *, secrets: SecretsDir, environment: str,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.environment = environment
        self.sleep = sleep
        self._outboxes = [_Outbox(receiver.resolve(secrets)) for receiver in receivers]
        self._lock = threading.Lock()
        self._submitted: dict[RolloutRef, int] = {}  # highest seq queued (or skipped) per rollout
        self._outstanding: dict[RolloutRef, dict[int, int]] = {}  # seq -> receivers still working on it
        self._idle = threading.Condition(self._lock)
        self.dropped = 0
        self.deliveries: list[tuple[str, str, int | None]] = []  # (receiver, notification id, status) for tests and logs

    @property
    def receivers(self) -> list[Receiver]:
        return [outbox.receiver.receiver for outbox in self._outboxes]

    def wants(self, service: str) -> bool:
        """Whether any receiver may want decisions of `service` (else the cursor simply follows `seq`)."""
        return any(receiver.services is None or service in receiver.services for receiver in self.receivers)

    # --- the cursor ---------------------------------------------------------------------------------

    def handled_through(self, ref: RolloutRef, state: RolloutState) -> int:
        """The highest seq of `ref` whose entries every receiver is done with (sent or given up)."""
        with self._lock:
            outstanding = self._outstanding.get(ref)
            if outstanding:
                return min(outstanding) - 1
            return max(self._submitted.get(ref, 0), state.notified_through)

    # --- queueing -----------------------------------------------------------------------------------

    def submit(self, ref: RolloutRef, state: RolloutState) -> int:
        """Queue the entries of `state` not notified or queued yet; how many posts were queued."""
        queued = 0
        for entry in state.history:
            seq = int(entry.get("seq") or 0)
            with self._lock:
                already = max(self._submitted.get(ref, 0), state.notified_through)
                if seq <= already:
                    continue
                self._submitted[ref] = seq
            count = int(entry.get("count") or 1)
            if entry.get("reason") in WAITING_REASONS and seq - count + 1 <= already:
                continue  # a hold that lasts: its first decision was posted already
            notification = Notification.of(entry, state=state, environment=self.environment, namespace=ref.namespace)
            targets = [outbox for outbox in self._outboxes if outbox.receiver.receiver.wants(state.service, notification.event)]
            if not targets:
                continue
            with self._lock:
                self._outstanding.setdefault(ref, {})[seq] = len(targets)
            for outbox in targets:
                self._put(outbox, (ref, seq, notification))
                queued += 1
        return queued

    def _put(self, outbox: _Outbox, item: tuple[RolloutRef, int, Notification]) -> None:
        if outbox.thread is None:
            outbox.thread = threading.Thread(target=self._send_loop, args=(outbox,), daemon=True,
                                             name=f"notify {outbox.receiver.shown}")
            outbox.thread.start()
        while True:
            try:
                outbox.queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    dropped = outbox.queue.get_nowait()
                except queue.Empty:
                    continue
                self.dropped += 1
                self._done(dropped[0], dropped[1])

    # --- sending ------------------------------------------------------------------------------------

    def _send_loop(self, outbox: _Outbox) -> None:
        while True:
            ref, seq, notification = outbox.queue.get()
            try:
                self._deliver(outbox, notification)
            except Exception:  # noqa: BLE001 - a bug in formatting must not kill the sender
                log.exception("notification %s to %s failed", notification.id, outbox.receiver.shown)
            finally:
                self._done(ref, seq)

    def _deliver(self, outbox: _Outbox, notification: Notification) -> None:
        raw, headers = body(outbox.receiver, notification)
        attempts = 1 if outbox.down else RETRIES
        for attempt in range(attempts):
            posted = post_json(outbox.receiver.url, raw, timeout=outbox.receiver.receiver.timeout, headers=headers)
            with self._lock:
                self.deliveries.append((outbox.receiver.receiver.name, notification.id, posted.status))
            if posted.ok:
                outbox.sent += 1
                outbox.down = False
                return
            log.warning("notification %s to %s: %s", notification.event, outbox.receiver.shown, posted.describe())
            if attempt + 1 < attempts:
                self.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
        outbox.failed += 1
        outbox.down = True

    def _done(self, ref: RolloutRef, seq: int) -> None:
        with self._lock:
            outstanding = self._outstanding.get(ref, {})
            if seq in outstanding:
                outstanding[seq] -= 1
                if outstanding[seq] <= 0:
                    del outstanding[seq]
            if not any(self._outstanding.values()):
                self._idle.notify_all()

    def flush(self, timeout: float = FLUSH_TIMEOUT) -> bool:
        """Wait (at most `timeout`) until every queued entry is handled; whether it was."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while any(self._outstanding.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def counts(self) -> Mapping[str, Any]:
        """Sent and failed posts per receiver, and entries dropped from full queues."""
        return {"receivers": {outbox.receiver.receiver.name: {"sent": outbox.sent, "failed": outbox.failed,
                                                              "down": outbox.down} for outbox in self._outboxes},
                "dropped": self.dropped}
