"""Reconcile a revision into its environments, in promotion order, each wave of clusters after the last.

Per environment, its clusters go in waves (`meshops.yaml` `waves:`; one wave when it has one
cluster): the clusters of a wave at once (`pipeline.fleet.fan_out`), each as `target` reconciles
it; the next wave starts only when every cluster of this one is at the revision with its rollouts
succeeded and the environment's `soak:` has passed since the last of them succeeded (with `--wait`
this process waits it out; without, a later reconcile continues). A cluster that fails, is frozen,
busy, still rolling out or waiting holds back every later wave and every environment after it.
The state is each cluster's Lease record, never this process's memory, so a reconcile killed
between waves is continued by the next one — by any process. Clusters this process does not own
(`--cluster`/`--wave` narrow it, a controller replica owns its shards) are observed, not written.
The CLI, `meshops serve` and the controller all call `reconcile`.

Reconcile never prunes massively on its own: a plan the mass-prune brake refuses (an empty render,
too large a share of the environment) stops that cluster with the reason on its Lease record and a
Warning Event on the Lease (`target`), and the same revision is not tried again; a person pushes a
fix or runs `meshops reconcile --allow-mass-prune` once.
"""
from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

from ..apply.brakes import PruneBrake
from ..model.errors import MeshopsError
from ..model.masking import mask_url
from ..model.scope import AllowList
from ..model.secrets import SecretsDir
from ..pipeline import DEFAULT_PARALLEL
from ..pipeline.apply import ApplyOptions
from ..pipeline.fanout import fan_out
from ..pipeline.operator import Operator
from ..pipeline.prometheus import PrometheusSettings
from ..pipeline.targets import targets_of, waves_of
from ..source.envconfig import EnvConfig, check_environment_name, list_environments, load_env_config
from ..source.promotion import promotion_order
from ..source.repo import open_source
from .gitcache import GitCache
from .lease import parse_time
from .lock import DEFAULT_LEASE_SECONDS, EnvRecord, Phase
from .report import EnvReport, Outcome, ReconcileReport
from .target import ClusterRun, EnvironmentRenders, Run, failure, observe, open_cluster, reconcile_cluster

Emit = Callable[[str], None]
# A bounded wait for another reconcile of the same environment before giving up (seconds).
DEFAULT_LOCK_TIMEOUT = 60.0
# The stage a refused prune is recorded under on the Lease, and the reason of its Event.
PRUNE_STAGE = "prune"
PRUNE_REFUSED = "PruneRefused"


def default_identity() -> str:
    """Who holds a lock: `host-pid-random`, or the pod name inside a cluster."""
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def everything(environment: str, cluster: str) -> bool:
    """The ownership of a process that owns every cluster it reconciles."""
    return True


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
    clusters: tuple[str, ...] = ()  # --cluster: only these clusters are written (the rest observed)
    waves: tuple[int, ...] = ()  # --wave: only these waves are written (earlier ones observed, later ones left)
    parallel: int = DEFAULT_PARALLEL  # clusters of a wave reconciled at once
    owns: Callable[[str, str], bool] = everything  # (environment, cluster) -> whether this process writes it (shards)
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

    def writes(self, environment: str, cluster: str, wave: int) -> bool:
        """Whether this process reconciles that cluster, or only observes it."""
        return ((not self.clusters or cluster in self.clusters) and (not self.waves or wave in self.waves)
                and self.owns(environment, cluster))


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
    _check_clusters(selected, settings.clusters)
    run = Run(settings, mirror, emit, clock, sleep, git.Repo(mirror.path), source)
    report = ReconcileReport(repo=mask_url(mirror.location), ref=settings.ref, revision=mirror.revision)
    held_back: str | None = None
    for config in selected:
        started = clock()
        if held_back:
            reports = [EnvReport(config.name, Outcome.BLOCKED, f"not started: {held_back}", cluster=spec.name, wave=spec.wave)
                       for spec in sorted(config.clusters, key=lambda spec: spec.wave)]
        else:
            reports = _environment(run, config)
        for env_report in reports:
            env_report.duration = env_report.duration or clock() - started
            report.environments.append(env_report)
            emit(env_report.line())
        stopped = next((r for r in reports if r.outcome.stops_promotion), None)
        if stopped is not None:
            held_back = f"{stopped.name} {stopped.outcome.value}"
    return report


def _check_clusters(configs: list[EnvConfig], clusters: tuple[str, ...]) -> None:
    """Every `--cluster` must be a cluster of a selected environment (a usage error naming them otherwise)."""
    from ..model.errors import UsageError

    known = {spec.name for config in configs for spec in config.clusters}
    for name in clusters:
        if name not in known:
            if len(configs) == 1:
                configs[0].cluster(name)  # raises, with a did-you-mean
            raise UsageError(f"no selected environment has a cluster {name!r}", hint="clusters: " + ", ".join(sorted(known)))


def _environment(run: Run, config: EnvConfig) -> list[EnvReport]:
    """Every cluster of one environment, wave after wave (see module docstring)."""
    settings = run.settings
    # --context points one-cluster environments somewhere; an environment that lists clusters names each context itself.
    operator = settings.operator.without_context() if config.clusters[0].listed else settings.operator
    try:
        targets = targets_of(config, operator)
    except MeshopsError as error:
        return [EnvReport(config.name, Outcome.FAILED, error.one_line().removeprefix("error: "), stage="connect",
                          exit_code=error.exit_code, cluster=spec.name, wave=spec.wave) for spec in config.clusters]
    renders = EnvironmentRenders(config)
    reports: list[EnvReport] = []
    stop: tuple[Outcome, str] | None = None  # what later waves end as, and why
    waves = waves_of(config, targets)
    for number, wave in enumerate(waves, start=1):
        if stop is not None:
            outcome, reason = stop
            reports += [EnvReport(config.name, outcome, reason, cluster=target.cluster, wave=number) for target in wave]
            stop = (Outcome.BLOCKED, reason)
            continue
        if settings.waves and max(settings.waves) < number:
            break  # --wave: later waves are another run's (a deploy job per wave)
        opened: dict = {}

        def one(target) -> EnvReport:
            started = run.clock()
            cluster = opened[target] = open_cluster(run, config, target, renders)
            mine = settings.writes(config.name, target.cluster, number)
            report = reconcile_cluster(run, cluster) if mine else observe(run, cluster)
            report.wave, report.duration = number, run.clock() - started
            return report

        results = fan_out(wave, one, parallel=settings.parallel)
        wave_reports = [result.value if result.error is None else
                        _unreachable(result.target, result.error, number) for result in results]
        reports += wave_reports
        stopped = next((r for r in wave_reports if r.outcome.stops_promotion), None)
        if stopped is not None:
            stop = (Outcome.BLOCKED, f"not started: {stopped.name} {stopped.outcome.value}")
        elif number < len(waves):
            soaking = _soak(run, config, [opened[target] for target in wave], number)
            stop = (Outcome.WAITING, soaking) if soaking else None
    return reports


def _unreachable(target, error: MeshopsError, wave: int) -> EnvReport:
    report = failure(target, error, stage="connect", applied=None)
    report.wave = wave
    return report


def _soak(run: Run, config: EnvConfig, wave: list[ClusterRun], number: int) -> str | None:
    """Wait out `soak:` after the wave's last success at this revision; None when the next wave may start.

    With `--wait` this process sleeps the rest of it; without, the next wave is left to a later
    reconcile and the reason is returned. The clock starts at the latest Succeeded record of the
    wave's clusters for this revision (a wave this revision did not change needs no soak)."""
    if not config.soak:
        return None
    finished = []
    for cluster in wave:
        try:
            attempt = EnvRecord.from_lease(cluster.lease.read()).attempt
        except MeshopsError as error:
            return f"cannot read {cluster.lease} of {cluster.name} to time the soak: {error.message}"
        if attempt and attempt.revision == run.mirror.revision and attempt.phase == Phase.SUCCEEDED:
            finished.append(parse_time(attempt.time) or run.clock())
    if not finished:
        return None
    ready = max(finished) + config.soak
    left = ready - run.clock()
    if left <= 0:
        return None
    names = ", ".join(cluster.target.cluster for cluster in wave)
    if not run.settings.wait:
        return (f"wave {number} ({names}) succeeded; soaking until {time.strftime('%H:%M:%S', time.gmtime(ready))} UTC "
                f"(meshops.yaml soak), then a later reconcile starts wave {number + 1}")
    run.emit(f"{config.name}: wave {number} ({names}) succeeded; soaking {left:.0f}s more before wave {number + 1}")
    run.sleep(left)
    return None
