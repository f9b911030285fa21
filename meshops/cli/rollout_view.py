"""How rollouts look on screen: `rollout status` text, JSON, and the live progress of `rollout run`.

On a terminal `RolloutProgress` keeps a table (service, phase, step, weights, success rate, p99,
failed checks, last reason) up to date with rich; in CI logs it prints one plain line per
decision instead, so the log reads as the rollout's story.
"""
from __future__ import annotations

from typing import Any, Iterable

import click

from ..rollout.policy import RolloutPolicy, promql_duration
from ..rollout.routes import describe_weights
from ..rollout.state import Phase, RolloutState, format_time
from .console import is_terminal

# Decisions whose table cell says why (the others speak for themselves: the weights show them).
EXPLAINED = frozenset({"AnalysisHeld", "AnalysisInconclusive", "CanaryNotReady", "AwaitingApproval",
                       "ProgressDeadlineExceeded", "CheckFailed", "RolledBack", "Aborted", "Paused", "Error"})
# Decisions that leave the weights where they are: a live table does not print a line for each.
QUIET = frozenset({"StepAdvanced", "AnalysisHeld", "AnalysisInconclusive", "CanaryNotReady", "AwaitingApproval"})
NOTE_WIDTH = 70
# The built-in checks the progress line and table show (name in the analysis -> label).
HEADLINE_CHECKS = (("success-rate", "success"), ("latency", "p99"))


def check_values(state: RolloutState | None) -> dict[str, str]:
    """`success` and `p99` from the last analysis, formatted (`99.5%`, `120ms`), when known."""
    shown: dict[str, str] = {}
    checks = ((state.last_analysis if state else None) or {}).get("checks") or []
    for name, label in HEADLINE_CHECKS:
        for check in checks:
            if check.get("name") == name and check.get("value") is not None:
                shown[label] = f"{check['value']:.4g}{check.get('unit') or ''}"
    return shown


# How status lines name the kind of a step that is not a weight step.
STAGE_NAMES = {"ab": "A/B", "mirror": "mirror"}


def step_text(state: RolloutState) -> str:
    """`2/5`, or `1/5 A/B` during an A/B step (`mirror` during a mirror step)."""
    stage = STAGE_NAMES.get(state.stage_at(state.step))
    return f"{state.step}/{len(state.weights)}" + (f" {stage}" if stage else "")


def progress_line(name: str, state: RolloutState | None, *, reason: str, message: str) -> str:
    """One plain line for a decision: what happened, where the weights are, the headline values."""
    if state is None:
        return f"{name}: {reason}: {message}"
    values = " ".join(f"{label} {value}" for label, value in check_values(state).items())
    line = f"{name}: {reason} step {step_text(state)} ({describe_weights(state.current)})"
    if values:
        line += f" {values}"
    if reason not in ("StepAdvanced",):
        line += f" — {message}"
    return line


def _gate_names(state: RolloutState) -> str:
    return ", ".join("promotion" if gate >= len(state.weights) else f"after step {gate}" for gate in state.gates)


def _waiting_lines(state: RolloutState, *, policy: RolloutPolicy | None, environment: str) -> list[str]:
    """What the rollout waits for: a person's approval, or the progress deadline ticking."""
    lines = []
    if state.gates:
        approved = f" (approved: {', '.join(str(gate) for gate in state.approved)} by {state.approved_by})" if state.approved else ""
        lines.append(f"  approval gates: {_gate_names(state)}{approved}")
    if state.awaiting_approval is not None and state.active:
        lines.append(f"  WAITING FOR APPROVAL since {format_time(state.progress_at) or '?'}: "
                     f"meshops rollout approve --env {environment} {state.service}")
    elif policy is not None and state.phase == Phase.PROGRESSING and state.progress_since is not None:
        due = state.progress_since + policy.progress_deadline
        lines.append(f"  progress deadline {promql_duration(policy.progress_deadline)} (onTimeout: {policy.on_timeout}): "
                     f"{'exceeded' if state.deadline_exceeded_at else 'reached'} at {format_time(due)} without a step")
    return lines


def status_lines(name: str, namespace: str, state: RolloutState, *, next_decision_at: float | None = None,
                 policy: RolloutPolicy | None = None, environment: str = "") -> list[str]:
    """The text of `meshops rollout status` for one rollout."""
    lines = [
        f"{name} ({namespace}): {state.phase}, step {step_text(state)} of {list(state.weights)}, "
        f"{describe_weights(state.current)}, failed checks {state.failed_checks}/{state.threshold}, "
        f"inconclusive {state.inconclusive}",
        f"  {state.stable} -> {state.canary} on rules {', '.join(state.rules)}, started {format_time(state.started_at) or '?'}"
        + (f" from {state.revision[:12]}" if state.revision else "")
        + (f", paused by {state.paused_by}" if state.paused_by else "")
        + (f", next decision due {format_time(next_decision_at)}" if next_decision_at is not None else ""),
        *_waiting_lines(state, policy=policy, environment=environment),
    ]
    analysis = state.last_analysis
    if analysis:
        lines.append(f"  last analysis at step {analysis.get('step')}: {analysis.get('decision')} "
                     f"({analysis.get('at')}, window {analysis.get('window')})")
        for check in analysis.get("checks") or []:
            lines.append(f"    {check.get('outcome', '?'):<4}  {check.get('name', '?'):<22} {check.get('reason', '')}")
    if state.message:
        lines.append(f"  {state.message}")
    return lines


def status_json(rollouts: Iterable[tuple[str, str, RolloutState, float | None, RolloutPolicy]]) -> list[dict[str, Any]]:
    return [{"namespace": namespace, "name": name, **state.to_dict(), "nextDecisionAt": format_time(due),
             "progressDeadlineAt": format_time(state.progress_since + policy.progress_deadline)
             if state.phase == Phase.PROGRESSING and state.progress_since is not None and state.awaiting_approval is None
             else None}
            for name, namespace, state, due, policy in rollouts]


class RolloutProgress:
    """`on_tick` for the engine: a live table on a terminal, plain lines otherwise."""

    def __init__(self, states: dict[str, RolloutState | None], *, live: bool | None = None) -> None:
        self.states = dict(states)
        self.notes: dict[str, str] = {}
        self.live = is_terminal(click.get_text_stream("stderr")) if live is None else live
        self._display = None

    def _table(self):
        from rich.table import Table

        table = Table(title="rollouts", expand=False)
        for column in ("service", "phase", "step", "weights", "success", "p99", "failed", "last decision"):
            table.add_column(column)
        for name, state in sorted(self.states.items()):
            if state is None:
                table.add_row(name, "?", "", "", "", "", "", self.notes.get(name, ""))
                continue
            values = check_values(state)
            table.add_row(name, state.phase, step_text(state), describe_weights(state.current), values.get("success", ""),
                          values.get("p99", ""), f"{state.failed_checks}/{state.threshold}", self.notes.get(name, ""))
        return table

    def __enter__(self) -> RolloutProgress:
        if self.live:
            from rich.console import Console
            from rich.live import Live

            self._display = Live(self._table(), console=Console(stderr=True), refresh_per_second=4)
            self._display.start()
        return self

    def __call__(self, tick) -> None:
        name = tick.ref.name
        if tick.error is not None:
            reason, message = "Error", tick.error
        elif tick.decision is not None:
            reason, message = tick.decision.reason, tick.decision.message
        else:
            reason, message = (tick.state.phase if tick.state else "Gone"), (tick.state.message if tick.state else "")
        if tick.state is not None:
            self.states[name] = tick.state
        self.notes[name] = f"{reason}: {message}"[:NOTE_WIDTH] if reason in EXPLAINED else reason
        if self._display is not None:
            self._display.update(self._table())
            if reason not in QUIET:
                self._display.console.print(progress_line(name, tick.state, reason=reason, message=message))
        else:
            click.echo(progress_line(name, tick.state, reason=reason, message=message), err=True)

    def __exit__(self, *exc_info: object) -> None:
        if self._display is not None:
            self._display.update(self._table())
            self._display.stop()
