"""One reconcile per environment and cluster at a time, and what the last one did, on its Lease.

The Lease `meshops-<env>` (`meshops-<env>.<cluster>` for each cluster of an environment that lists
clusters) in the environment's namespace, in that cluster, is both the lock and the record:
- `meshops.dev/revision`: the last revision whose apply completed (change detection starts here);
- `meshops.dev/reconcile`: the last attempt as JSON (revision, phase Succeeded / Progressing /
  Failed, stage, reason, time, by whom, freeze override), which gates promotion to the next
  environment and the next wave of clusters (a Succeeded attempt's time starts the wave's soak).
A second reconcile waits a bounded time for the holder, then gives up with a message naming it;
a holder that died stops renewing and its Lease expires after `leaseDurationSeconds`.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

from ..model.errors import ClusterError
from ..model.identity import DEFAULT_CLUSTER, REVISION_ANNOTATION
from .lease import Lease, LeaseRecord

STATUS_ANNOTATION = "meshops.dev/reconcile"
LEASE_PREFIX = "meshops-"
# Long enough to survive a slow API call between renewals (renewed every third of it).
DEFAULT_LEASE_SECONDS = 30.0


class Phase:
    """Phases of an environment's last reconcile, as recorded on its Lease."""

    SUCCEEDED = "Succeeded"
    PROGRESSING = "Progressing"  # applied; rollouts it started are still running
    FAILED = "Failed"


@dataclass(frozen=True)
class Attempt:
    """The last reconcile of an environment (the `meshops.dev/reconcile` annotation)."""

    revision: str
    phase: str
    stage: str = ""  # apply, rollout
    reason: str = ""
    time: str = ""
    by: str = ""
    override_freeze: str = ""

    def to_annotation(self) -> str:
        return json.dumps({key: value for key, value in asdict(self).items() if value}, sort_keys=True)

    @classmethod
    def from_annotation(cls, text: str | None) -> "Attempt | None":
        try:
            data = json.loads(text or "")
        except ValueError:
            return None
        if not isinstance(data, dict) or not data.get("revision") or not data.get("phase"):
            return None
        return cls(**{key: str(data[key]) for key in cls.__dataclass_fields__ if key in data})


@dataclass(frozen=True)
class EnvRecord:
    """What the cluster remembers about an environment."""

    applied: str | None
    attempt: Attempt | None
    holder: str | None = None

    @classmethod
    def from_lease(cls, record: LeaseRecord | None) -> "EnvRecord":
        if record is None:
            return cls(None, None)
        return cls(record.annotations.get(REVISION_ANNOTATION) or None,
                   Attempt.from_annotation(record.annotations.get(STATUS_ANNOTATION)), record.holder)


class EnvironmentBusy(ClusterError):
    """Another process holds the environment's lock and did not let go in time."""


def lease_name(environment: str, cluster: str = DEFAULT_CLUSTER) -> str:
    """`meshops-<env>`, or `meshops-<env>.<cluster>`: a dot never occurs in either name, so no two collide."""
    return LEASE_PREFIX + environment + ("" if cluster == DEFAULT_CLUSTER else f".{cluster}")


class Held:
    """A held environment lock: renewed in the background until released with the final record."""

    def __init__(self, lease: Lease, record: LeaseRecord, *, renew_every: float) -> None:
        self.lease = lease
        self.record = record
        self.lost = False
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_loop, args=(renew_every,), daemon=True,
                                        name=f"renew-{lease.name}")
        self._thread.start()

    @property
    def env_record(self) -> EnvRecord:
        return EnvRecord.from_lease(self.record)

    def _renew_loop(self, every: float) -> None:
        while not self._stop.wait(every):
            with self._guard:
                try:
                    renewed = self.lease.renew(self.record)
                except Exception:  # noqa: BLE001 - a failed renewal is retried next period; expiry is the backstop
                    continue
                if renewed is None:
                    self.lost = True
                    return
                self.record = renewed

    def release(self, annotations: dict[str, str] | None = None) -> bool:
        """Stop renewing, write the final annotations and free the Lease; False if it was lost."""
        self._stop.set()
        self._thread.join()
        with self._guard:
            return not self.lost and self.lease.release(self.record, annotations)


def acquire(lease: Lease, *, wait: float, poll: float = 0.5, sleep: Callable[[float], None] = time.sleep,
            on_wait: Callable[[LeaseRecord], None] | None = None) -> Held:
    """Take the lease, waiting up to `wait` seconds for its holder; raise EnvironmentBusy after that."""
    deadline = lease.clock() + wait
    told = False
    while True:
        ours, seen = lease.try_acquire()
        if ours is not None:
            return Held(lease, ours, renew_every=max(0.2, lease.duration / 3))
        if seen is not None and on_wait and not told:
            on_wait(seen)
            told = True
        if lease.clock() >= deadline:
            holder = seen.holder if seen else "another process"
            expires = seen.expires_at() if seen else None
            left = f", its lease expires in {max(0, expires - lease.clock()):.0f}s unless renewed" if expires else ""
            raise EnvironmentBusy(
                f"{lease} is held by {holder} (another reconcile of this environment is running{left})",
                hint="wait for it to finish and run again, or raise --lock-timeout",
            )
        sleep(min(poll, max(0.0, deadline - lease.clock())) or poll)


def describe_holder(record: LeaseRecord, now: float) -> str:
    expires = record.expires_at()
    left = f", lease expires in {max(0, expires - now):.0f}s" if expires else ""
    return f"{record.holder}{left}"


def record_annotations(*, applied: str | None, attempt: Attempt) -> dict[str, Any]:
    annotations = {STATUS_ANNOTATION: attempt.to_annotation()}
    if applied is not None:  # "" clears it: after an incomplete apply the cluster is at no known revision
        annotations[REVISION_ANNOTATION] = applied
    return annotations
