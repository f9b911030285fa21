"""Reconcile one cluster of one environment — or, when another process owns it, read how it stands.

Per cluster: read its Lease record -> skip it when the change since its last applied revision
cannot affect it -> refuse inside a freeze window -> take the lock (bounded wait) -> look again
(another process may have applied it meanwhile: nothing is applied twice) -> render (with the
cluster's values layer), validate, plan -> apply -> drive or look at the rollouts it started ->
write the record and release. A cluster this process does not own (a controller replica's other
shards, clusters outside `--cluster`/`--wave`) is only observed: its record says whether it is at
the revision, still rolling out, failed, or waiting for its owner — which is what gates the next
wave and the next environment. `reconciler` walks the environments and waves and calls this.

A cluster never prunes massively on its own: a plan the mass-prune brake refuses stops the cluster
with the reason on its Lease record and a Warning Event on the Lease, and the same revision is not
tried again there; a person pushes a fix or runs `meshops reconcile --allow-mass-prune` once.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

from ..apply.brakes import MassPrune
from ..cluster.api import APPLY_PATCH, ApiError
from ..cluster.target import Connection, Target
from ..model.errors import ApplyIncomplete, ClusterError, ExitCode, MeshopsError
from ..model.identity import DEFAULT_CLUSTER, FIELD_MANAGER, Owner, with_owner
from ..pipeline.apply import apply_environment
from ..pipeline.fleet import Renders
from ..pipeline.freeze import Frozen, check_freeze
from ..pipeline.plan import MissingNamespace, OutOfScope, check_scope
from ..pipeline.rendering import validate_rendered
from ..pipeline.rollouts import check_rollout_settings
from ..pipeline.targets import config_of, owner_of, scope_of
from ..render import RenderResult
from ..source.envconfig import EnvConfig
from .changes import changed_paths, impact
from .lease import Lease, micro_time
from .lock import Attempt, EnvironmentBusy, EnvRecord, Held, Phase, acquire, lease_name, record_annotations
from .report import EnvReport, Outcome
from .rollouts import finish_rollouts

if TYPE_CHECKING:
    from ..source.repo import Source
    from .gitcache import Mirror
    from .reconciler import Settings

Emit = Callable[[str], None]
# The stage a refused prune is recorded under on the Lease, and the reason of its Event.
PRUNE_STAGE = "prune"
PRUNE_REFUSED = "PruneRefused"


@dataclass
class Run:
    """One reconcile in progress: the settings, the mirror, and the side effects passed in."""

    settings: Settings
    mirror: Mirror
    emit: Emit
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    repository: object  # git.Repo of the mirror (change detection)
    source: Source  # the revision fetched: its repository's root commit is the default owner id

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=timezone.utc)

    def attempt(self, revision: str, phase: str, *, stage: str = "", reason: str = "") -> Attempt:
        return Attempt(revision=revision, phase=phase, stage=stage, reason=reason[:500],
                       time=micro_time(self.clock()), by=self.settings.identity,
                       override_freeze=self.settings.override_freeze or "")


def failure(target: Target, error: MeshopsError, *, stage: str, applied: str | None) -> EnvReport:
    return EnvReport(target.environment, Outcome.FAILED, error.one_line().removeprefix("error: "), stage=stage,
                     exit_code=error.exit_code, applied_before=applied, cluster=target.cluster)


@dataclass
class EnvironmentRenders:
    """An environment rendered at the revisions a reconcile needs, once per values set and revision."""

    config: EnvConfig
    by_revision: dict[str, Renders] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)
    warned: set[int] = field(default_factory=set)  # renders whose skipped files were reported

    def at(self, run: Run, revision: str, cluster: str) -> RenderResult:
        """The render `cluster` gets at `revision` (the environment's meshops.yaml of that revision)."""
        from ..pipeline.rendering import check_settings
        from ..source.envconfig import load_env_config
        from ..source.repo import open_source

        with self.guard:
            if revision not in self.by_revision:
                source = open_source(str(run.mirror.path), revision)
                config = self.config if revision == run.mirror.revision else load_env_config(source.tree, self.config.name)
                check_settings(config)  # a broken policy or prometheus: section is found before any write
                self.by_revision[revision] = Renders(source, config)
            renders = self.by_revision[revision]
        rendered = renders.for_cluster(cluster)
        with self.guard:
            first = id(rendered) not in self.warned
            self.warned.add(id(rendered))
        if first:  # once per render: a file in templates/ or manifests/ nobody renders
            for entry in rendered.skipped:
                run.emit(f"{self.config.name}: warning: {entry}")
        return rendered


@dataclass
class ClusterRun:
    """One cluster of an environment being reconciled: its target, connection and Lease."""

    config: EnvConfig
    target: Target
    connection: Connection
    lease: Lease
    renders: EnvironmentRenders
    owner: Owner  # whose objects and rollouts these are (labels alone are not proof)

    @property
    def name(self) -> str:
        return str(self.target)

    def rendered(self, run: Run, revision: str) -> RenderResult:
        return self.renders.at(run, revision, self.target.cluster)


@dataclass(frozen=True)
class Go:
    """A cluster needs the lock: to apply the revision, or only to finish its rollouts."""

    reason: str
    apply: bool = True


def open_cluster(run: Run, config: EnvConfig, target: Target, renders: EnvironmentRenders) -> ClusterRun:
    """Connect to `target` and name its Lease (the environment's namespace must be one this meshops may write)."""
    if not target.allowed.allows(config.namespace):
        raise OutOfScope(f"namespace {config.namespace} (the environment's, where its Lease lives) is outside the "
                         f"namespaces this meshops may write ({target.allowed.describe()})", location=config.location("namespace"),
                         hint="ask whoever runs meshops to allow it (--allowed-namespaces); nothing was written")
    connection = target.connect()
    lease = Lease(connection.api, namespace=config.namespace, name=lease_name(config.name, target.cluster),
                  identity=run.settings.identity, duration=run.settings.lease_seconds, clock=run.clock)
    return ClusterRun(config, target, connection, lease, renders, owner_of(target, run.source))


def observe(run: Run, cluster: ClusterRun) -> EnvReport:
    """How a cluster this process does not own stands, from its record alone (nothing is written)."""
    record = EnvRecord.from_lease(cluster.lease.read())
    decision = decide(run, cluster.target, record)
    if isinstance(decision, EnvReport):
        decision.observed = True
        return decision
    target = cluster.target
    if decision.apply:
        by = f" ({record.holder} holds its lock)" if record.holder else ""
        report = EnvReport(target.environment, Outcome.WAITING, f"not at {run.mirror.revision[:12]} yet: {decision.reason}; "
                           f"left to the process that owns it{by}", applied_before=record.applied, cluster=target.cluster,
                           observed=True)
    else:
        report = EnvReport(target.environment, Outcome.PROGRESSING, decision.reason + " (driven by the process that owns it)",
                           applied_before=record.applied, cluster=target.cluster, observed=True)
    return report


def reconcile_cluster(run: Run, cluster: ClusterRun) -> EnvReport:
    """One cluster, never raising a MeshopsError: every way it ends is an EnvReport."""
    settings, target, config = run.settings, cluster.target, cluster.config
    try:
        record = EnvRecord.from_lease(cluster.lease.read())
        decision = decide(run, target, record)
        if isinstance(decision, EnvReport) and decision.outcome is Outcome.SKIPPED and settings.wait:
            decision = _active_rollouts(cluster) or decision
    except MeshopsError as error:
        return failure(target, error, stage="connect", applied=None)
    if isinstance(decision, EnvReport):
        return decision
    run.emit(f"{cluster.name}: {'reconciling' if decision.apply else 'resuming'}: {decision.reason}")
    if decision.apply:  # rollouts already running may finish inside a freeze; nothing new starts
        try:
            override = check_freeze(config, run.now(), override=settings.override_freeze)
        except Frozen as error:
            return EnvReport(target.environment, Outcome.FROZEN, error.one_line().removeprefix("error: "),
                             exit_code=error.exit_code, applied_before=record.applied, cluster=target.cluster)
        except MeshopsError as error:
            return failure(target, error, stage="freeze", applied=record.applied)
        if override:
            run.emit(f"{cluster.name}: overriding {override.describe()}: {settings.override_freeze}")
    try:
        held = _lock(run, cluster)
    except EnvironmentBusy as error:
        return EnvReport(target.environment, Outcome.BUSY, error.one_line().removeprefix("error: "), exit_code=error.exit_code,
                         applied_before=record.applied, cluster=target.cluster)
    except MeshopsError as error:
        return failure(target, error, stage="lock", applied=record.applied)
    return _locked(run, cluster, held, before=record, resume=None if decision.apply else decision)


def _active_rollouts(cluster: ClusterRun) -> Go | None:
    """Rollouts running in the cluster that no reconcile is driving (started by `meshops apply`, or orphaned)."""
    from .rollouts import ACTIVE_PHASES, rollout_states

    rows = rollout_states(cluster.connection.api, cluster.connection.discovery, owner=cluster.owner,
                          namespace=cluster.config.namespace)
    active = [row["virtualService"] for row in rows if row["phase"] in ACTIVE_PHASES]
    return Go(f"active rollouts found in the cluster: {', '.join(active)}", apply=False) if active else None


def decide(run: Run, target: Target, record: EnvRecord) -> EnvReport | Go:
    """The report of a cluster that needs no lock (skipped, failed earlier), or why it needs one."""
    revision = run.mirror.revision
    attempt = record.attempt
    if record.applied is None and attempt and attempt.stage == "apply":
        return Go(f"the last apply ({attempt.revision[:12]}) did not complete")
    released = run.settings.brake.allow_mass_prune or not run.settings.prune
    if attempt and attempt.revision == revision and attempt.phase == Phase.FAILED and attempt.stage == PRUNE_STAGE and not released:
        narrowed = f" --cluster {target.cluster}" if listed_cluster(target) else ""
        return EnvReport(target.environment, Outcome.FAILED, f"{revision[:12]} was refused: {attempt.reason} (not retried: push "
                         f"a fix, or run `meshops reconcile --env {target.environment}{narrowed} --allow-mass-prune` once)",
                         stage=PRUNE_STAGE, exit_code=ExitCode.INVALID, applied_before=record.applied, cluster=target.cluster)
    changed = changed_paths(run.repository, record.applied, revision) if record.applied and record.applied != revision else None
    listed = target.cluster if listed_cluster(target) else None
    verdict = impact(target.environment, applied=record.applied, target=revision, changed=changed, cluster=listed)
    if verdict.affected:
        return Go(verdict.reason)
    if attempt and attempt.revision == record.applied:
        if attempt.phase == Phase.FAILED:
            return EnvReport(target.environment, Outcome.FAILED, f"{verdict.reason}, whose {attempt.stage or 'reconcile'} failed: "
                             f"{attempt.reason} (not retried; push a fix)", stage=attempt.stage,
                             exit_code=ExitCode.CHANGES_OR_FINDINGS, applied_before=record.applied, cluster=target.cluster)
        if attempt.phase == Phase.PROGRESSING:
            return Go(f"rollouts of {attempt.revision[:12]} were still running", apply=False)
    return EnvReport(target.environment, Outcome.SKIPPED, verdict.reason, applied_before=record.applied, cluster=target.cluster)


def listed_cluster(target: Target) -> bool:
    """Whether `target` is one of the clusters an environment lists (not the simple form's only one)."""
    return target.cluster != DEFAULT_CLUSTER


def _lock(run: Run, cluster: ClusterRun) -> Held:
    """Take the cluster's lock, creating the environment's namespace first when it is rendered but missing."""
    def waiting(seen) -> None:
        run.emit(f"{cluster.name}: waiting for {seen.holder}, which holds {cluster.lease} (up to {run.settings.lock_timeout:.0f}s)")

    try:
        return acquire(cluster.lease, wait=run.settings.lock_timeout, sleep=run.sleep, on_wait=waiting)
    except ApiError as error:
        if not error.not_found:
            raise ClusterError(f"cannot take {cluster.lease}: {error.status} {error.reason}: {error.message}",
                               hint="grant RBAC for coordination.k8s.io leases") from None
    _create_namespace(run, cluster)
    return acquire(cluster.lease, wait=run.settings.lock_timeout, sleep=run.sleep, on_wait=waiting)


def _create_namespace(run: Run, cluster: ClusterRun) -> None:
    """The environment's namespace, as rendered and validated, applied by meshops (the Lease lives in it)."""
    config, api = cluster.config, cluster.connection.api
    rendered = cluster.rendered(run, run.mirror.revision)
    validate_rendered(rendered)  # nothing is written before validation, not even the namespace
    check_scope(rendered, scope_of(cluster.target, rendered), cluster.connection.discovery)
    namespace = next((m.obj for m in rendered.manifests if m.key.kind == "Namespace" and m.key.name == config.namespace), None)
    if namespace is None:
        raise ClusterError(f"namespace {config.namespace!r} (meshops.yaml `namespace`) does not exist in {api.label}",
                           hint="create it, or render a Namespace object for it; nothing was written")
    run.emit(f"{cluster.name}: creating namespace {config.namespace} (it holds the environment's lock)")
    try:
        api.request("PATCH", f"/api/v1/namespaces/{config.namespace}", body=with_owner(namespace, owner_of(cluster.target, rendered)),
                    content_type=APPLY_PATCH,
                    query={"fieldManager": FIELD_MANAGER, "force": "false"})
    except ApiError as error:
        raise ClusterError(f"cannot create namespace {config.namespace}: {error.status} {error.message}",
                           hint="grant RBAC to create namespaces or create it yourself") from None


def _locked(run: Run, cluster: ClusterRun, held: Held, *, before: EnvRecord, resume: Go | None) -> EnvReport:
    """Under the lock: look again, then plan, apply and finish rollouts; always release."""
    record = held.env_record
    annotations: dict[str, str] | None = None
    try:
        again = resume or decide(run, cluster.target, record)
        if isinstance(again, Go):
            report, annotations = _apply(run, cluster, record, go=again, lease=held.record.body)
            return report
        if record != EnvRecord(before.applied, before.attempt, record.holder):
            by = record.attempt.by if record.attempt else "another reconcile"
            again.reason += f" (reconciled meanwhile by {by})"
        return again
    finally:
        released = held.release(annotations)
        if annotations is not None and not released:
            run.emit(f"{cluster.name}: warning: the lock was lost before the record could be written; the next reconcile re-checks")


def _refused(run: Run, cluster: ClusterRun, error: MassPrune, *, revision: str, record: EnvRecord,
             lease: dict) -> tuple[EnvReport, dict[str, str]]:
    """A plan the brake refused: nothing written; the reason on the Lease record (the applied revision
    stays what it was) and a Warning Event on the Lease, for whoever watches the cluster."""
    from ..rollout.event_recorder import EventRecorder

    run.emit(f"{cluster.name}: prune refused, nothing written: {error.message}")
    EventRecorder(cluster.connection.api).record(lease, reason=PRUNE_REFUSED, warning=True,
                                                 message=f"{revision[:12]} not applied: {error.message} ({error.hint})")
    refused = run.attempt(revision, Phase.FAILED, stage=PRUNE_STAGE, reason=error.message)
    return (failure(cluster.target, error, stage=PRUNE_STAGE, applied=record.applied),
            record_annotations(applied=None, attempt=refused))


def _apply(run: Run, cluster: ClusterRun, record: EnvRecord, *, go: Go, lease: dict) -> tuple[EnvReport, dict[str, str] | None]:
    """Plan, apply (unless only resuming rollouts), finish rollouts; the report and the Lease annotations to record."""
    name, target = cluster.name, cluster.target
    revision = run.mirror.revision if go.apply else (record.applied or run.mirror.revision)
    try:
        rendered = cluster.rendered(run, revision)
    except MeshopsError as error:
        return failure(target, error, stage="plan", applied=record.applied), None
    apply_dict = None
    if run.settings.wait:  # Prometheus or receivers that cannot work: refused before apply writes, not after
        try:
            check_rollout_settings(config_of(rendered.config, target), operator=run.settings.operator)
        except MeshopsError as error:
            return failure(target, error, stage="plan", applied=record.applied), None
    if go.apply:
        planned = []  # set once the plan passed validation: errors before that are the plan's, not apply's
        try:
            applied = apply_environment(rendered, cluster.connection, options=run.settings.apply_options, review=planned.append)
        except MassPrune as error:
            return _refused(run, cluster, error, revision=revision, record=record, lease=lease)
        except MeshopsError as error:
            if not planned and not isinstance(error, MissingNamespace):
                return failure(target, error, stage="plan", applied=record.applied), None
            failed = run.attempt(revision, Phase.FAILED, stage="apply", reason=error.message)
            return failure(target, error, stage="apply", applied=record.applied), record_annotations(applied="", attempt=failed)
        result = applied.result
        apply_dict = result.to_dict()
        run.emit(f"{name}: apply: {result.summary()} ({result.writes} write requests)")
        if not result.ok:
            undone = [r for r in result.results if not r.outcome.done]
            reason = f"{len(undone)} objects not applied, e.g. {undone[0].key}: {undone[0].message}"
            failed = run.attempt(revision, Phase.FAILED, stage="apply", reason=reason)
            narrowed = f" --cluster {target.cluster}" if listed_cluster(target) else ""
            error = ApplyIncomplete(reason, hint=f"see `meshops diff --env {target.environment}{narrowed}`")
            report = failure(target, error, stage="apply", applied=record.applied)
            report.apply = apply_dict
            return report, record_annotations(applied="", attempt=failed)
    try:
        rollouts = finish_rollouts(cluster.connection, rendered.config, revision=revision, wait=run.settings.wait,
                                   operator=run.settings.operator, owner=cluster.owner, emit=run.emit, label=name)
    except MeshopsError as error:
        report = failure(target, error, stage="rollout", applied=record.applied)
        report.apply = apply_dict
        return report, record_annotations(applied=revision, attempt=run.attempt(revision, Phase.PROGRESSING, reason=error.message))
    outcome = {Phase.SUCCEEDED: Outcome.APPLIED, Phase.PROGRESSING: Outcome.PROGRESSING, Phase.FAILED: Outcome.FAILED}[rollouts.phase]
    summary = f"{revision[:12]} applied ({go.reason})" if go.apply else f"{revision[:12]} was applied earlier"
    report = EnvReport(target.environment, outcome, f"{summary}; {rollouts.reason}", stage="rollout" if outcome is Outcome.FAILED else "",
                       exit_code=ExitCode.CHANGES_OR_FINDINGS if outcome is Outcome.FAILED else ExitCode.OK,
                       applied_before=record.applied, apply=apply_dict, rollouts=rollouts.rollouts, cluster=target.cluster)
    attempt = run.attempt(revision, rollouts.phase, stage="rollout" if rollouts.phase == Phase.FAILED else "", reason=rollouts.reason)
    return report, record_annotations(applied=revision, attempt=attempt)
