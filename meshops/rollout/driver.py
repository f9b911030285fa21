"""The rollout engine: drives every active rollout of an environment to its end, each on its own.

`RolloutEngine.tick(ref)` takes one decision for one rollout: read the VirtualService; nothing to
do while it is paused, ended, or the interval since the last step (or analysis) has not elapsed;
else assess the canary — its Deployment has ready pods (`readiness`), then before the first step
the `pre-rollout` webhooks, after it the metrics analysis (`analysis.analyze`) with the `rollout`
(and at the last step `pre-promotion`) webhooks — decide (`decide.judged`) and write state and
weights in one guarded request (`store.RolloutStore.write`). A lost write race (409/failed test) means
read again and decide again. `run(refs)` gives each rollout its own thread that ticks, sleeps until
the next decision is due (at most `max_sleep`, so a pause or abort from elsewhere is seen soon)
and ticks again, so one slow Prometheus query or failing service never delays another.

Nothing is remembered between ticks that is not in the annotation: killing the process at any
moment and starting it again resumes every rollout where its last write left it. Decisions are
handed to the `Notifier` (if the environment has receivers) after they are written, and what was
handled is recorded in the next write (`notified`), or — for rollouts that ended or wait paused —
once at the end of `run`; entries written but not yet notified are submitted on every read, which
is how a restarted driver posts what a killed one could not. The clock and the sleep are
arguments (tests pass the real ones with short intervals).
"""
from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, replace
from typing import Callable, Iterable

from ..source.envconfig import EnvConfig
from ..model.errors import MeshopsError
from ..metrics.source import MetricsSource
from . import webhooks
from .analysis import AnalysisResult, AnalysisTarget, Outcome, analyze, checks_only, with_checks
from .decide import Decision, judged, next_analysis_at
from .event_recorder import EventRecorder
from .notifier import Notifier
from .policy import RolloutPolicy, policies
from .readiness import canary_readiness
from .state import Phase, RolloutState
from .store import LiveRollout, LostRace, RolloutRef, RolloutStore

# Longest a driver sleeps before reading its VirtualService again: how soon `run --wait` notices a
# pause, resume, promote or abort made by another process (one GET per rollout per wake-up).
MAX_SLEEP = 2.0


@dataclass(frozen=True)
class Tick:
    """What one tick saw and did."""

    ref: RolloutRef
    state: RolloutState | None  # after the tick
    decision: Decision | None = None  # written this tick
    analysis: AnalysisResult | None = None  # asked this tick
    wait: float | None = None  # seconds until a decision may be due again; None: the rollout ended
    error: str | None = None  # why this rollout could not be driven (then ended)

    @property
    def ended(self) -> bool:
        return self.wait is None

    def line(self) -> str | None:
        """One plain log line for a decision or an error (None when the tick only waited)."""
        if self.decision is not None:
            state = self.decision.state
            return (f"rollout {self.ref.name}: {self.decision.reason}: {state.phase} step {state.step}/{len(state.weights)} "
                    f"{self.decision.message}").rstrip()
        if self.error:
            return f"rollout {self.ref.name}: error: {self.error}"
        return None


def _analysis_key(state: RolloutState) -> tuple:
    """What an analysis was asked for: reusable after a lost race if this did not change."""
    return (state.phase, state.step, state.stable, state.canary, state.last_step_at, state.last_analysis_at)


def widen_connection_pool(store: RolloutStore, size: int) -> None:
    """Let `size` threads keep their API connections (urllib3 discards connections beyond the pool size)."""
    manager = getattr(store.api, "pool_manager", None)
    settings = getattr(manager, "connection_pool_kw", None)
    if settings is not None and settings.get("maxsize", 1) < size:
        settings["maxsize"] = size
        manager.clear()


class RolloutEngine:
    """Drives rollouts of one environment against one cluster and one Prometheus."""

    def __init__(
        self,
        *,
        store: RolloutStore,
        config: EnvConfig,
        metrics: MetricsSource,
        events: EventRecorder | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_tick: Callable[[Tick], None] | None = None,
        max_sleep: float = MAX_SLEEP,
        notifier: Notifier | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.metrics = metrics
        self.events = events
        self.notifier = notifier
        self.clock = clock
        self.sleep = sleep
        self.on_tick = on_tick
        self.max_sleep = max_sleep
        self.analyses = 0  # analyses asked (the benchmark divides Prometheus queries by this)
        self._lock = threading.Lock()

    def policy(self, service: str) -> RolloutPolicy:
        return policies(self.config).of(service)

    def active(self, environment: str) -> list[RolloutRef]:
        """Rollouts of `environment` that are progressing or paused, or ended with decisions to notify (one LIST)."""
        return [live.ref for live in self.store.list(environment) if live.state is not None and self.needs_driving(live.state)]

    def needs_driving(self, state: RolloutState) -> bool:
        """Active, or ended with decisions this engine's receivers have not been told about."""
        return state.active or bool(self.notifier and self.notifier.wants(state.service) and state.pending_notifications)

    # --- notifications ----------------------------------------------------------------------------

    def _cursor(self, ref: RolloutRef, state: RolloutState) -> int:
        """What `notified` a write of `state` records: what the receivers are done with."""
        if self.notifier is None or not self.notifier.wants(state.service):
            return state.seq
        return min(state.seq, self.notifier.handled_through(ref, state))

    def record_notified(self, refs: Iterable[RolloutRef]) -> None:
        """Wait briefly for queued notifications, then record what was handled on rollouts that lag."""
        if self.notifier is None:
            return
        self.notifier.flush()
        for ref in refs:
            try:
                live = self.store.read(ref)
            except MeshopsError:
                continue
            state = live.state
            if state is None or self._cursor(ref, state) <= state.notified_through:
                continue
            try:
                self.store.write_state(live, replace(state, notified=self._cursor(ref, state)))
            except (LostRace, MeshopsError):
                continue  # someone wrote meanwhile: their write or the next driver records it
    # --- one decision ---------------------------------------------------------------------------

    def _assess(self, live: LiveRollout, policy: RolloutPolicy) -> AnalysisResult:
        """Readiness, then webhooks and (after the first step) the metrics analysis of the current step."""
        state = live.state
        target = AnalysisTarget.of(policy, service=state.service, namespace=live.ref.namespace,
                                   canary=state.canary, stable=state.stable, split_by=state.split_by)
        ready = []
        if policy.canary_readiness:
            ready = [canary_readiness(self.store.api, namespace=target.namespace, workload=target.canary_workload)]
            if ready[0].outcome is not Outcome.PASS:
                return checks_only(target, ready, window=policy.window_text)
        hooks = policy.webhooks_of("pre-rollout") if state.step == 0 else (
            policy.webhooks_of("rollout") + (policy.webhooks_of("pre-promotion") if state.last_step else ()))
        called = webhooks.call_all(hooks, environment=self.config.name, target=target, state=state)
        if state.step == 0:  # nothing to measure while the canary gets no traffic
            return checks_only(target, [*ready, *called], window=policy.window_text)
        with self._lock:
            self.analyses += 1
        return with_checks(analyze(metrics=self.metrics, policy=policy, target=target), called, first=ready)

    def tick(self, ref: RolloutRef) -> Tick:
        """Read the rollout and take the decision that is due now, if any (see the module docstring)."""
        asked: dict[tuple, AnalysisResult] = {}  # reused if a lost race leaves the same question

        def decide(live: LiveRollout) -> Decision | None:
            state = live.state
            if state is not None and self.notifier is not None:
                self.notifier.submit(ref, state)  # decisions others wrote, or a killed driver could not post
            if state is None or state.phase != Phase.PROGRESSING:
                return None
            policy = self.policy(state.service)
            if next_analysis_at(state, policy) > self.clock():
                return None
            key = _analysis_key(state)
            if key not in asked:
                asked.clear()
                asked[key] = self._assess(live, policy)
            decision = judged(state, asked[key], now=self.clock(), policy=policy)
            return replace(decision, state=replace(decision.state, notified=self._cursor(ref, decision.state)))

        live, decision = self.store.update(ref, decide, events=self.events)
        state = live.state
        if decision is not None and state is not None and self.notifier is not None:
            self.notifier.submit(ref, state)
        analysis = next(iter(asked.values()), None) if decision is not None else None
        if state is None or state.terminal:
            return Tick(ref, state, decision=decision, analysis=analysis)
        if state.phase == Phase.PAUSED:
            return Tick(ref, state, decision=decision, wait=self.max_sleep)
        wait = max(0.0, next_analysis_at(state, self.policy(state.service)) - self.clock())
        return Tick(ref, state, decision=decision, analysis=analysis, wait=wait)

    # --- driving ------------------------------------------------------------------------------------

    def _notify(self, tick: Tick) -> None:
        if self.on_tick is not None:
            self.on_tick(tick)

    def drive(self, ref: RolloutRef, *, wait: bool = True, deadline: float | None = None) -> Tick:
        """Tick `ref` until it ends (or once without `wait`, or until `deadline` on the clock)."""
        while True:
            try:
                tick = self.tick(ref)
            except MeshopsError as error:
                tick = Tick(ref, None, error=error.one_line().removeprefix("error: "))
            except Exception as error:  # a bug: report it for this rollout, keep driving the others
                tick = Tick(ref, None, error=f"internal error: {type(error).__name__}: {error}\n{traceback.format_exc()}")
            if tick.decision is not None or tick.error is not None or tick.ended:
                self._notify(tick)
            if tick.ended or not wait:
                return tick
            pause = min(tick.wait, self.max_sleep)
            if deadline is not None:
                left = deadline - self.clock()
                if left <= 0:
                    return tick
                pause = min(pause, left)
            self.sleep(max(pause, 0.0))

    def run(self, refs: Iterable[RolloutRef], *, wait: bool = True, timeout: float | None = None) -> list[Tick]:
        """Drive every rollout in `refs` concurrently, one thread each; the last tick of each, in order."""
        refs = list(refs)
        deadline = self.clock() + timeout if timeout is not None else None
        widen_connection_pool(self.store, len(refs) + 4)
        results: dict[RolloutRef, Tick] = {}

        def drive(ref: RolloutRef) -> None:
            results[ref] = self.drive(ref, wait=wait, deadline=deadline)

        threads = [threading.Thread(target=drive, args=(ref,), name=f"rollout {ref}", daemon=True) for ref in refs]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():  # join in slices so Ctrl-C reaches the main thread
                thread.join(0.5)
        self.record_notified(refs)
        return [results[ref] for ref in refs]
