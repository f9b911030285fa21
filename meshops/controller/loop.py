"""The controller's loop: elect a leader (or hold shards); the leader polls, takes webhooks and drives rollouts.

Every replica serves `/healthz` and `/metrics`; only the leader is ready (`/readyz`), so a
Kubernetes Service sends webhooks to it, and a follower that gets one anyway answers 503. The
leader reconciles when it takes over (rollouts a previous leader left running are picked up from
their state in the cluster), then every `interval` and on every accepted push. Reconciles run one
at a time in the worker; each environment's own Lease still guards against any other process.
With shards (`controller.shards.ShardKeeper` in the elector's place) every replica holding a shard
is ready and does all of this for the targets of its shards.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from ..webhook.server import WebhookServer
from ..webhook.worker import ReconcileWorker
from .leader import LeaderElector
from .shards import ShardKeeper

log = logging.getLogger("meshops.controller")


@dataclass
class Controller:
    """The parts, wired; `run()` blocks until `stop` is set or leadership is lost."""

    elector: LeaderElector | ShardKeeper
    worker: ReconcileWorker
    server: WebhookServer
    interval: float
    stop: threading.Event
    lost: str | None = None

    def step_down(self, reason: str) -> None:
        self.lost = reason
        self.stop.set()

    def run(self) -> None:
        election = threading.Thread(target=self.elector.run, args=(self.stop,), name="leader-election", daemon=True)
        election.start()
        while not self.stop.wait(self.interval):
            if self.elector.leading.is_set():
                self.worker.request("poll")
        election.join()
