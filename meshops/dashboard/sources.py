"""Where the dashboard reads from: the config repo at its branch head, and each environment's clusters.

`Sources` keeps a bare mirror of the config repository (the same cache `reconcile` uses) and
fetches it at most every `refetch` seconds, however many people look, in the background once a
first head is known (a slow git server never holds a page); when a fetch fails, the last good
head is kept and the failure shown. Cluster reads retry briefly: a page says "unreachable" soon
rather than waiting out the backoff a write deserves. Each environment is read per cluster target:
today one (`default`), so rows are keyed by (environment, cluster) and a second cluster is one
more target here. Connections and renders of a revision are kept (a revision never changes).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Callable

from ..cluster.api import RetryPolicy
from ..cluster.target import Connection, Target
from ..metrics.source import MetricsSource
from ..model.errors import MeshopsError
from ..model.masking import mask_url
from ..pipeline.operator import Operator
from ..pipeline.rendering import render_environment
from ..pipeline.rollouts import metrics_source
from ..pipeline.targets import target_of
from ..reconcile.gitcache import GitCache
from ..reconcile.lease import Lease
from ..reconcile.lock import EnvRecord, lease_name
from ..render import RenderResult
from ..source.envconfig import EnvConfig, list_environments, load_env_config
from ..source.promotion import promotion_order
from ..source.repo import open_source

log = logging.getLogger("meshops.dashboard")

# Seconds between fetches of the config repo: a page view is never a git fetch of its own.
DEFAULT_REFETCH = 30.0
# Renders kept (one per environment and revision seen): a revision's render never changes.
RENDER_CACHE = 32
# The Lease holder the dashboard would be, were it ever to write (it never does).
READER_IDENTITY = "meshops-dashboard"
# Reads for a page: one retry after a short pause, then the page shows the error (apply's policy
# waits up to half a minute, which a person looking at a page should not).
READ_RETRY = RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0, max_retry_after=2.0)


@dataclass(frozen=True)
class Origin:
    """What the dashboard shows: which repository and branch, which environments, which clusters."""

    repo: str
    ref: str = "HEAD"
    cache_dir: str | None = None
    environments: tuple[str, ...] = ()  # empty: all
    # The cluster credentials, owner id and Prometheus settings, as the reconciling process has them.
    operator: Operator = Operator()
    refetch: float = DEFAULT_REFETCH


@dataclass(frozen=True)
class Head:
    """The config repo as last fetched: its revision and environments in promotion order."""

    location: str  # credentials masked
    ref: str
    revision: str
    mirror: str  # the bare mirror's path, for rendering
    configs: tuple[EnvConfig, ...]
    fetched_at: float
    problem: str = ""  # why the last fetch failed (the head is then the one before)


@dataclass
class Sources:
    """The dashboard's reads (see module docstring); thread-safe, shared by every request."""

    origin: Origin
    clock: Callable[[], float] = time.time
    _head: Head | None = field(default=None, init=False)
    _fetch_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _refreshing: bool = field(default=False, init=False)
    _connections: dict[tuple[str, str], Connection] = field(default_factory=dict, init=False)
    _renders: OrderedDict = field(default_factory=OrderedDict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def head(self) -> Head:
        """The branch head: fetched now the first time (MeshopsError if that fails), later refreshed in
        the background when older than `refetch`, the last one answering meanwhile."""
        with self._fetch_lock:
            if self._head is None:
                self._head = self._fetch()
            elif not self._refreshing and self.clock() - self._head.fetched_at >= self.origin.refetch:
                self._refreshing = True
                threading.Thread(target=self._refresh, name="dashboard-fetch", daemon=True).start()
            return self._head

    def _refresh(self) -> None:
        fresh, problem = None, ""
        try:
            fresh = self._fetch()
        except MeshopsError as error:
            problem = error.one_line().removeprefix("error: ")
        except Exception as error:  # noqa: BLE001 - a bug must not end refreshing for good; the log has it
            log.exception("dashboard: fetching the config repository failed")
            problem = f"fetching the config repository failed: {type(error).__name__} (see the meshops log)"
        finally:
            with self._fetch_lock:
                self._head = fresh or replace(self._head, fetched_at=self.clock(), problem=problem)
                self._refreshing = False

    def _fetch(self) -> Head:
        mirror = GitCache(self.origin.cache_dir).fetch(self.origin.repo, self.origin.ref)
        tree = open_source(mirror.path, mirror.revision).tree
        configs = promotion_order([load_env_config(tree, name) for name in list_environments(tree)])
        chosen = tuple(c for c in configs if not self.origin.environments or c.name in self.origin.environments)
        return Head(location=mask_url(mirror.location), ref=self.origin.ref, revision=mirror.revision, mirror=str(mirror.path),
                    configs=chosen, fetched_at=self.clock())

    def config(self, environment: str) -> EnvConfig | None:
        return next((c for c in self.head().configs if c.name == environment), None)

    def targets(self, config: EnvConfig) -> list[Target]:
        """The clusters of an environment, each a target; one (`default`) until environments list several."""
        return [target_of(config, self.origin.operator)]

    def connection(self, target: Target) -> Connection:
        """A connection to `target`, made once and kept (its discovery cache with it)."""
        key = (target.environment, target.cluster)
        with self._lock:
            known = self._connections.get(key)
        if known is not None:
            return known
        made = target.connect(retry=READ_RETRY)
        with self._lock:
            return self._connections.setdefault(key, made)

    def forget(self, target: Target) -> None:
        """Drop a connection that failed, so the next read connects again."""
        with self._lock:
            self._connections.pop((target.environment, target.cluster), None)

    def record(self, connection: Connection, config: EnvConfig) -> EnvRecord:
        """What the environment's Lease says about its last reconcile (empty when there is none)."""
        lease = Lease(connection.api, namespace=config.namespace, name=lease_name(config.name), identity=READER_IDENTITY,
                      duration=0)
        return EnvRecord.from_lease(lease.read())

    def rendered(self, environment: str, revision: str) -> RenderResult:
        """The environment rendered at `revision` from the mirror (kept: a revision's render never changes)."""
        key = (environment, revision)
        with self._lock:
            if key in self._renders:
                self._renders.move_to_end(key)
                return self._renders[key]
        rendered = render_environment(repo=self.head().mirror, ref=revision, environment=environment)
        with self._lock:
            self._renders[key] = rendered
            while len(self._renders) > RENDER_CACHE:
                self._renders.popitem(last=False)
        return rendered

    def metrics(self, config: EnvConfig) -> MetricsSource:
        """The environment's Prometheus under the operator's settings (`--prometheus-url` wins), as rollout analysis uses it."""
        return metrics_source(config, operator=self.origin.operator)
