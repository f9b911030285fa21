"""Sharding: N controller replicas split the environment × cluster targets between them with Leases.

Where one process is not enough (many clusters, long canaries), `meshops controller --shards N`
runs as N replicas. Every target (environment, cluster) belongs to one of N shards, by a hash of
its name that every replica computes alike (`shard_of`), and each shard is a Lease
(`<lease>-shard-<i>`) held by one replica at a time; a replica reconciles the targets of the
shards it holds and only observes the others (their records still gate its waves and promotions).

Balance comes from membership: each replica renews a member Lease (`<lease>-member-<identity>`), so
all see how many replicas are alive and aim at `ceil(N / replicas)` shards each — one that holds
more releases the highest ones, one that holds fewer takes shards that are free or whose holder
stopped renewing. A replica that dies stops renewing both: within the lease duration (plus one
retry period to notice) its shards are taken by the others — Kubernetes is the distributed engine,
as with Argo CD's application-controller shards. Every write is guarded by resourceVersion, so two
replicas never both win a shard; each target's own reconcile Lease still makes sure no two
processes ever write one cluster at once, even while a shard changes hands.

A push accepted by any replica is announced on every shard Lease (an annotation), so each holder
reconciles its targets at once instead of at its next poll.
"""
from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
from typing import Callable

from ..cluster.api import ApiError, KubeApi
from ..model.errors import MeshopsError
from ..reconcile.lease import Lease, LeaseRecord, list_leases

log = logging.getLogger("meshops.shards")

# Labels that tell the controller's own Leases apart: which controller (its lease name) and what for.
CONTROLLER_LABEL = "meshops.dev/controller"
ROLE_LABEL = "meshops.dev/role"
# The annotation a push is announced with on every shard Lease (value: the delivery id).
PUSH_ANNOTATION = "meshops.dev/push"
# A member Lease not renewed for this many lease durations belongs to a replica gone for good.
FORGET_AFTER = 10
# Lease names are DNS subdomains: an identity (a pod name, or host-pid-random) is reduced to that.
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


def shard_of(environment: str, cluster: str, shards: int) -> int:
    """The shard of a target: the same on every replica and every run (sha256 of `environment/cluster`)."""
    digest = hashlib.sha256(f"{environment}/{cluster}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards


def _dns(identity: str) -> str:
    cleaned = _NOT_DNS.sub("-", identity.lower()).strip("-")[:40] or "replica"
    return f"{cleaned}-{hashlib.sha256(identity.encode()).hexdigest()[:8]}"


class ShardKeeper:
    """Holds this replica's share of the shards (see module docstring); the controller's elector when N > 1."""

    def __init__(self, api: KubeApi, *, namespace: str, name: str, identity: str, shards: int, duration: float,
                 on_gained: Callable[[str], None], retry_period: float | None = None) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.shards = shards
        self.duration = duration
        self.on_gained = on_gained
        self.retry_period = retry_period or max(0.2, duration / 5)
        self.leading = threading.Event()  # set while this replica holds at least one shard (it is ready)
        self.holder: str | None = None  # for messages: who holds shards, as last seen
        self._held: dict[int, LeaseRecord] = {}
        self._guard = threading.Lock()
        self._pushes: dict[int, str] = {}
        labels = {CONTROLLER_LABEL: name}
        self._member = Lease(api, namespace=namespace, name=f"{name}-member-{_dns(identity)}", identity=identity,
                             duration=duration, labels={**labels, ROLE_LABEL: "member"})
        self._member_record: LeaseRecord | None = None
        self._leases = [Lease(api, namespace=namespace, name=f"{name}-shard-{index}", identity=identity, duration=duration,
                              labels={**labels, ROLE_LABEL: "shard"}) for index in range(shards)]

    @property
    def held(self) -> list[int]:
        with self._guard:
            return sorted(self._held)

    def owns(self, environment: str, cluster: str) -> bool:
        """Whether this replica reconciles the target now (its shard is held here)."""
        with self._guard:
            return shard_of(environment, cluster, self.shards) in self._held

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except (MeshopsError, ApiError) as error:
                text = error.one_line() if isinstance(error, MeshopsError) else str(error)
                log.warning("shards: %s", text)
            stop.wait(self.retry_period)
        self.release_all()

    def tick(self) -> None:
        """Renew, balance and take: one round of the loop (one LIST, a write per Lease renewed or taken)."""
        now = self._member.clock()
        self._renew_member()
        seen = list_leases(self.api, namespace=self.namespace, label_selector=f"{CONTROLLER_LABEL}={self.name}")
        members = [record for name, record in seen.items() if name.startswith(f"{self.name}-member-")]
        alive = [record for record in members if record.holder and (record.expires_at() or 0) > now]
        self._forget(members, now)
        target = math.ceil(self.shards / max(1, len(alive)))
        self._renew_shards()
        self._release_extra(target)
        self._take(seen, target, now)
        holders = sorted({record.holder for name, record in seen.items() if "-shard-" in name and record.holder})
        self.holder = ", ".join(holders) or None

    def _renew_member(self) -> None:
        if self._member_record is not None:
            self._member_record = self._member.renew(self._member_record)
        if self._member_record is None:
            self._member_record, _ = self._member.try_acquire()

    def _forget(self, members: list[LeaseRecord], now: float) -> None:
        """Delete member Leases of replicas gone for good (the Lease list stays as long as the replicas)."""
        for record in members:
            expires = record.expires_at()
            if expires is not None and now - expires > FORGET_AFTER * max(record.duration, 1):
                name = record.body.get("metadata", {}).get("name", "")
                Lease(self.api, namespace=self.namespace, name=name, identity=self.identity, duration=self.duration).delete()

    def _renew_shards(self) -> None:
        for index in self.held:
            record = self._leases[index].renew(self._held[index])
            with self._guard:
                if record is None:
                    self._held.pop(index, None)
                    log.error("lost shard %d (%s): another replica took it", index, self._leases[index])
                    continue
                self._held[index] = record
            self._notice_push(index, record)
        self._set_leading()

    def _release_extra(self, target: int) -> None:
        """Hand back the highest shards beyond this replica's share, for the replicas that hold fewer."""
        for index in reversed(self.held):
            if len(self.held) <= target:
                break
            with self._guard:
                record = self._held.pop(index)
            self._leases[index].release(record)
            log.info("released shard %d to balance %d shards over the replicas", index, self.shards)
        self._set_leading()

    def _take(self, seen: dict[str, LeaseRecord], target: int, now: float) -> None:
        """Take free shards (released, or their holder stopped renewing) up to this replica's share."""
        for index, lease in enumerate(self._leases):
            if len(self.held) >= target:
                break
            if index in self.held:
                continue
            current = seen.get(lease.name)
            if current is not None and current.held_by_other(self.identity, now):
                continue
            record, _ = lease.try_acquire()
            if record is None:
                continue
            previous = current.holder if current is not None else None
            with self._guard:
                self._held[index] = record
            self._pushes[index] = record.annotations.get(PUSH_ANNOTATION, "")
            log.info("took shard %d (%s)%s", index, lease, f", which {previous} held" if previous and previous != self.identity else "")
            self._set_leading()
            self.on_gained(f"shard {index}")

    def _notice_push(self, index: int, record: LeaseRecord) -> None:
        pushed = record.annotations.get(PUSH_ANNOTATION, "")
        if pushed and pushed != self._pushes.get(index):
            self._pushes[index] = pushed
            self.on_gained(f"push {pushed} (shard {index})")

    def _set_leading(self) -> None:
        if self.held:
            self.leading.set()
        else:
            self.leading.clear()

    def announce_push(self, delivery: str) -> None:
        """Tell every shard's holder about an accepted push (they reconcile their targets at once)."""
        for lease in self._leases:
            try:
                lease.annotate({PUSH_ANNOTATION: delivery})
            except (MeshopsError, ApiError) as error:
                log.warning("could not announce push %s on %s: %s", delivery, lease, error)

    def release_all(self) -> None:
        """On a clean stop: free the shards and the member Lease so the others need not wait for expiry."""
        for index in self.held:
            with self._guard:
                record = self._held.pop(index)
            try:
                self._leases[index].release(record)
                log.info("released shard %d", index)
            except (MeshopsError, ApiError):
                pass  # it expires on its own
        try:
            self._member.delete()
        except (MeshopsError, ApiError):
            pass
        self.leading.clear()
