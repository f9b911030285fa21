"""Decisions: from a rollout's state (and an analysis, or a person's command) to its next state.

Pure functions, no I/O: the engine reads the VirtualService, asks `analysis.analyze` when a step is
due, calls `judged` and writes the returned `Decision` (state + weights) in one request; the CLI's
pause/resume/promote/abort go through `commanded`. Rules:

- step 0 (the canary subset exists, 0 % routed) moves to the first weight without analysis: there
  is no canary traffic to judge yet;
- pass → the next weight, or after the last one promotion (canary 100 %, Succeeded);
- hold → same weight, asked again one interval later (never a pass, never counted as a failure);
- fail → `failedChecks` + 1 (cumulative over the run, so flapping cannot hide); at `threshold`
  the stable version gets 100 % and the rollout is Failed with the reasons.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..model.errors import UsageError
if TYPE_CHECKING:  # the overlay (every plan) needs `started`, not the analysis machinery
    from .analysis import AnalysisResult, CheckResult
from .policy import RolloutPolicy
from .state import BY_ANALYSIS, ROLLED_BACK_PHASES, Phase, Reason, RolloutState, format_time
from .routes import describe_weights


@dataclass(frozen=True)
class Decision:
    """What to write: the new state, the weights the steered rule routes, and why."""

    reason: str
    state: RolloutState
    weights: dict[str, int]
    message: str


class NotApplicable(UsageError):
    """A command that makes no sense in the rollout's phase (promote a Failed rollout …)."""


def next_analysis_at(state: RolloutState, policy: RolloutPolicy) -> float:
    """When the next decision is due: one interval after the last step or analysis."""
    times = [t for t in (state.last_step_at, state.last_analysis_at, state.started_at) if t is not None]
    return (max(times) if times else 0.0) + policy.interval


def analysis_record(result: AnalysisResult, *, step: int, at: float) -> dict[str, Any]:
    """The analysis as kept in the annotation: decision, values and bounds, reasons (queries left out)."""
    return {
        "decision": result.decision.value,
        "at": format_time(at),
        "step": step,
        "window": result.window,
        "summary": result.summary(),
        "checks": [{key: value for key, value in check.to_dict().items() if key != "query"} for check in result.checks],
    }


def _reasons(checks: tuple[CheckResult, ...]) -> str:
    return "; ".join(f"{check.name}: {check.reason}" for check in checks)


def _step_text(state: RolloutState, step: int) -> str:
    return f"step {step}/{len(state.weights)}"


def started(
    *,
    service: str,
    stable: str,
    canary: str,
    weights: tuple[int, ...],
    threshold: int,
    revision: str | None,
    now: float,
    reason: str,
    message: str,
    history: tuple[dict[str, Any], ...] = (),
) -> Decision:
    """A rollout at step 0: the canary subset in place, 0 % routed to it (apply's start and restart, retry)."""
    fresh = RolloutState(
        phase=Phase.PROGRESSING, service=service, stable=stable, canary=canary, weights=weights, step=0,
        current={stable: 100, canary: 0}, threshold=threshold, revision=revision, started_at=now, last_step_at=now,
        history=history, message=message,
    )
    new = fresh.decided(reason=reason, at=now, note=message)
    return Decision(reason, new, dict(new.current), message)


def first_step(state: RolloutState, *, now: float) -> Decision:
    """Step 0 -> the first weight (nothing to analyse while the canary gets no traffic)."""
    weights = state.split(state.weights[0])
    message = f"{_step_text(state, 1)}: {describe_weights(weights)} (canary subset in place; first traffic)"
    new = state.decided(reason=Reason.STEP_ADVANCED, at=now, note=message, step=1, current=weights,
                        last_step_at=now, message=message)
    return Decision(Reason.STEP_ADVANCED, new, weights, message)


def _promoted(state: RolloutState, *, now: float, message: str, **changes: Any) -> Decision:
    weights = {state.canary: 100}
    new = state.decided(reason=Reason.PROMOTED, at=now, note=message, phase=Phase.SUCCEEDED, current=weights,
                        last_step_at=now, paused_by=None, message=message, **{"ended_by": BY_ANALYSIS, **changes})
    return Decision(Reason.PROMOTED, new, weights, message)


def _rolled_back(state: RolloutState, *, reason: str, phase: str, now: float, message: str, **changes: Any) -> Decision:
    weights = {state.stable: 100}
    new = state.decided(reason=reason, at=now, note=message, phase=phase, current=weights, last_step_at=now,
                        paused_by=None, message=message, **{"ended_by": BY_ANALYSIS, **changes})
    return Decision(reason, new, weights, message)


def judged(state: RolloutState, result: AnalysisResult, *, now: float) -> Decision:
    """The decision an analysis of the current step leads to (see the module docstring)."""
    from .analysis import Outcome

    record = {"last_analysis": analysis_record(result, step=state.step, at=now), "last_analysis_at": now}
    if result.decision is Outcome.PASS:
        passed = _reasons(result.checks)
        if state.last_step:
            message = f"{state.canary} promoted to 100 % after {len(state.weights)} steps; {passed}"
            return _promoted(state, now=now, message=message, **record)
        step = state.step + 1
        weights = state.split(state.weights[step - 1])
        message = f"{_step_text(state, step)}: {describe_weights(weights)}; {passed}"
        new = state.decided(reason=Reason.STEP_ADVANCED, at=now, note=message, step=step, current=weights,
                            last_step_at=now, message=message, **record)
        return Decision(Reason.STEP_ADVANCED, new, weights, message)
    if result.decision is Outcome.HOLD:
        message = f"held at {_step_text(state, state.step)} ({describe_weights(state.current)}): {_reasons(result.held)}"
        new = state.decided(reason=Reason.ANALYSIS_HELD, at=now, note=message, message=message, **record)
        return Decision(Reason.ANALYSIS_HELD, new, dict(state.current), message)
    failed = state.failed_checks + 1
    reasons = _reasons(result.failed)
    if failed >= state.threshold:
        message = f"rolled back to {state.stable} after {failed} failed analyses (threshold {state.threshold}): {reasons}"
        return _rolled_back(state, reason=Reason.ROLLED_BACK, phase=Phase.FAILED, now=now, message=message,
                            failed_checks=failed, **record)
    message = f"analysis failed at {_step_text(state, state.step)} ({failed}/{state.threshold}): {reasons}"
    new = state.decided(reason=Reason.CHECK_FAILED, at=now, note=message, failed_checks=failed, message=message, **record)
    return Decision(Reason.CHECK_FAILED, new, dict(state.current), message)


# --- Commands from people ---------------------------------------------------------------------------

COMMANDS = ("pause", "resume", "promote", "abort", "retry")
# Phases each command applies to; in the phase it leads to it is a no-op (pausing a paused rollout).
_APPLIES_IN = {
    "pause": (Phase.PROGRESSING,),
    "resume": (Phase.PAUSED,),
    "promote": (Phase.PROGRESSING, Phase.PAUSED),
    "abort": (Phase.PROGRESSING, Phase.PAUSED),
    "retry": tuple(ROLLED_BACK_PHASES),
}
_ALREADY = {"pause": Phase.PAUSED, "resume": Phase.PROGRESSING}


def commanded(state: RolloutState, command: str, *, now: float, actor: str) -> Decision | None:
    """The decision a person's command leads to; None when it is already in effect."""
    if _ALREADY.get(command) == state.phase:
        return None
    if state.phase not in _APPLIES_IN[command]:
        raise NotApplicable(
            f"the rollout of {state.service} ({state.stable} -> {state.canary}) is {state.phase}: nothing to {command}",
            obj=state.service,
            hint="`meshops rollout status` shows every rollout and its phase",
        )
    if command == "pause":
        message = f"paused by {actor} at {_step_text(state, state.step)} ({describe_weights(state.current)})"
        new = state.decided(reason=Reason.PAUSED, at=now, note=message, phase=Phase.PAUSED, paused_by=actor, message=message)
        return Decision(Reason.PAUSED, new, dict(state.current), message)
    if command == "resume":
        message = f"resumed by {actor} at {_step_text(state, state.step)}"
        new = state.decided(reason=Reason.RESUMED, at=now, note=message, phase=Phase.PROGRESSING, paused_by=None,
                            message=message)
        return Decision(Reason.RESUMED, new, dict(state.current), message)
    if command == "promote":
        message = f"{state.canary} promoted to 100 % by {actor} at {_step_text(state, state.step)}, skipping the remaining analysis"
        return _promoted(state, now=now, message=message, ended_by=actor)
    if command == "retry":
        message = f"retried by {actor}: {state.canary} back to 0 %, rolling out from {state.stable} again"
        return started(service=state.service, stable=state.stable, canary=state.canary, weights=state.weights,
                       threshold=state.threshold, revision=state.revision, now=now, reason=Reason.RESTARTED,
                       message=message, history=state.history)
    message = f"aborted by {actor} at {_step_text(state, state.step)}: {state.stable} back to 100 %"
    return _rolled_back(state, reason=Reason.ABORTED, phase=Phase.ABORTED, now=now, message=message, ended_by=actor)
