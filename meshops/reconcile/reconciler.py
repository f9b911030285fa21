"""Reconcile a revision into its environments, in promotion order, stopping at the first failure.

Per environment: read its Lease record -> skip it when the change since the last applied revision
cannot affect it -> refuse inside a freeze window -> take the lock (bounded wait) -> look again
(another process may have applied it meanwhile: nothing is applied twice) -> render, validate,
plan -> apply -> drive or look at the rollouts it started -> write the record and release.
An environment that fails, is frozen, busy, or still rolling out holds back every environment
that comes after it. The CLI, `meshops serve` and the controller all call `reconcile`.

Reconcile never prunes massively on its own: a plan the mass-prune brake refuses (an empty render,
too large a share of the environment) stops the environment with the reason on its Lease record
and a Warning Event on the Lease, and the same revision is not tried again; a person pushes a fix
or runs `meshops reconcile --allow-mass-prune` once.
"""
from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from ..apply.brakes import MassPrune, PruneBrake
from ..cluster.api import APPLY_PATCH, ApiError
from ..cluster.target import Connection
from ..source.envconfig import EnvConfig, check_environment_name, list_environments, load_env_config
from ..model.errors import ApplyIncomplete, ClusterError, ExitCode, MeshopsError
from ..model.identity import FIELD_MANAGER, Owner, with_owner
from ..model.scope import AllowList
from ..model.secrets import SecretsDir
from ..source.promotion import promotion_order
from ..source.repo import Source, open_source
from .changes import changed_paths, impact
from ..pipeline.freeze import Frozen, check_freeze
from ..model.masking import mask_url
from .gitcache import GitCache, Mirror
from .lease import Lease, micro_time
from .lock import (
    DEFAULT_LEASE_SECONDS,
    Attempt,
    EnvironmentBusy,
    EnvRecord,
    Held,
    Phase,
    acquire,
    lease_name,
    record_annotations,
)
from .report import EnvReport, Outcome, ReconcileReport
from .rollouts import finish_rollouts
from ..pipeline.apply import ApplyOptions, apply_environment
from ..pipeline.operator import Operator
from ..pipeline.plan import MissingNamespace, OutOfScope, check_scope
from ..pipeline.prometheus import PrometheusSettings
from ..pipeline.rendering import render_environment, validate_rendered
from ..pipeline.rollouts import check_rollout_settings
from ..pipeline.targets import owner_of, repo_id_of, scope_of, target_of
from ..render import RenderResult

Emit = Callable[[str], None]
# A bounded wait for another reconcile of the same environment before giving up (seconds).
DEFAULT_LOCK_TIMEOUT = 60.0
# The stage a refused prune is recorded under on the Lease, and the reason of its Event.
PRUNE_STAGE = "prune"
PRUNE_REFUSED = "PruneRefused"


def default_identity() -> str:
    """Who holds a lock: `host-pid-random`, or the pod name inside a cluster."""
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Settings:
    """Everything `meshops reconcile` takes from its command line."""

    repo: str
    ref: str = "HEAD"
    environments: tuple[str, ...] = ()  # empty: all, in promotion order
    wait: bool = False
    cache_dir: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    override_freeze: str | None = None
    identity: str = field(default_factory=default_identity)
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    prometheus: PrometheusSettings = field(default_factory=PrometheusSettings)  # the operator's, over meshops.yaml's
    secrets: SecretsDir = field(default_factory=lambda: SecretsDir(None))  # notification receivers' secrets
    allowed: AllowList = AllowList()  # the operator's namespaces (--allowed-namespaces)
    owner_id: str | None = None  # the repository's id in owner annotations (default: its root commit)
    prune: bool = True  # False: --no-prune
    prune_namespaces: bool = False
    adopt: bool = False
    brake: PruneBrake = PruneBrake()  # serve and the controller never release it

    @property
    def operator(self) -> Operator:
        return Operator(kubeconfig=self.kubeconfig, context=self.context, allowed=self.allowed, owner_id=self.owner_id,
                        prometheus=self.prometheus, secrets=self.secrets)

    @property
    def apply_options(self) -> ApplyOptions:
        return ApplyOptions(prune=self.prune, prune_namespaces=self.prune_namespaces, adopt=self.adopt, brake=self.brake)


@dataclass
class _Run:
    """One reconcile in progress: the settings, the mirror, and the side effects passed in."""

    settings: Settings
    mirror: Mirror
    emit: Emit
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    source: Source  # the revision fetched: its repository's root commit is the default owner id

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=timezone.utc)

    def attempt(self, revision: str, phase: str, *, stage: str = "", reason: str = "") -> Attempt:
        return Attempt(revision=revision, phase=phase, stage=stage, reason=reason[:500],
                       time=micro_time(self.clock()), by=self.settings.identity,
                       override_freeze=self.settings.override_freeze or "")


def reconcile(settings: Settings, *, emit: Emit = lambda line: None, clock: Callable[[], float] = time.time,
              sleep: Callable[[float], None] = time.sleep) -> ReconcileReport:
    """Fetch the revision and reconcile the selected environments (see module docstring)."""
    import git

    mirror = GitCache(settings.cache_dir).fetch(settings.repo, settings.ref)
    emit(f"{mask_url(mirror.location)} {settings.ref} is at {mirror.revision[:12]}")
    source = open_source(mirror.path, mirror.revision)
    tree = source.tree
    for name in settings.environments:
        check_environment_name(tree, name)
    configs = promotion_order([load_env_config(tree, name) for name in list_environments(tree)])
    selected = [c for c in configs if not settings.environments or c.name in settings.environments]
    run = _Run(settings, mirror, emit, clock, sleep, source)
    report = ReconcileReport(repo=mask_url(mirror.location), ref=settings.ref, revision=mirror.revision)
    repository = git.Repo(mirror.path)
    held_back: str | None = None
    for config in selected:
        started = clock()
        if held_back:
            env_report = EnvReport(config.name, Outcome.BLOCKED, f"not started: {held_back}")
        else:
            env_report = _environment(run, config, repository)
        env_report.duration = clock() - started
        report.environments.append(env_report)
        emit(env_report.line())
        if env_report.outcome.stops_promotion:
            held_back = f"{config.name} {env_report.outcome.value}"
    return report


def _failure(environment: str, error: MeshopsError, *, stage: str, applied: str | None) -> EnvReport:
    return EnvReport(environment, Outcome.FAILED, error.one_line().removeprefix("error: "), stage=stage,
                     exit_code=error.exit_code, applied_before=applied)


@dataclass
class _Environment:
    """One environment being reconciled: its settings, its cluster (connected once), its renders."""

    config: EnvConfig
    connection: Connection
    owner: Owner  # whose rollouts this reconcile drives and reports (labels alone are not proof)
    renders: dict[str, RenderResult] = field(default_factory=dict)

    def rendered(self, run: _Run, revision: str) -> RenderResult:
        """The environment rendered at `revision`, once per reconcile whoever asks first."""
        if revision not in self.renders:
            self.renders[revision] = render_environment(repo=str(run.mirror.path), ref=revision, environment=self.config.name)
            for entry in self.renders[revision].skipped:  # a file in templates/ or manifests/ nobody renders
                run.emit(f"{self.config.name}: warning: {entry}")
        return self.renders[revision]


@dataclass(frozen=True)
class _Go:
    """An environment needs the lock: to apply the revision, or only to finish its rollouts."""

    reason: str
    apply: bool = True


def _environment(run: _Run, config: EnvConfig, repository) -> EnvReport:
    """One environment, never raising a MeshopsError: every way it ends is an EnvReport."""
    name = config.name
    settings = run.settings
    try:
        target = target_of(config, settings.operator)
        if not target.allowed.allows(config.namespace):
            raise OutOfScope(f"namespace {config.namespace} (the environment's, where its Lease lives) is outside the "
                             f"namespaces this meshops may write ({target.allowed.describe()})", location=config.location("namespace"),
                             hint="ask whoever runs meshops to allow it (--allowed-namespaces); nothing was written")
        env = _Environment(config, target.connect(), Owner(repo=repo_id_of(target, run.source), environment=name))
        lease = Lease(env.connection.api, namespace=config.namespace, name=lease_name(name), identity=settings.identity,
                      duration=settings.lease_seconds, clock=run.clock)
        record = EnvRecord.from_lease(lease.read())
        decision = _decide(run, name, record, repository)
        if isinstance(decision, EnvReport) and decision.outcome is Outcome.SKIPPED and settings.wait:
            decision = _active_rollouts(env) or decision
    except MeshopsError as error:
        return _failure(name, error, stage="connect", applied=None)
    if isinstance(decision, EnvReport):
        return decision
    run.emit(f"{name}: {'reconciling' if decision.apply else 'resuming'}: {decision.reason}")
    if decision.apply:  # rollouts already running may finish inside a freeze; nothing new starts
        try:
            override = check_freeze(config, run.now(), override=settings.override_freeze)
        except Frozen as error:
            return EnvReport(name, Outcome.FROZEN, error.one_line().removeprefix("error: "), exit_code=error.exit_code,
                             applied_before=record.applied)
        except MeshopsError as error:
            return _failure(name, error, stage="freeze", applied=record.applied)
        if override:
            run.emit(f"{name}: overriding {override.describe()}: {settings.override_freeze}")
    try:
        held = _lock(run, lease, env)
    except EnvironmentBusy as error:
        return EnvReport(name, Outcome.BUSY, error.one_line().removeprefix("error: "), exit_code=error.exit_code,
                         applied_before=record.applied)
    except MeshopsError as error:
        return _failure(name, error, stage="lock", applied=record.applied)
    return _locked(run, env, held, repository, before=record, resume=None if decision.apply else decision)


def _active_rollouts(env: _Environment) -> _Go | None:
    """This repository's rollouts running in the cluster that no reconcile is driving (started by `meshops apply`, or orphaned)."""
    from .rollouts import ACTIVE_PHASES, rollout_states

    rows = rollout_states(env.connection.api, env.connection.discovery, owner=env.owner, namespace=env.config.namespace)
    active = [row["virtualService"] for row in rows if row["phase"] in ACTIVE_PHASES]
    return _Go(f"active rollouts found in the cluster: {', '.join(active)}", apply=False) if active else None


def _decide(run: _Run, name: str, record: EnvRecord, repository) -> EnvReport | _Go:
    """The report of an environment that needs no lock (skipped, failed earlier), or why it needs one."""
    target = run.mirror.revision
    attempt = record.attempt
    if record.applied is None and attempt and attempt.stage == "apply":
        return _Go(f"the last apply ({attempt.revision[:12]}) did not complete")
    released = run.settings.brake.allow_mass_prune or not run.settings.prune
    if attempt and attempt.revision == target and attempt.phase == Phase.FAILED and attempt.stage == PRUNE_STAGE and not released:
        return EnvReport(name, Outcome.FAILED, f"{target[:12]} was refused: {attempt.reason} (not retried: push a fix, or run "
                         f"`meshops reconcile --env {name} --allow-mass-prune` once)", stage=PRUNE_STAGE,
                         exit_code=ExitCode.INVALID, applied_before=record.applied)
    changed = changed_paths(repository, record.applied, target) if record.applied and record.applied != target else None
    verdict = impact(name, applied=record.applied, target=target, changed=changed)
    if verdict.affected:
        return _Go(verdict.reason)
    if attempt and attempt.revision == record.applied:
        if attempt.phase == Phase.FAILED:
            return EnvReport(name, Outcome.FAILED, f"{verdict.reason}, whose {attempt.stage or 'reconcile'} failed: "
                             f"{attempt.reason} (not retried; push a fix)", stage=attempt.stage,
                             exit_code=ExitCode.CHANGES_OR_FINDINGS, applied_before=record.applied)
        if attempt.phase == Phase.PROGRESSING:
            return _Go(f"rollouts of {attempt.revision[:12]} were still running", apply=False)
    return EnvReport(name, Outcome.SKIPPED, verdict.reason, applied_before=record.applied)


def _lock(run: _Run, lease: Lease, env: _Environment) -> Held:
    """Take the environment's lock, creating its namespace first when it is rendered but missing."""
    config = env.config

    def waiting(seen) -> None:
        run.emit(f"{config.name}: waiting for {seen.holder}, which holds {lease} (up to {run.settings.lock_timeout:.0f}s)")

    try:
        return acquire(lease, wait=run.settings.lock_timeout, sleep=run.sleep, on_wait=waiting)
    except ApiError as error:
        if not error.not_found:
            raise ClusterError(f"cannot take {lease}: {error.status} {error.reason}: {error.message}",
                               hint="grant RBAC for coordination.k8s.io leases") from None
    _create_namespace(run, env)
    return acquire(lease, wait=run.settings.lock_timeout, sleep=run.sleep, on_wait=waiting)


def _create_namespace(run: _Run, env: _Environment) -> None:
    """The environment's namespace, as rendered and validated, applied by meshops (the Lease lives in it)."""
    config, api = env.config, env.connection.api
    rendered = env.rendered(run, run.mirror.revision)
    validate_rendered(rendered)  # nothing is written before validation, not even the namespace
    check_scope(rendered, scope_of(env.connection.target, rendered), env.connection.discovery)
    namespace = next((m.obj for m in rendered.manifests if m.key.kind == "Namespace" and m.key.name == config.namespace), None)
    if namespace is None:
        raise ClusterError(f"namespace {config.namespace!r} (meshops.yaml `namespace`) does not exist in {api.label}",
                           hint="create it, or render a Namespace object for it; nothing was written")
    run.emit(f"{config.name}: creating namespace {config.namespace} (it holds the environment's lock)")
    try:
        api.request("PATCH", f"/api/v1/namespaces/{config.namespace}", body=with_owner(namespace, owner_of(env.connection.target, rendered)),
                    content_type=APPLY_PATCH,
                    query={"fieldManager": FIELD_MANAGER, "force": "false"})
    except ApiError as error:
        raise ClusterError(f"cannot create namespace {config.namespace}: {error.status} {error.message}",
                           hint="grant RBAC to create namespaces or create it yourself") from None


def _locked(run: _Run, env: _Environment, held: Held, repository, *, before: EnvRecord, resume: _Go | None) -> EnvReport:
    """Under the lock: look again, then plan, apply and finish rollouts; always release."""
    name = env.config.name
    record = held.env_record
    annotations: dict[str, str] | None = None
    try:
        again = resume or _decide(run, name, record, repository)
        if isinstance(again, _Go):
            report, annotations = _apply(run, env, record, go=again, lease=held.record.body)
            return report
        if record != EnvRecord(before.applied, before.attempt, record.holder):
            by = record.attempt.by if record.attempt else "another reconcile"
            again.reason += f" (reconciled meanwhile by {by})"
        return again
    finally:
        released = held.release(annotations)
        if annotations is not None and not released:
            run.emit(f"{name}: warning: the lock was lost before the record could be written; the next reconcile re-checks")


def _refused(run: _Run, env: _Environment, error: MassPrune, *, revision: str, record: EnvRecord,
             lease: dict) -> tuple[EnvReport, dict[str, str]]:
    """A plan the brake refused: nothing written; the reason on the Lease record (the applied revision
    stays what it was) and a Warning Event on the Lease, for whoever watches the cluster."""
    from ..rollout.event_recorder import EventRecorder

    name = env.config.name
    run.emit(f"{name}: prune refused, nothing written: {error.message}")
    EventRecorder(env.connection.api).record(lease, reason=PRUNE_REFUSED, warning=True,
                                             message=f"{revision[:12]} not applied: {error.message} ({error.hint})")
    refused = run.attempt(revision, Phase.FAILED, stage=PRUNE_STAGE, reason=error.message)
    return _failure(name, error, stage=PRUNE_STAGE, applied=record.applied), record_annotations(applied=None, attempt=refused)


def _apply(run: _Run, env: _Environment, record: EnvRecord, *, go: _Go, lease: dict) -> tuple[EnvReport, dict[str, str] | None]:
    """Plan, apply (unless only resuming rollouts), finish rollouts; the report and the Lease annotations to record."""
    name = env.config.name
    revision = run.mirror.revision if go.apply else (record.applied or run.mirror.revision)
    try:
        rendered = env.rendered(run, revision)
    except MeshopsError as error:
        return _failure(name, error, stage="plan", applied=record.applied), None
    apply_dict = None
    if run.settings.wait:  # Prometheus or receivers that cannot work: refused before apply writes, not after
        try:
            check_rollout_settings(rendered.config, operator=run.settings.operator)
        except MeshopsError as error:
            return _failure(name, error, stage="plan", applied=record.applied), None
    if go.apply:
        planned = []  # set once the plan passed validation: errors before that are the plan's, not apply's
        try:
            applied = apply_environment(rendered, env.connection, options=run.settings.apply_options, review=planned.append)
        except MassPrune as error:
            return _refused(run, env, error, revision=revision, record=record, lease=lease)
        except MeshopsError as error:
            if not planned and not isinstance(error, MissingNamespace):
                return _failure(name, error, stage="plan", applied=record.applied), None
            failed = run.attempt(revision, Phase.FAILED, stage="apply", reason=error.message)
            return _failure(name, error, stage="apply", applied=record.applied), record_annotations(applied="", attempt=failed)
        result = applied.result
        apply_dict = result.to_dict()
        run.emit(f"{name}: apply: {result.summary()} ({result.writes} write requests)")
        if not result.ok:
            undone = [r for r in result.results if not r.outcome.done]
            reason = f"{len(undone)} objects not applied, e.g. {undone[0].key}: {undone[0].message}"
            failed = run.attempt(revision, Phase.FAILED, stage="apply", reason=reason)
            error = ApplyIncomplete(reason, hint=f"see `meshops diff --env {name}`")
            report = _failure(name, error, stage="apply", applied=record.applied)
            report.apply = apply_dict
            return report, record_annotations(applied="", attempt=failed)
    try:
        rollouts = finish_rollouts(env.connection, rendered.config, revision=revision, wait=run.settings.wait,
                                   operator=run.settings.operator, owner=env.owner, emit=run.emit)
    except MeshopsError as error:
        report = _failure(name, error, stage="rollout", applied=record.applied)
        report.apply = apply_dict
        return report, record_annotations(applied=revision, attempt=run.attempt(revision, Phase.PROGRESSING, reason=error.message))
    outcome = {Phase.SUCCEEDED: Outcome.APPLIED, Phase.PROGRESSING: Outcome.PROGRESSING, Phase.FAILED: Outcome.FAILED}[rollouts.phase]
    summary = f"{revision[:12]} applied ({go.reason})" if go.apply else f"{revision[:12]} was applied earlier"
    report = EnvReport(name, outcome, f"{summary}; {rollouts.reason}", stage="rollout" if outcome is Outcome.FAILED else "",
                       exit_code=ExitCode.CHANGES_OR_FINDINGS if outcome is Outcome.FAILED else ExitCode.OK,
                       applied_before=record.applied, apply=apply_dict, rollouts=rollouts.rollouts)
    attempt = run.attempt(revision, rollouts.phase, stage="rollout" if rollouts.phase == Phase.FAILED else "", reason=rollouts.reason)
    return report, record_annotations(applied=revision, attempt=attempt)
