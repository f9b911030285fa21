"""The environments view: per (environment, cluster), what was applied, whether the cluster still matches.

For each environment of the branch head, in promotion order, and each of its clusters: the record
on its Lease (last applied revision, the last reconcile with who, when, phase and reason), drift
(the plan of the applied revision against the cluster: objects someone changed, added or removed
since — the same plan `meshops diff` makes, so a rollout's own weights are not drift), freeze
windows (declared, and which is open now), promotion order, and its rollouts. Reading one
environment never fails the page: what could not be read becomes that row's `problem`.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from ..cluster.target import Connection, Target
from ..diff.plan import Action
from ..diff.routes import route_changes
from ..model.errors import MeshopsError
from ..pipeline.freeze import open_windows
from ..pipeline.plan import plan_rendered
from ..pipeline.rollouts import rollout_store
from ..reconcile.lock import Attempt, EnvRecord, Phase
from ..rollout.routes import describe_weights
from ..rollout.state import ACTIVE_PHASES
from ..rollout.state import Phase as RolloutPhase
from ..source.envconfig import EnvConfig
from .sources import Head, Sources

# Seconds an overview is reused: every open tab polls, one read of the cluster serves them all.
OVERVIEW_TTL = 2.0
# Seconds a drift result is reused: a plan lists every kind the environment renders (one LIST each;
# about 25 ms for the example repo's 38 objects on the sandbox), so it is refreshed less often
# than the Lease records and rollouts, which are one read each.
DRIFT_TTL = 4.0
# Environments read at once: enough that one unreachable cluster does not hold the others back.
READERS = 8
# Changed fields named per drifted object (the rest is on the plan page).
FIELDS_SHOWN = 4


def problem_text(error: Exception) -> str:
    """A read failure as one line (never a traceback)."""
    if isinstance(error, MeshopsError):
        return error.one_line().removeprefix("error: ")
    return f"{type(error).__name__}: {error}"


@dataclass(frozen=True)
class DriftedObject:
    """One object whose live state differs from the compared revision."""

    action: str  # create (missing live), update (changed live), prune (extra live), conflict (not ours)
    kind: str
    namespace: str
    name: str
    routes: tuple[str, ...] = ()  # `reviews: v1 100→80, v2 –→20`
    fields: tuple[str, ...] = ()  # JSON pointers of the changed fields (updates)
    reason: str = ""


@dataclass(frozen=True)
class Drift:
    """Whether the cluster still matches the revision it was compared with."""

    status: str  # in-sync; drifted (from the applied revision); out-of-sync (from the head, nothing recorded); unknown
    revision: str | None  # what the cluster was compared with
    basis: str  # "applied" (the Lease's record) or "head" (no record: the branch head)
    objects: tuple[DriftedObject, ...] = ()
    summary: str = ""  # the plan's summary, or why drift is unknown


@dataclass(frozen=True)
class FreezeView:
    """One declared freeze window, and whether it is open now."""

    when: str
    reason: str
    open: bool
    until: str | None
    source: str


@dataclass(frozen=True)
class RolloutLine:
    """One rollout as the environments page lists it."""

    namespace: str
    name: str
    phase: str
    step: int
    steps: int
    weights: str
    stable: str
    canary: str
    message: str
    updated_at: float | None
    revision: str | None = None  # the git revision that started it


@dataclass(frozen=True)
class EnvironmentRow:
    """One environment on one cluster."""

    environment: str
    cluster: str
    namespace: str
    position: int  # 1-based place in promotion order
    after: str | None
    head: str
    record: EnvRecord | None
    drift: Drift | None
    freeze: tuple[FreezeView, ...]
    freeze_problem: str
    rollouts: tuple[RolloutLine, ...]
    problem: str = ""  # the cluster could not be read

    @property
    def attempt(self) -> Attempt | None:
        return self.record.attempt if self.record else None

    @property
    def applied(self) -> str | None:
        return self.record.applied if self.record else None

    @property
    def pending(self) -> bool:
        """Git moved on since the last applied revision (the next reconcile applies it)."""
        return bool(self.applied) and self.applied != self.head

    @property
    def status(self) -> str:
        """The one word the row's badge shows: the first rule of `STATUS_RULES` that holds."""
        return next(status for status, holds in STATUS_RULES if holds(self))


# The badge of a row, first match wins: what needs a person's attention comes first.
STATUS_RULES: tuple[tuple[str, Callable[[EnvironmentRow], bool]], ...] = (
    ("unreachable", lambda row: bool(row.problem)),
    ("failed", lambda row: bool(row.attempt and row.attempt.phase == Phase.FAILED)),
    # The analysis rolled back the revision the cluster is compared with: git names a version that is not serving.
    ("failed", lambda row: any(line.phase == RolloutPhase.FAILED and row.drift and line.revision == row.drift.revision
                               for line in row.rollouts)),
    ("frozen", lambda row: any(window.open for window in row.freeze)),
    ("progressing", lambda row: any(line.phase in ACTIVE_PHASES for line in row.rollouts)),
    ("drifted", lambda row: bool(row.drift and row.drift.status == "drifted")),
    ("out-of-sync", lambda row: bool(row.drift and row.drift.status == "out-of-sync")),
    ("unknown", lambda row: row.drift is None or row.drift.status == "unknown"),
    ("in-sync", lambda row: True),
)


@dataclass(frozen=True)
class Overview:
    """Every environment row of the branch head, in promotion order."""

    head: Head | None
    rows: tuple[EnvironmentRow, ...]
    problem: str
    generated_at: float


def _window_text(entry: dict[str, Any]) -> str:
    if "cron" in entry:
        return f"cron {entry.get('cron')} for {entry.get('duration', '?')} (UTC)"
    return f"{entry.get('from', '…')} → {entry.get('to', '…')}"


def freeze_windows(config: EnvConfig, now: datetime) -> tuple[tuple[FreezeView, ...], str]:
    """Every declared window, the open ones marked; a broken declaration is the second value."""
    entries = [entry for entry in config.section("freeze") or [] if isinstance(entry, dict)]
    try:
        opened = {window.source: window for window in open_windows(config, now)}
    except MeshopsError as error:
        opened, problem = {}, problem_text(error)
    else:
        problem = ""
    views = []
    for index, entry in enumerate(entries):
        source = str(config.location("freeze", index))
        window = opened.get(source)
        until = window.until.strftime("%Y-%m-%d %H:%M UTC") if window and window.until else None
        views.append(FreezeView(when=_window_text(entry), reason=str(entry.get("reason", "")), open=window is not None,
                                until=until, source=source))
    return tuple(views), problem


def drift_of(sources: Sources, *, config: EnvConfig, connection: Connection, record: EnvRecord, head: str) -> Drift:
    """The applied revision's plan against the cluster (the head's when nothing was recorded)."""
    basis, revision = ("applied", record.applied) if record.applied else ("head", head)
    try:
        planned = plan_rendered(sources.rendered(config.name, revision), connection)
    except MeshopsError as error:
        return Drift("unknown", revision, basis, summary=problem_text(error))
    changed = [change for change in planned.plan.changes if change.action is not Action.UNCHANGED]
    objects = tuple(
        DriftedObject(action=change.action.value, kind=change.key.kind, namespace=change.key.namespace or "",
                      name=change.key.name, routes=tuple(route_changes(change)),
                      fields=tuple(sorted({op["path"] for op in change.patch}))[:FIELDS_SHOWN], reason=change.reason)
        for change in changed)
    differs = "drifted" if basis == "applied" else "out-of-sync"
    return Drift(differs if objects else "in-sync", revision, basis, objects, planned.plan.summary())


def rollout_lines(connection: Connection, environment: str) -> tuple[RolloutLine, ...]:
    """The environment's rollouts on one cluster (none when the cluster serves no VirtualServices)."""
    try:
        store = rollout_store(connection, owner=None)
    except MeshopsError:
        return ()
    lines = []
    for live in store.list(environment):
        state = live.state
        lines.append(RolloutLine(namespace=live.ref.namespace, name=live.ref.name, phase=state.phase, step=state.step,
                                 steps=len(state.weights), weights=describe_weights(state.current), stable=state.stable,
                                 canary=state.canary, message=state.message, updated_at=state.updated_at,
                                 revision=state.revision))
    return tuple(sorted(lines, key=lambda line: (line.phase not in ACTIVE_PHASES, -(line.updated_at or 0))))


class EnvironmentsReader:
    """Builds overviews, reusing a recent one (`ttl`) and recent drift results (`drift_ttl`)."""

    def __init__(self, sources: Sources, *, ttl: float = OVERVIEW_TTL, drift_ttl: float = DRIFT_TTL,
                 clock: Callable[[], float] = time.time) -> None:
        self.sources = sources
        self.ttl = ttl
        self.drift_ttl = drift_ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._overview: Overview | None = None
        self._drifts: dict[tuple[str, str], tuple[float, Drift]] = {}  # (environment, cluster) -> (when, drift)

    def overview(self) -> Overview:
        with self._lock:
            if self._overview is None or self.clock() - self._overview.generated_at >= self.ttl:
                self._overview = self._read()
            return self._overview

    def _read(self) -> Overview:
        now = self.clock()
        try:
            head = self.sources.head()
        except MeshopsError as error:
            return Overview(None, (), problem_text(error), now)
        jobs = [(position, config, target) for position, config in enumerate(head.configs, start=1)
                for target in self.sources.targets(config)]
        if not jobs:
            return Overview(head, (), head.problem, now)
        # Side by side: the page takes as long as the slowest cluster, not the sum of them.
        with ThreadPoolExecutor(max_workers=min(READERS, len(jobs)), thread_name_prefix="dashboard-read") as pool:
            rows = pool.map(lambda job: self._row(job[1], job[2], head=head.revision, position=job[0], now=now), jobs)
            return Overview(head, tuple(rows), head.problem, now)

    def _row(self, config: EnvConfig, target: Target, *, head: str, position: int, now: float) -> EnvironmentRow:
        freeze, freeze_problem = freeze_windows(config, datetime.fromtimestamp(now, tz=timezone.utc))
        row = dict(environment=config.name, cluster=target.cluster, namespace=config.namespace, position=position,
                   after=(config.section("promotion") or {}).get("after"), head=head, freeze=freeze,
                   freeze_problem=freeze_problem)
        try:
            connection = self.sources.connection(target)
            record = self.sources.record(connection, config)
            rollouts = rollout_lines(connection, config.name)
            drift = self._drift(config, target, connection, record, head=head, now=now)
        except MeshopsError as error:
            self.sources.forget(target)
            return EnvironmentRow(**row, record=None, drift=None, rollouts=(), problem=problem_text(error))
        return EnvironmentRow(**row, record=record, drift=drift, rollouts=rollouts)

    def _drift(self, config: EnvConfig, target: Target, connection: Connection, record: EnvRecord, *, head: str,
               now: float) -> Drift:
        key = (config.name, target.cluster)
        cached = self._drifts.get(key)
        if cached is not None and now - cached[0] < self.drift_ttl and cached[1].revision == (record.applied or head):
            return cached[1]
        drift = drift_of(self.sources, config=config, connection=connection, record=record, head=head)
        self._drifts[key] = (now, drift)
        return drift
