"""Decisions: from a rollout's state (and an assessment, or a person's command) to its next state.

Pure functions, no I/O: the engine reads the VirtualService, assesses the canary when a decision is
due (readiness, webhooks, `analysis.analyze`), calls `judged` and writes the returned `Decision`
(state + weights) in one request; the CLI's pause/resume/promote/abort/retry/approve go through
`commanded`. Rules:

- pass → at a gate not yet approved, wait for `meshops rollout approve` (AwaitingApproval, same
  weight); else the next weight (step 0 → the first weight), or after the last one promotion;
- hold (too little traffic, no ready canary pods) → same weight, asked again one interval later;
- inconclusive (the metrics source or a webhook could not answer) → same weight, counted apart
  (`inconclusiveAnalyses`), never a failure of the canary;
- fail → `failedChecks` + 1 (cumulative over the run, so flapping cannot hide); at `threshold`
  the stable version gets 100 % and the rollout is Failed with the reasons;
- no step for `progressDeadline` (holds, inconclusive analyses, a canary never ready, but not a
  wait for approval) → `onTimeout`: rollback (Failed, stable 100 %) or hold (said once, with
  ProgressDeadlineExceeded, and the rollout keeps asking).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..model.errors import UsageError
from .analysis import AnalysisResult, CheckResult, Outcome
from .policy import RolloutPolicy, promql_duration
from .routes import describe_weights
from .stages import Walk
from .state import BY_ANALYSIS, ROLLED_BACK_PHASES, Phase, Reason, RolloutState, format_time

# The check the engine adds when the canary Deployment is missing or has no ready pods.
READINESS_CHECK = "canary-ready"


@dataclass(frozen=True)
class Decision:
    """What to write: the new state, the weights the steered rules route, and why."""

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


def _gate_text(state: RolloutState) -> str:
    return "promotion" if state.step >= len(state.weights) else f"step {state.step + 1}/{len(state.weights)}"


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
    rules: tuple[str, ...] | None = None,
    gates: frozenset[int] | tuple[int, ...] = (),
    seq: int = 0,
    notified: int | None = None,
    walk: Walk | None = None,
) -> Decision:
    """A rollout at step 0: the canary subset in place, 0 % routed to it (apply's start and restart, retry)."""
    fresh = RolloutState(
        phase=Phase.PROGRESSING, service=service, stable=stable, canary=canary, weights=weights, step=0,
        current={stable: 100, canary: 0}, threshold=threshold, revision=revision, started_at=now, last_step_at=now,
        history=history, message=message, gates=tuple(sorted(gates)), progress_at=now, seq=seq,
        notified=seq if notified is None else notified,
        **({"rules": tuple(rules)} if rules else {}),
        **(walk.state_fields() if walk is not None else {}),
    )
    new = fresh.decided(reason=reason, at=now, note=message)
    return Decision(reason, new, dict(new.current), message)


def _promoted(state: RolloutState, *, now: float, message: str, **changes: Any) -> Decision:
    weights = {state.canary: 100}
    settled = {"paused_by": None, "awaiting_approval": None, "ended_by": BY_ANALYSIS, **changes}
    new = state.decided(reason=Reason.PROMOTED, at=now, note=message, phase=Phase.SUCCEEDED, current=weights,
                        last_step_at=now, message=message, **settled)
    return Decision(Reason.PROMOTED, new, weights, message)


def _rolled_back(state: RolloutState, *, reason: str, phase: str, now: float, message: str, **changes: Any) -> Decision:
    weights = {state.stable: 100}
    settled = {"paused_by": None, "awaiting_approval": None, "ended_by": BY_ANALYSIS, **changes}
    new = state.decided(reason=reason, at=now, note=message, phase=phase, current=weights, last_step_at=now,
                        message=message, **settled)
    return Decision(reason, new, weights, message)


def _stay(state: RolloutState, reason: str, *, now: float, message: str, **changes: Any) -> Decision:
    """A decision that keeps the weights where they are."""
    new = state.decided(reason=reason, at=now, note=message, message=message, **changes)
    return Decision(reason, new, dict(state.current), message)


def _advanced(state: RolloutState, *, now: float, passed: str, **record: Any) -> Decision:
    """Pass at an open gate: the next weight, or promotion after the last one."""
    moved = {"progress_at": now, "awaiting_approval": None, "deadline_exceeded_at": None}
    if state.last_step:
        message = f"{state.canary} promoted to 100 % after {len(state.weights)} steps; {passed}"
        return _promoted(state, now=now, message=message, **moved, **record)
    step = state.step + 1
    weights = state.split(state.weights[step - 1])
    stage = replace(state, step=step).stage()
    first = " (canary subset in place; first traffic)" if state.step == 0 and stage is None else ""
    routed = f"{stage.describe()}; users: {describe_weights(weights)}" if stage else describe_weights(weights)
    message = f"{_step_text(state, step)}: {routed}{first}" + (f"; {passed}" if passed else "")
    new = state.decided(reason=Reason.STEP_ADVANCED, at=now, note=message, step=step, current=weights,
                        last_step_at=now, message=message, **moved, **record)
    return Decision(Reason.STEP_ADVANCED, new, weights, message)


def _waiting_reason(result: AnalysisResult) -> tuple[str, tuple[CheckResult, ...]]:
    """The decision reason of an analysis that neither passed nor failed, and the checks that say why."""
    if result.decision is Outcome.INCONCLUSIVE:
        return Reason.ANALYSIS_INCONCLUSIVE, result.inconclusive
    if any(check.name == READINESS_CHECK for check in result.held):
        return Reason.CANARY_NOT_READY, result.held
    return Reason.ANALYSIS_HELD, result.held


def _past_deadline(state: RolloutState, policy: RolloutPolicy, now: float) -> bool:
    since = state.progress_since
    return state.awaiting_approval is None and since is not None and now - since > policy.progress_deadline


def _deadline(state: RolloutState, policy: RolloutPolicy, *, now: float, why: str, **record: Any) -> Decision | None:
    """The `onTimeout` decision once the progress deadline has passed (None: not yet, or already said)."""
    if not _past_deadline(state, policy, now):
        return None
    deadline = promql_duration(policy.progress_deadline)
    if policy.on_timeout == "rollback":
        message = (f"rolled back to {state.stable}: no progress at {_step_text(state, state.step)} for longer than "
                   f"progressDeadline {deadline}: {why}")
        return _rolled_back(state, reason=Reason.ROLLED_BACK, phase=Phase.FAILED, now=now, message=message, **record)
    if state.deadline_exceeded_at is not None:
        return None
    message = (f"no progress at {_step_text(state, state.step)} ({describe_weights(state.current)}) for longer than "
               f"progressDeadline {deadline}; holding (onTimeout: hold): {why}")
    return _stay(state, Reason.DEADLINE_EXCEEDED, now=now, message=message, deadline_exceeded_at=now, **record)


def judged(state: RolloutState, result: AnalysisResult, *, now: float, policy: RolloutPolicy) -> Decision:
    """The decision an assessment of the current step leads to (see the module docstring)."""
    record = {"last_analysis": analysis_record(result, step=state.step, at=now), "last_analysis_at": now}
    if result.decision is Outcome.PASS:
        passed = _reasons(result.checks)
        if not state.gate_open:
            message = (f"waiting for approval at {_step_text(state, state.step)} ({describe_weights(state.current)}) "
                       f"before {_gate_text(state)}: checks pass; `meshops rollout approve --env {policy.environment} "
                       f"{state.service}` lets it continue")
            return _stay(state, Reason.AWAITING_APPROVAL, now=now, message=message, awaiting_approval=state.step,
                         progress_at=now, **record)
        return _advanced(state, now=now, passed=passed, **record)
    if result.decision is Outcome.FAIL:
        failed = state.failed_checks + 1
        reasons = _reasons(result.failed)
        if failed >= state.threshold:
            message = f"rolled back to {state.stable} after {failed} failed analyses (threshold {state.threshold}): {reasons}"
            return _rolled_back(state, reason=Reason.ROLLED_BACK, phase=Phase.FAILED, now=now, message=message,
                                failed_checks=failed, **record)
        record["failed_checks"] = failed
        late = _deadline(state, policy, now=now, why=reasons, **record)
        if late is not None:
            return late
        message = f"analysis failed at {_step_text(state, state.step)} ({failed}/{state.threshold}): {reasons}"
        return _stay(state, Reason.CHECK_FAILED, now=now, message=message, **record)
    reason, why = _waiting_reason(result)
    if reason == Reason.ANALYSIS_INCONCLUSIVE:
        record["inconclusive"] = state.inconclusive + 1
    late = _deadline(state, policy, now=now, why=_reasons(why), **record)
    if late is not None:
        return late
    verb = {Reason.ANALYSIS_INCONCLUSIVE: "inconclusive", Reason.CANARY_NOT_READY: "canary not ready"}.get(reason, "held")
    message = f"{verb} at {_step_text(state, state.step)} ({describe_weights(state.current)}): {_reasons(why)}"
    return _stay(state, reason, now=now, message=message, **record)


# --- Commands from people ---------------------------------------------------------------------------

COMMANDS = ("pause", "resume", "promote", "abort", "retry", "approve")
# Phases each command applies to; in the phase it leads to it is a no-op (pausing a paused rollout).
_APPLIES_IN = {
    "pause": (Phase.PROGRESSING,),
    "resume": (Phase.PAUSED,),
    "promote": (Phase.PROGRESSING, Phase.PAUSED),
    "abort": (Phase.PROGRESSING, Phase.PAUSED),
    "retry": tuple(ROLLED_BACK_PHASES),
    "approve": (Phase.PROGRESSING, Phase.PAUSED),
}
_ALREADY = {"pause": Phase.PAUSED, "resume": Phase.PROGRESSING}


def _approved(state: RolloutState, *, now: float, actor: str) -> Decision:
    if state.awaiting_approval is None:
        gates = ", ".join("promotion" if gate >= len(state.weights) else f"after step {gate}" for gate in state.gates)
        raise NotApplicable(
            f"the rollout of {state.service} ({state.stable} -> {state.canary}) is not waiting for approval "
            f"(at step {state.step}/{len(state.weights)})",
            obj=state.service,
            hint=(f"its gates: {gates}; " if gates else "its policy has no approval gate; ")
            + "`meshops rollout status` shows when one is reached",
        )
    gate = state.awaiting_approval
    message = (f"approved by {actor} at {_step_text(state, state.step)}: the next passing analysis moves on to "
               f"{_gate_text(state)}")
    return _stay(state, Reason.APPROVED, now=now, message=message, approved=tuple(sorted({*state.approved, gate})),
                 awaiting_approval=None, approved_by=actor, progress_at=now)


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
    if command == "approve":
        return _approved(state, now=now, actor=actor)
    if command == "pause":
        message = f"paused by {actor} at {_step_text(state, state.step)} ({describe_weights(state.current)})"
        return _stay(state, Reason.PAUSED, now=now, message=message, phase=Phase.PAUSED, paused_by=actor)
    if command == "resume":
        message = f"resumed by {actor} at {_step_text(state, state.step)}"
        return _stay(state, Reason.RESUMED, now=now, message=message, phase=Phase.PROGRESSING, paused_by=None,
                     progress_at=now, deadline_exceeded_at=None)
    if command == "promote":
        message = f"{state.canary} promoted to 100 % by {actor} at {_step_text(state, state.step)}, skipping the remaining analysis"
        return _promoted(state, now=now, message=message, ended_by=actor)
    if command == "retry":
        message = f"retried by {actor}: {state.canary} back to 0 %, rolling out from {state.stable} again"
        return started(service=state.service, stable=state.stable, canary=state.canary, weights=state.weights,
                       threshold=state.threshold, revision=state.revision, now=now, reason=Reason.RESTARTED,
                       message=message, history=state.history, rules=state.rules, gates=state.gates, seq=state.seq,
                       notified=state.notified_through, walk=Walk.of_state(state))
    message = f"aborted by {actor} at {_step_text(state, state.step)}: {state.stable} back to 100 %"
    return _rolled_back(state, reason=Reason.ABORTED, phase=Phase.ABORTED, now=now, message=message, ended_by=actor)
