"""The rollout view: one canary's steps, weights, decisions and the metrics they were taken on.

Built from what the rollout engine already keeps on the VirtualService (the `meshops.dev/rollout`
state with its bounded decision history) and, for the chart, the same PromQL the analysis sends
(`rollout.queries`), asked as a range over the rollout's lifetime: canary and stable success rate
and latency percentile against the policy's bounds, canary weight as a step line, every decision
a mark. Without a Prometheus the view still shows weights and decisions, and says why the
metrics are missing. Used by the dashboard page and by `meshops rollout report --html`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..metrics.source import MetricsSource, RangeResult
from ..model.errors import MeshopsError
from ..rollout import queries
from ..rollout.policy import RolloutPolicy, load_policy, policies
from ..rollout.routes import describe_weights
from ..rollout.state import ROLLED_BACK_PHASES, Phase, Reason, RolloutState, parse_time
from ..rollout.store import LiveRollout
from ..source.envconfig import EnvConfig
from .chart import Chart, Curve, Mark, PanelData, Timeline, layout

# Points per metric curve: enough for a smooth line at the chart's width, small to ask for.
CHART_POINTS = 240
# A running rollout's chart ends now; an ended one a little after its last decision.
END_MARGIN = 0.04
# Each decision: how its mark is labelled and coloured (`kind` is a CSS class).
DECISIONS: dict[str, tuple[str, str]] = {
    Reason.STARTED: ("started", "start"),
    Reason.RESTARTED: ("restarted", "start"),
    Reason.STEP_ADVANCED: ("advanced", "advance"),
    Reason.ANALYSIS_HELD: ("held", "hold"),
    Reason.CHECK_FAILED: ("failed", "fail"),
    Reason.PROMOTED: ("promoted", "promote"),
    Reason.ROLLED_BACK: ("rolled back", "rollback"),
    Reason.PAUSED: ("paused", "pause"),
    Reason.RESUMED: ("resumed", "pause"),
    Reason.ABORTED: ("aborted", "rollback"),
}
# Each phase's badge class.
PHASES = {Phase.PROGRESSING: "progressing", Phase.PAUSED: "paused", Phase.SUCCEEDED: "in-sync",
          Phase.FAILED: "failed", Phase.ABORTED: "failed"}
# The measures the chart shows (the analysis's keys: role_measure).
MEASURES = ("success_rate", "latency")


@dataclass(frozen=True)
class StepView:
    number: int
    weight: int
    state: str  # done, current, failed (where a rollback happened), next


@dataclass(frozen=True)
class DecisionView:
    at: float | None
    reason: str
    label: str
    kind: str
    step: int
    weights: str
    canary_weight: int
    message: str


@dataclass(frozen=True)
class CheckView:
    name: str
    outcome: str
    value: str
    bounds: str
    reason: str


@dataclass(frozen=True)
class RolloutView:
    environment: str
    cluster: str
    namespace: str
    name: str
    state: RolloutState
    steps: tuple[StepView, ...]
    decisions: tuple[DecisionView, ...]  # newest first
    checks: tuple[CheckView, ...]
    analysis: dict[str, Any]  # the last analysis record (decision, at, step, window)
    chart: Chart
    metrics_note: str  # why the metric curves are missing, when they are

    @property
    def phase_class(self) -> str:
        return PHASES.get(self.state.phase, "unknown")

    @property
    def canary_weight(self) -> int:
        return int(self.state.current.get(self.state.canary, 0))

    @property
    def stable_weight(self) -> int:
        return int(self.state.current.get(self.state.stable, 0))


def _policy(config: EnvConfig | None, service: str, environment: str) -> RolloutPolicy:
    """The service's policy from meshops.yaml; the defaults when it cannot be read."""
    if config is not None:
        try:
            return policies(config).of(service)
        except MeshopsError:
            pass
    return load_policy(EnvConfig(name=environment, file="meshops.yaml"))


def _steps(state: RolloutState) -> tuple[StepView, ...]:
    """Step 0 (0 %), each weight, then promotion (100 %); where a rolled-back rollout stopped is `failed`."""
    here = "failed" if state.phase in ROLLED_BACK_PHASES else "current"
    views = [StepView(0, 0, "done" if state.step > 0 else here)]
    for number, weight in enumerate(state.weights, start=1):
        status = "done" if number < state.step else here if number == state.step else "next"
        views.append(StepView(number, weight, status))
    views.append(StepView(len(state.weights) + 1, 100, "done" if state.phase == Phase.SUCCEEDED else "next"))
    return tuple(views)


def _decisions(state: RolloutState) -> tuple[DecisionView, ...]:
    views = []
    for entry in state.history:
        reason = str(entry.get("reason") or "")
        label, kind = DECISIONS.get(reason, (reason.lower() or "?", "other"))
        current = entry.get("current") if isinstance(entry.get("current"), dict) else {}
        views.append(DecisionView(at=parse_time(entry.get("at")), reason=reason, label=label, kind=kind,
                                  step=int(entry.get("step") or 0), weights=describe_weights(current),
                                  canary_weight=int(current.get(state.canary) or 0), message=str(entry.get("message") or "")))
    return tuple(reversed(views))


def _format(value: Any, unit: str) -> str:
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    return f"{value:.4g}{unit}" if unit in ("%", "ms") else f"{value:.4g} {unit}".rstrip()


def _checks(state: RolloutState) -> tuple[CheckView, ...]:
    views = []
    for check in (state.last_analysis or {}).get("checks") or []:
        unit = str(check.get("unit") or "")
        bounds = " ".join(part for part in (
            f"min {_format(check.get('min'), unit)}" if check.get("min") is not None else "",
            f"max {_format(check.get('max'), unit)}" if check.get("max") is not None else "") if part)
        views.append(CheckView(name=str(check.get("name") or "?"), outcome=str(check.get("outcome") or "?"),
                               value=_format(check.get("value"), unit), bounds=bounds, reason=str(check.get("reason") or "")))
    return tuple(views)


def _recorded_bound(state: RolloutState, check: str, bound: str) -> float | None:
    """A bound as the last analysis judged it (the policy may have changed since)."""
    for recorded in (state.last_analysis or {}).get("checks") or []:
        if recorded.get("name") == check and isinstance(recorded.get(bound), (int, float)):
            return float(recorded[bound])
    return None


def time_span(state: RolloutState, now: float) -> tuple[float, float]:
    """From the rollout's start to now (running) or a little after its last decision (ended)."""
    moments = [t for t in [state.started_at, *(parse_time(e.get("at")) for e in state.history)] if t is not None]
    start = min(moments) if moments else now
    end = now if state.active or not moments else max(moments)
    end = max(end, start + 1)
    return start, end + (end - start) * END_MARGIN


def _weight_curve(decisions: tuple[DecisionView, ...]) -> Curve:
    points = tuple((d.at, float(d.canary_weight)) for d in reversed(decisions) if d.at is not None)  # oldest first
    return Curve("canary", points, steps=True)


def metric_series(metrics: MetricsSource | None, *, state: RolloutState, policy: RolloutPolicy, namespace: str,
                  start: float, end: float) -> tuple[dict[str, tuple[tuple[float, float], ...]], str]:
    """Canary and stable success rate and latency over [start, end]: {key: points} and why some are missing."""
    ask = getattr(metrics, "query_range", None)
    if ask is None:
        return {}, "metrics history is not available from this metrics source"
    workloads = {role: policy.workload_name(service=state.service, version=version, namespace=namespace)
                 for role, version in (("canary", state.canary), ("stable", state.stable))}
    standalone = {f"{role}_{measure}": queries.measure(measure, namespace=namespace, workload=workload,
                                                       window=policy.window_text, quantile=policy.latency_percentile / 100)
                  for role, workload in workloads.items() for measure in MEASURES}
    step = max(1.0, math.ceil((end - start) / CHART_POINTS))
    result: RangeResult = ask(queries.combined(standalone), start=start, end=end, step=step)
    if not result.ok:
        return {}, result.reason
    series = {}
    for one in result.series:
        key = one.labels.get(queries.MEASURE_LABEL)
        if key in standalone:
            series[key] = one.points
    return series, "" if series else "no data for these workloads in this time range"


def rollout_view(live: LiveRollout, *, environment: str, cluster: str, config: EnvConfig | None,
                 metrics: MetricsSource | None, metrics_problem: str = "", now: float) -> RolloutView:
    """Everything the rollout page and report show (see module docstring)."""
    state = live.state
    policy = _policy(config, state.service, environment)
    decisions = _decisions(state)
    start, end = time_span(state, now)
    series, note = ({}, metrics_problem) if metrics_problem else metric_series(
        metrics, state=state, policy=policy, namespace=live.ref.namespace, start=start, end=end)
    recorded_latency = _recorded_bound(state, "latency", "max")
    recorded_success = _recorded_bound(state, "success-rate", "min")
    latency_max = policy.latency_max_ms if recorded_latency is None else recorded_latency
    success_min = policy.success_rate_min if recorded_success is None else recorded_success
    percentile = f"p{policy.latency_percentile:g}"
    panels = (
        PanelData("canary weight", "%", (_weight_curve(decisions),), fixed=(0.0, 100.0)),
        PanelData("success rate", "%", tuple(Curve(role, series.get(f"{role}_success_rate", ())) for role in ("stable", "canary")),
                  threshold=success_min, threshold_label=f"min {success_min:g}%" if success_min is not None else "",
                  note=note),
        PanelData(f"{percentile} latency", "ms", tuple(Curve(role, series.get(f"{role}_latency", ())) for role in ("stable", "canary")),
                  threshold=latency_max, threshold_label=f"max {latency_max:g} ms", note=note),
    )
    marks = tuple(Mark(at=d.at, kind=d.kind, label=d.label, title=f"{d.reason}: {d.message}" if d.message else d.reason)
                  for d in decisions if d.at is not None)
    chart = layout(Timeline(start=start, end=end, panels=panels, marks=marks))
    return RolloutView(environment=environment, cluster=cluster, namespace=live.ref.namespace, name=live.ref.name,
                       state=state, steps=_steps(state), decisions=decisions, checks=_checks(state),
                       analysis=dict(state.last_analysis or {}), chart=chart, metrics_note=note)
