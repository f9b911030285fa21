"""`coordination.k8s.io/v1` Leases: who holds a lock, until when, and a place for notes.

The Kubernetes way to say "one process at a time" (controller-runtime's leader election uses
the same object): `spec.holderIdentity`, `renewTime` and `leaseDurationSeconds`. A holder renews
well before the duration runs out; a Lease whose renewTime is older than its duration belongs
to a dead process and may be taken over. Every write carries the resourceVersion read just
before, so two candidates can never both win: the second gets 409 and tries again later.
Both the per-environment reconcile lock and controller leader election stand on this module.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from ..cluster.api import ApiError, KubeApi
from ..model.identity import FIELD_MANAGER, MANAGED_BY_LABEL, MANAGED_BY_VALUE

API_VERSION = "coordination.k8s.io/v1"
# Only the managed-by label: prune needs managed-by *and* an environment label, so a Lease is never pruned.
LABELS = {MANAGED_BY_LABEL: MANAGED_BY_VALUE, "app.kubernetes.io/component": "lock"}
WRITE_QUERY = {"fieldManager": FIELD_MANAGER}

Clock = Callable[[], float]


def micro_time(epoch: float) -> str:
    """Kubernetes MicroTime: RFC 3339 with microseconds, UTC."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass
class LeaseRecord:
    """What a Lease says, plus the resourceVersion to guard the next write with."""

    holder: str | None
    duration: float
    renewed: float | None
    transitions: int
    annotations: dict[str, str]
    resource_version: str | None
    body: dict[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def from_object(cls, obj: dict[str, Any]) -> "LeaseRecord":
        spec = obj.get("spec") or {}
        metadata = obj.get("metadata") or {}
        return cls(
            holder=spec.get("holderIdentity") or None,
            duration=float(spec.get("leaseDurationSeconds") or 0),
            renewed=parse_time(spec.get("renewTime")),
            transitions=int(spec.get("leaseTransitions") or 0),
            annotations=dict(metadata.get("annotations") or {}),
            resource_version=metadata.get("resourceVersion"),
            body=obj,
        )

    def expires_at(self) -> float | None:
        return None if self.renewed is None else self.renewed + self.duration

    def held_by_other(self, identity: str, now: float) -> bool:
        """True while someone else holds it and has renewed within the duration."""
        if not self.holder or self.holder == identity:
            return False
        expires = self.expires_at()
        return expires is not None and now < expires


class Lease:
    """One named Lease, as seen by one candidate `identity`."""

    def __init__(self, api: KubeApi, *, namespace: str, name: str, identity: str, duration: float,
                 clock: Clock = time.time, labels: dict[str, str] | None = None) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.duration = duration
        self.clock = clock
        self.labels = {**LABELS, **(labels or {})}

    @property
    def path(self) -> str:
        return f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases/{self.name}"

    def __str__(self) -> str:
        return f"Lease {self.namespace}/{self.name}"

    def read(self) -> LeaseRecord | None:
        try:
            return LeaseRecord.from_object(self.api.request("GET", self.path))
        except ApiError as error:
            if error.not_found:
                return None
            raise

    def _spec(self, previous: LeaseRecord | None, now: float) -> dict[str, Any]:
        taking_over = previous is None or previous.holder != self.identity
        spec = dict((previous.body.get("spec") or {}) if previous else {})
        spec.update(holderIdentity=self.identity, leaseDurationSeconds=max(1, round(self.duration)), renewTime=micro_time(now))
        if taking_over:
            spec["acquireTime"] = micro_time(now)
            spec["leaseTransitions"] = (previous.transitions + 1) if previous else 0
        return spec

    def _write(self, previous: LeaseRecord, spec: dict[str, Any], annotations: dict[str, str] | None = None) -> LeaseRecord | None:
        """PUT guarded by the previous resourceVersion; None when someone wrote in between."""
        metadata = dict(previous.body.get("metadata") or {})
        if annotations:
            metadata["annotations"] = {**(metadata.get("annotations") or {}), **annotations}
        body = {"apiVersion": API_VERSION, "kind": "Lease", "metadata": metadata, "spec": spec}
        try:
            return LeaseRecord.from_object(self.api.request("PUT", self.path, body=body, query=WRITE_QUERY))
        except ApiError as error:
            if error.conflict or error.not_found:
                return None
            raise

    def try_acquire(self) -> tuple[LeaseRecord | None, LeaseRecord | None]:
        """(ours, None) when we hold it now; (None, seen) when someone else does (seen may be None on a race)."""
        now = self.clock()
        current = self.read()
        if current is None:
            body = {
                "apiVersion": API_VERSION,
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace, "labels": dict(self.labels)},
                "spec": self._spec(None, now),
            }
            try:
                return LeaseRecord.from_object(self.api.request("POST", self.path.rsplit("/", 1)[0], body=body, query=WRITE_QUERY)), None
            except ApiError as error:
                if error.conflict:
                    return None, None
                raise
        if current.held_by_other(self.identity, now):
            return None, current
        ours = self._write(current, self._spec(current, now))
        return ours, (None if ours else current)

    def renew(self, record: LeaseRecord, annotations: dict[str, str] | None = None) -> LeaseRecord | None:
        """Extend our hold (optionally adding annotations); None when it is no longer ours."""
        ours = self._write(record, self._spec(record, self.clock()), annotations)
        if ours is not None:
            return ours
        current = self.read()
        if current is None or current.holder != self.identity:
            return None
        return self._write(current, self._spec(current, self.clock()), annotations)

    def annotate(self, annotations: dict[str, str], *, attempts: int = 3) -> bool:
        """Add annotations to the Lease whoever holds it (its spec untouched); False when it does not exist."""
        for _ in range(attempts):
            current = self.read()
            if current is None:
                return False
            if self._write(current, dict(current.body.get("spec") or {}), annotations) is not None:
                return True
        return False

    def delete(self) -> None:
        """Remove the Lease (gone already is fine)."""
        try:
            self.api.request("DELETE", self.path)
        except ApiError as error:
            if not error.not_found:
                raise

    def release(self, record: LeaseRecord, annotations: dict[str, str] | None = None) -> bool:
        """Give it up (with final annotations) so the next candidate need not wait for expiry."""
        spec = {key: value for key, value in (record.body.get("spec") or {}).items() if key != "holderIdentity"}
        spec["renewTime"] = micro_time(self.clock())
        if self._write(record, spec, annotations) is not None:
            return True
        current = self.read()
        if current is None or current.holder != self.identity:
            return False
        return self._write(current, spec, annotations) is not None


def list_leases(api: KubeApi, *, namespace: str, label_selector: str) -> dict[str, LeaseRecord]:
    """The Leases of `namespace` that `label_selector` selects, by name (one LIST)."""
    answer = api.request("GET", f"/apis/{API_VERSION}/namespaces/{namespace}/leases", query={"labelSelector": label_selector})
    return {item["metadata"]["name"]: LeaseRecord.from_object(item) for item in answer.get("items") or []}
