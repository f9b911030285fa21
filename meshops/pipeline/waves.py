"""Use case: apply an environment that spans clusters, wave after wave (`meshops apply`).

A new revision goes to the first wave's clusters; the next wave starts only when every cluster of
the previous one was written completely, every rollout there succeeded (with `wait`: driven to
the end here) and the environment's `soak:` has passed. Anything else stops the waves, and the
clusters of later waves are never contacted. Within a wave the clusters are planned together —
if one cannot be planned (unreachable, invalid against its live objects) none of the wave is
written — reviewed together (one confirmation), then written at once (`fan_out`).

This is the one-process flow of the CLI. `reconcile` walks the same waves but keeps its state on
per-cluster Leases, so a later run (or another process) continues where this one stopped.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

from ..cluster.target import Target
from ..model.errors import ExitCode
from . import DEFAULT_PARALLEL
from .apply import Applied, ApplyOptions, plan_for_apply, write_plan
from .fanout import TargetResult, fan_out
from .fleet import Renders, check_offline, worst_exit_code
from .operator import Operator
from .plan import Planned
from .targets import waves_of

if TYPE_CHECKING:
    from ..rollout.driver import Tick

Emit = Callable[[str], None]


@dataclass
class Wave:
    """One wave of an apply: its clusters and how each ended."""

    number: int
    targets: list[Target]
    plans: list[TargetResult[Planned]] = field(default_factory=list)
    applied: list[TargetResult[Applied]] = field(default_factory=list)
    rollouts: list[TargetResult[list]] = field(default_factory=list)  # the last tick of each rollout driven
    stopped: str = ""  # why the waves after this one did not start ("" when they may)
    exit_code: int = ExitCode.OK

    @property
    def changed(self) -> bool:
        """Whether this wave wrote anything or drove a rollout (a wave that did neither needs no soak)."""
        return any(r.value.result.writes for r in self.applied if r.value) or any(r.value for r in self.rollouts)


@dataclass
class WaveSettings:
    """How the waves run: write options, rollouts, concurrency, and the side effects passed in."""

    options: ApplyOptions = ApplyOptions()
    wait: bool = False  # drive each wave's rollouts to the end before the next wave
    timeout: float | None = None  # of each wave's rollouts, with `wait`
    operator: Operator = Operator()  # Prometheus access and the secrets directory of rollout analysis and notifications
    parallel: int = DEFAULT_PARALLEL
    sleep: Callable[[float], None] = time.sleep


def apply_in_waves(renders: Renders, targets: Sequence[Target], *, settings: WaveSettings = WaveSettings(),
                   review: Callable[[int, list[Planned]], None] | None = None, emit: Emit = lambda line: None,
                   on_tick: Callable[[Target, Tick], None] | None = None) -> list[Wave]:
    """Apply `targets` wave by wave (see module docstring); the waves that ran, the last one saying why it stopped.

    A server dry run has nothing to wait for: every target is one wave."""
    config = renders.config
    grouped = [list(targets)] if settings.options.dry_run else waves_of(config, targets)
    check_offline(renders, targets)  # every render validated (and an owner id) before the first cluster is contacted
    waves: list[Wave] = []
    for number, wave_targets in enumerate(grouped, start=1):
        wave = Wave(number, wave_targets)
        waves.append(wave)
        _run_wave(renders, wave, settings=settings, review=review, emit=emit, on_tick=on_tick)
        if wave.stopped or number == len(grouped):
            break
        if config.soak and wave.changed:
            if not settings.wait:
                wave.stopped = (f"wave {number + 1} starts after a soak of {config.soak:g}s (meshops.yaml soak): "
                                "apply again with --wait, or let reconcile continue")
                wave.exit_code = ExitCode.INCOMPLETE
                break
            emit(f"{config.name}: wave {number} succeeded; soaking {config.soak:g}s before wave {number + 1}")
            settings.sleep(config.soak)
    return waves


def _run_wave(renders: Renders, wave: Wave, *, settings: WaveSettings, review, emit: Emit, on_tick) -> None:
    """Plan all, review, write all, then the rollouts; `wave.stopped` says why later waves must not start."""
    name = renders.config.name

    def plan(target: Target) -> Planned:
        return plan_for_apply(renders.for_cluster(target.cluster), target.connect(), options=settings.options,
                              offline=renders.offline(target.cluster), cache=renders.cache)

    emit(f"{name}: wave {wave.number}: {', '.join(t.cluster for t in wave.targets)}")
    wave.plans = fan_out(wave.targets, plan, parallel=settings.parallel)
    if _stopped_by_errors(wave, wave.plans, lambda failed: f"{failed.target} could not be planned, so nothing of wave "
                                                             f"{wave.number} was written"):
        return
    planned = [r.value for r in wave.plans]
    if review is not None:
        review(wave.number, planned)
    by_target = {p.connection.target: p for p in planned}
    wave.applied = fan_out(wave.targets, lambda target: write_plan(by_target[target], options=settings.options),
                           parallel=settings.parallel)
    incomplete = [r for r in wave.applied if r.error is not None or not r.value.result.ok]
    if incomplete:
        wave.stopped = f"{incomplete[0].target} was not applied completely"
        wave.exit_code = max(ExitCode.INCOMPLETE, worst_exit_code([r.exit_code for r in incomplete]))
        return
    if not settings.options.dry_run:
        _rollouts(renders, wave, settings=settings, on_tick=on_tick)


def _stopped_by_errors(wave: Wave, results: list[TargetResult], why: Callable[[TargetResult], str]) -> bool:
    """Stop the waves at the first cluster that ended in an error (`why` says it), with the worst exit code."""
    failed = [result for result in results if result.error is not None]
    if failed:
        wave.stopped = why(failed[0])
        wave.exit_code = worst_exit_code([result.exit_code for result in failed])
    return bool(failed)


def _rollouts(renders: Renders, wave: Wave, *, settings: WaveSettings, on_tick) -> None:
    """With `wait`, drive the wave's rollouts to the end; without, only look whether any still runs."""
    from ..rollout.state import ROLLED_BACK_PHASES, Phase
    from ..rollout.store import VIRTUAL_SERVICE
    from .rollouts import active_rollouts, drive_rollouts, rollout_store

    def drive(target: Target) -> list:
        planned = next(r.value for r in wave.plans if r.target == target)
        connection, owner = planned.connection, planned.owner
        if connection.discovery.preferred(*VIRTUAL_SERVICE) is None:
            return []  # no Istio: no rollout can exist
        if not settings.wait:
            return active_rollouts(rollout_store(connection, owner=owner), renders.config.name)
        tick = (lambda t: on_tick(target, t)) if on_tick else None
        return drive_rollouts(connection, renders.config, owner=owner, operator=settings.operator, wait=True,
                              timeout=settings.timeout, on_tick=tick)

    wave.rollouts = fan_out(wave.targets, drive, parallel=settings.parallel)
    if _stopped_by_errors(wave, wave.rollouts, lambda failed: f"the rollouts of {failed.target} could not be driven: "
                                                                f"{failed.error.message}"):
        return
    if not settings.wait:
        running = [f"{r.target} ({', '.join(ref.name for ref in r.value)})" for r in wave.rollouts if r.value]
        if running:
            wave.stopped = (f"rollouts still run in wave {wave.number}: {'; '.join(running)}: later waves start when they "
                            "succeeded (apply again with --wait, or let reconcile continue)")
            wave.exit_code = ExitCode.INCOMPLETE
        return
    ended = [(r.target, tick) for r in wave.rollouts for tick in r.value]
    failed = [f"{target} {tick.ref.name}" for target, tick in ended
              if tick.error or tick.state is None or tick.state.phase in ROLLED_BACK_PHASES]
    unfinished = [f"{target} {tick.ref.name}" for target, tick in ended
                  if tick.state is not None and tick.state.phase != Phase.SUCCEEDED and f"{target} {tick.ref.name}" not in failed]
    if failed:
        wave.stopped = f"rollouts did not succeed in wave {wave.number}: {', '.join(failed)}; later waves are left as they are"
        wave.exit_code = ExitCode.CHANGES_OR_FINDINGS
    elif unfinished:
        wave.stopped = f"rollouts still run in wave {wave.number} after --timeout: {', '.join(unfinished)}"
        wave.exit_code = ExitCode.INCOMPLETE
