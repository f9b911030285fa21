"""Judge one canary against its policy: the decision the rollout engine takes before every step.

`analyze(metrics=, policy=, target=)` runs the built-in checks (request count guard, success rate,
latency percentile, optional comparison with stable over the same window) and the policy's custom
PromQL checks, and returns an `AnalysisResult`: `pass` only when every check passes, `fail` when a
number broke its bound (or data is missing where the policy says fail), `inconclusive` when the
metrics source could not answer (unreachable, malformed: the canary is not to blame), `hold` when
something says "wait" (too little traffic, a custom check with `onNoData: hold`). Missing data is
never a pass, and every check carries its value, bounds, exact query and a reason a person can read. All built-in measures travel in one combined query; custom checks run
concurrently with it, so a step costs 1 + len(custom checks) queries.
"""
from __future__ import annotations

import enum
import math
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Callable, Iterable

from . import queries
from ..model.steering import BY_SERVICE, BY_SUBSET
from .policy import DEFAULT_WORKLOAD, CustomCheck, RolloutPolicy
from ..metrics.source import MetricsSource, QueryResult, QueryStatus, ResultKind, kind_of, one_number


class Outcome(str, enum.Enum):
    """What a check (or a whole analysis) says the rollout should do."""

    PASS = "pass"  # advance
    HOLD = "hold"  # wait and ask again: not enough to judge yet
    INCONCLUSIVE = "inconclusive"  # the metrics source could not answer: wait, count apart, never a failure
    FAIL = "fail"  # counts towards the policy's failure threshold

    def __str__(self) -> str:
        return self.value


# Severity order: one failed check fails the analysis (the canary broke a bound, whatever else could
# not be asked); otherwise one unanswered query makes it inconclusive; otherwise one hold holds it.
_SEVERITY = {Outcome.PASS: 0, Outcome.HOLD: 1, Outcome.INCONCLUSIVE: 2, Outcome.FAIL: 3}


def unanswered(status: QueryStatus) -> bool:
    """Whether the metrics source failed to answer (unreachable or malformed), as opposed to data or no data."""
    return kind_of(status) in (ResultKind.UNREACHABLE, ResultKind.MALFORMED)


@dataclass(frozen=True)
class AnalysisTarget:
    """The canary being judged: a service, its namespace, and both versions with their workloads."""

    service: str
    namespace: str
    canary: str
    stable: str
    canary_workload: str
    stable_workload: str
    by_service: bool = False  # versions are Services: metrics select destination_service_name

    @classmethod
    def of(cls, policy: RolloutPolicy, *, service: str, namespace: str, canary: str, stable: str,
           split_by: str = BY_SUBSET) -> AnalysisTarget:
        """The target with workload names from the policy's template (`{service}-{version}`); when the
        versions are Services (`split_by` BY_SERVICE) and the policy names no template, a version's
        workload is named as its Service (Bookinfo's details-v2 Service selects the details-v2 Deployment)."""
        by_service = split_by == BY_SERVICE

        def workload(version: str) -> str:
            if by_service and policy.workload == DEFAULT_WORKLOAD:
                return version
            return policy.workload_name(service=service, version=version, namespace=namespace)

        return cls(service=service, namespace=namespace, canary=canary, stable=stable,
                   canary_workload=workload(canary), stable_workload=workload(stable), by_service=by_service)

    @property
    def canary_service(self) -> str:
        """The Service the canary's requests are sent to (the service itself when versions are subsets)."""
        return self.canary if self.by_service else self.service

    @property
    def stable_service(self) -> str:
        return self.stable if self.by_service else self.service

    def variables(self, window: str) -> dict[str, str]:
        """Values for the `$variables` of custom checks."""
        return {
            "service": self.service,
            "namespace": self.namespace,
            "canary": self.canary,
            "stable": self.stable,
            "canary_workload": self.canary_workload,
            "stable_workload": self.stable_workload,
            "canary_service": self.canary_service,
            "stable_service": self.stable_service,
            "window": window,
        }


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict with everything needed to understand it."""

    name: str
    outcome: Outcome
    value: float | None  # None when there was no usable number
    min: float | None
    max: float | None
    unit: str  # "%", "ms", "requests", "points" or "" for custom checks
    query: str  # the PromQL that produced the value, paste-able into Prometheus
    reason: str
    status: QueryStatus = QueryStatus.OK  # how the query itself ended

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "outcome": self.outcome.value,
            "value": self.value if self.value is not None and math.isfinite(self.value) else None,
            "min": self.min,
            "max": self.max,
            "unit": self.unit,
            "query": self.query,
            "reason": self.reason,
            "status": self.status.value,
        }


@dataclass(frozen=True)
class AnalysisResult:
    """The verdict of one analysis: pass only if every check passed."""

    target: AnalysisTarget
    decision: Outcome
    checks: tuple[CheckResult, ...]
    window: str  # PromQL range, e.g. "1m"
    at: float | None  # evaluation time (unix seconds) if not "now"
    queries: tuple[str, ...] = field(default=())  # what was actually sent, in order

    @property
    def query_count(self) -> int:
        return len(self.queries)

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(check for check in self.checks if check.outcome is Outcome.FAIL)

    @property
    def inconclusive(self) -> tuple[CheckResult, ...]:
        """Checks the metrics source could not answer (Prometheus down, bad PromQL, several series …)."""
        return tuple(check for check in self.checks if check.outcome is Outcome.INCONCLUSIVE)

    @property
    def held(self) -> tuple[CheckResult, ...]:
        return tuple(check for check in self.checks if check.outcome is Outcome.HOLD)

    def check(self, name: str) -> CheckResult:
        """The result of the check called `name` (KeyError if it did not run)."""
        for result in self.checks:
            if result.name == name:
                return result
        raise KeyError(name)

    def summary(self) -> str:
        """One line: the decision and the reasons of the checks that did not pass (shared reasons once)."""
        if not self.checks:
            return f"{self.decision.value}: {self.target.canary_workload}: nothing to check"
        by_reason: dict[str, list[str]] = {}
        for check in self.failed or self.inconclusive or self.held:
            by_reason.setdefault(check.reason, []).append(check.name)
        detail = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in by_reason.items()) or "all checks passed"
        return f"{self.decision.value}: {self.target.canary_workload}: {detail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "service": self.target.service,
            "namespace": self.target.namespace,
            "canary": self.target.canary_workload,
            "stable": self.target.stable_workload,
            "window": self.window,
            "at": self.at,
            "queryCount": self.query_count,
            "checks": [check.to_dict() for check in self.checks],
        }


# --- Formatting ------------------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:.6g}"


def _with_unit(value: float, unit: str) -> str:
    return f"{_number(value)}{unit}" if unit in ("%", "ms") else f"{_number(value)} {unit}".rstrip()


def _judge(label: str, value: float, *, low: float | None, high: float | None, unit: str) -> tuple[Outcome, str]:
    """Compare a finite value with its bounds: the outcome and a sentence saying why."""
    shown = f"{label} {_with_unit(value, unit)}"
    if low is not None and value < low:
        return Outcome.FAIL, f"{shown} < min {_with_unit(low, unit)}"
    if high is not None and value > high:
        return Outcome.FAIL, f"{shown} > max {_with_unit(high, unit)}"
    bounds = (("≥ min", low), ("≤ max", high))
    limits = [f"{sign} {_with_unit(bound, unit)}" for sign, bound in bounds if bound is not None]
    return Outcome.PASS, f"{shown} {' and '.join(limits)}"


def _percentile_label(percentile: float) -> str:
    return f"p{percentile:g}"


# --- Measures: the built-in numbers, all from one query -------------------------------------------


@dataclass(frozen=True)
class _Measure:
    key: str  # e.g. "canary_requests"
    query: str  # standalone PromQL
    result: QueryResult  # this measure's share of the combined answer


def _built_in_queries(policy: RolloutPolicy, target: AnalysisTarget) -> dict[str, str]:
    window = policy.window_text
    roles = {"canary": (target.canary_workload, target.canary_service)}
    if policy.compare_to_stable is not None:
        roles["stable"] = (target.stable_workload, target.stable_service)
    return {
        f"{role}_{name}": queries.measure(
            name,
            namespace=target.namespace,
            workload=workload,
            window=window,
            quantile=policy.latency_percentile / 100,
            reporter=policy.reporter,
            service=service if target.by_service else None,
        )
        for role, (workload, service) in roles.items()
        for name in queries.MEASURES
    }


def _split(combined: QueryResult, standalone: dict[str, str]) -> dict[str, _Measure]:
    """Each measure's own result out of the combined answer, held to the one-number rule."""
    measures = {}
    for key, query in standalone.items():
        mine = tuple(s for s in combined.samples if s.labels.get(queries.MEASURE_LABEL) == key)
        result = one_number(replace(combined, query=query, samples=mine))
        measures[key] = _Measure(key=key, query=query, result=result)
    return measures


# --- Checks -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Traffic:
    """Whether one version got enough requests in the window to be judged."""

    outcome: Outcome
    reason: str
    count: float | None
    status: QueryStatus

    def not_judged(self, doing: str) -> str:
        """The reason a dependent check gives: a query failure as it is, low traffic as 'not <doing>'."""
        return self.reason if unanswered(self.status) else f"not {doing}: {self.reason}"


@dataclass
class _Context:
    policy: RolloutPolicy
    target: AnalysisTarget
    measures: dict[str, _Measure]

    @property
    def window(self) -> str:
        return self.policy.window_text

    def workload(self, role: str) -> str:
        return self.target.canary_workload if role == "canary" else self.target.stable_workload

    def traffic(self, role: str) -> _Traffic:
        result = self.measures[f"{role}_requests"].result
        if unanswered(result.status):
            return _Traffic(Outcome.INCONCLUSIVE, result.reason, None, result.status)
        needed = self.policy.min_requests
        low = Outcome.FAIL if self.policy.on_low_traffic == "fail" else Outcome.HOLD
        who = f"{role} {self.workload(role)}"
        if result.status is QueryStatus.NOT_A_NUMBER:  # not an idle canary: Prometheus has NaN samples
            reason = (f"no data: Prometheus answered NaN for the requests to {who} in {self.window} "
                      f"(NaN samples in {queries.REQUESTS_METRIC}{{reporter=\"{self.policy.reporter}\"}}, not a count of 0)")
            return _Traffic(low, reason, None, result.status)
        count = result.value if result.ok and result.value is not None else 0.0
        if count <= 0:
            reported = "" if self.policy.reporter == queries.DEFAULT_REPORTER else f' (reporter="{self.policy.reporter}")'
            return _Traffic(low, f"no data: {who} received no requests in {self.window}{reported}", 0.0, result.status)
        if count < needed:
            reason = f"only {_number(count)} requests to {who} in {self.window} (< min {_number(needed)})"
            return _Traffic(low, reason, count, result.status)
        reason = f"{_number(count)} requests to {who} in {self.window} ≥ min {_number(needed)}"
        return _Traffic(Outcome.PASS, reason, count, result.status)

    def value(self, key: str, what: str) -> tuple[float | None, Outcome, str]:
        """A measure's finite value (PASS), or None with the outcome and reason of having none."""
        result = self.measures[key].result
        if result.ok:
            return result.value, Outcome.PASS, ""
        if unanswered(result.status):
            return None, Outcome.INCONCLUSIVE, result.reason
        role = key.split("_", 1)[0]
        who = f"{role} {self.workload(role)}"
        count = self.traffic(role).count
        if count:
            # Requests were counted, so this is not the 0/0 of an idle window: say what is missing.
            source = (f"no usable {queries.DURATION_BUCKETS_METRIC} series for it (is the histogram scraped, "
                      "or dropped by relabelling?)" if key.endswith("latency") else
                      f"NaN samples in {queries.REQUESTS_METRIC}")
            got = "is NaN" if result.status is QueryStatus.NOT_A_NUMBER else "has no series"
            return None, Outcome.FAIL, f"{what} of {who} {got} although {_number(count)} requests were counted: {source}"
        return None, Outcome.FAIL, f"no {what} for {who} in {self.window} ({result.reason})"


def _request_count(context: _Context) -> CheckResult:
    traffic = context.traffic("canary")
    return CheckResult(
        name="request-count",
        outcome=traffic.outcome,
        value=traffic.count,
        min=context.policy.min_requests,
        max=None,
        unit="requests",
        query=context.measures["canary_requests"].query,
        reason=traffic.reason,
        status=traffic.status,
    )


def _bounded_measure(
    context: _Context, *, name: str, key: str, label: str, low: float | None, high: float | None, unit: str
) -> CheckResult:
    """A built-in canary check: not judged without enough traffic, never passed without a number."""
    measure = context.measures[key]
    traffic = context.traffic("canary")
    value, reason = None, ""
    if traffic.outcome is not Outcome.PASS:
        outcome, reason = traffic.outcome, traffic.not_judged("judged")
    else:
        value, outcome, reason = context.value(key, label)
        if value is not None:
            outcome, reason = _judge(label, value, low=low, high=high, unit=unit)
    return CheckResult(
        name=name, outcome=outcome, value=value, min=low, max=high, unit=unit,
        query=measure.query, reason=reason, status=measure.result.status,
    )


@dataclass(frozen=True)
class _Comparison:
    """One canary-vs-stable check: which measure, how it is shown, and how 'worse' is computed."""

    name: str
    measure: str
    label: str
    unit: str  # of the compared value
    delta_unit: str  # of the difference
    compared: Callable[[float], float]  # measure -> the value compared (a success rate -> an error rate)


def _compared(context: _Context, comparison: _Comparison, limit: float) -> CheckResult:
    """Canary against stable over the same window: worse by at most `limit`."""
    pair = {role: context.measures[f"{role}_{comparison.measure}"] for role in ("canary", "stable")}
    values: dict[str, float] = {}
    outcome, reason, status = Outcome.PASS, "", QueryStatus.OK
    for role in ("canary", "stable"):
        traffic = context.traffic(role)
        value, missing, why_not = context.value(pair[role].key, comparison.label)
        if traffic.outcome is not Outcome.PASS:
            outcome, reason, status = traffic.outcome, traffic.not_judged("compared"), traffic.status
            break
        if value is None:
            outcome, reason, status = missing, why_not, pair[role].result.status
            break
        values[role] = comparison.compared(value)
    worse = None
    if len(values) == 2:
        worse = values["canary"] - values["stable"]
        outcome = Outcome.FAIL if worse > limit else Outcome.PASS
        reason = (
            f"canary {comparison.label} {_with_unit(values['canary'], comparison.unit)}"
            f" vs stable {_with_unit(values['stable'], comparison.unit)}:"
            f" {'+' if worse >= 0 else ''}{_with_unit(worse, comparison.delta_unit)}"
            f" {'>' if worse > limit else '≤'} max +{_with_unit(limit, comparison.delta_unit)}"
        )
    return CheckResult(
        name=comparison.name, outcome=outcome, value=worse, min=None, max=limit, unit=comparison.delta_unit,
        query=f"({pair['canary'].query})\n-\n({pair['stable'].query})", reason=reason, status=status,
    )


_ERROR_RATE_VS_STABLE = _Comparison(
    name="error-rate-vs-stable", measure="success_rate", label="error rate", unit="%", delta_unit="points",
    # Measured as success rates: stable 99.5 %, canary 98 % -> error rates 0.5 % and 2 %, +1.5 points.
    compared=lambda success_rate: 100 - success_rate,
)


def _latency_vs_stable(label: str) -> _Comparison:
    return _Comparison(
        name="latency-vs-stable", measure="latency", label=label, unit="ms", delta_unit="ms",
        compared=lambda milliseconds: milliseconds,
    )


def _built_in_checks(context: _Context) -> list[CheckResult]:
    policy = context.policy
    latency = f"{_percentile_label(policy.latency_percentile)} latency"
    checks = [
        _request_count(context),
        _bounded_measure(context, name="success-rate", key="canary_success_rate", label="success rate",
                         low=policy.success_rate_min, high=policy.success_rate_max, unit="%"),
        _bounded_measure(context, name="latency", key="canary_latency", label=latency,
                         low=None, high=policy.latency_max_ms, unit="ms"),
    ]
    limits = policy.compare_to_stable
    if limits is not None and limits.max_error_rate_increase is not None:
        checks.append(_compared(context, _ERROR_RATE_VS_STABLE, limits.max_error_rate_increase))
    if limits is not None and limits.max_latency_increase is not None:
        checks.append(_compared(context, _latency_vs_stable(latency), limits.max_latency_increase))
    return checks


def _custom_check(check: CustomCheck, result: QueryResult) -> CheckResult:
    value, outcome, reason = result.value, Outcome.FAIL, result.reason
    if result.ok and value is not None:
        outcome, reason = _judge(check.name, value, low=check.min, high=check.max, unit="")
    elif unanswered(result.status):
        outcome = Outcome.INCONCLUSIVE
    elif check.on_no_data == "hold":
        outcome = Outcome.HOLD
    return CheckResult(
        name=check.name, outcome=outcome, value=value, min=check.min, max=check.max, unit="",
        query=result.query, reason=reason, status=result.status,
    )


# --- The analysis -------------------------------------------------------------------------------------


def _decision(checks: list[CheckResult]) -> Outcome:
    return max((check.outcome for check in checks), key=_SEVERITY.__getitem__, default=Outcome.FAIL)


def with_checks(result: AnalysisResult, checks: Iterable[CheckResult], *, first: Iterable[CheckResult] = ()) -> AnalysisResult:
    """`result` with more checks (readiness `first`, webhooks after), the decision taken over all of them."""
    combined = (*first, *result.checks, *checks)
    return replace(result, checks=combined, decision=_decision(list(combined)))


def checks_only(target: AnalysisTarget, checks: Iterable[CheckResult], *, window: str) -> AnalysisResult:
    """An assessment without metrics (before the first step, or a canary not ready): pass when nothing objects."""
    listed = tuple(checks)
    decision = _decision(list(listed)) if listed else Outcome.PASS
    return AnalysisResult(target=target, decision=decision, checks=listed, window=window, at=None)


def _timestamp(at: float | datetime | None) -> float | None:
    return at.timestamp() if isinstance(at, datetime) else at


def analyze(
    *,
    metrics: MetricsSource,
    policy: RolloutPolicy,
    target: AnalysisTarget,
    at: float | datetime | None = None,
    executor: Executor | None = None,
) -> AnalysisResult:
    """Judge `target`'s canary over the policy window ending now (or at `at`); never raises for data problems.

    The built-in measures go out as one query and each custom check as its own, all at once
    (on `executor` if given, else on a small pool of this call's own).
    """
    standalone = _built_in_queries(policy, target)
    combined_query = queries.combined(standalone)
    variables = target.variables(policy.window_text)
    custom_queries = [check.render(variables) for check in policy.checks]
    jobs: list[Callable[[], QueryResult]] = [lambda: metrics.query(combined_query, at=at)]
    jobs += [lambda q=query: metrics.query_value(q, at=at) for query in custom_queries]
    if executor is not None:
        results = [future.result() for future in [executor.submit(job) for job in jobs]]
    elif len(jobs) == 1:
        results = [jobs[0]()]
    else:
        with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="analysis") as pool:
            results = list(pool.map(lambda job: job(), jobs))
    context = _Context(policy=policy, target=target, measures=_split(results[0], standalone))
    checks = _built_in_checks(context)
    checks += [_custom_check(check, result) for check, result in zip(policy.checks, results[1:])]
    return AnalysisResult(
        target=target,
        decision=_decision(checks),
        checks=tuple(checks),
        window=policy.window_text,
        at=_timestamp(at),
        queries=(combined_query, *custom_queries),
    )
