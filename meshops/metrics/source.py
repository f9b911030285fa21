"""The metrics seam: what rollout analysis asks of a metrics provider, and the typed answers it gets.

Analysis needs numbers ("the canary's success rate over the last 2m") and must never mistake a
provider's trouble for the canary's: every answer is a `QueryResult` whose `QueryStatus` falls in
one of four kinds (`ResultKind`): a value, no data (the query worked but there is nothing to
judge), unreachable (nothing or something broken answered), malformed (an answer analysis cannot
use: bad PromQL, several series, the wrong type). A provider is any object with the `MetricsSource`
methods; Prometheus (`metrics.prometheus`) is the first. Another provider is one new module.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Mapping, Protocol


class ResultKind(enum.Enum):
    """The four kinds of answer analysis distinguishes (see the module docstring)."""

    VALUE = "value"
    NO_DATA = "no-data"
    UNREACHABLE = "unreachable"
    MALFORMED = "malformed"


class QueryStatus(enum.Enum):
    """How a query ended. Only OK carries data; each other member is one distinct way to fail."""

    OK = "ok"
    UNREACHABLE = "unreachable"  # connection refused, DNS, TLS: nothing answered
    TIMEOUT = "timeout"  # no answer within the timeout (or Prometheus's own query timeout)
    HTTP_ERROR = "http-error"  # an HTTP error status without a Prometheus error body
    NOT_JSON = "not-json"  # a body that is not JSON (an HTML error page, a proxy login)
    BAD_RESPONSE = "bad-response"  # JSON, but not shaped like a Prometheus API response
    BAD_QUERY = "bad-query"  # Prometheus refused the PromQL (errorType bad_data)
    QUERY_ERROR = "query-error"  # Prometheus failed while evaluating (execution, internal …)
    UNEXPECTED_TYPE = "unexpected-type"  # a matrix or string where a vector or scalar was expected
    NO_DATA = "no-data"  # an empty vector
    MULTIPLE_SERIES = "multiple-series"  # several series where one number was expected
    NOT_A_NUMBER = "not-a-number"  # NaN or ±Inf

    @property
    def no_data(self) -> bool:
        """Whether the query worked but there was nothing to judge (a policy may hold on it)."""
        return self in (QueryStatus.NO_DATA, QueryStatus.NOT_A_NUMBER)


@dataclass(frozen=True)
class Sample:
    """One series of an instant result: its labels and value (scalars have no labels)."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class QueryResult:
    """The outcome of one instant query: a status, the samples (OK only), and why (otherwise)."""

    query: str
    status: QueryStatus
    samples: tuple[Sample, ...] = ()
    reason: str = ""
    value: float | None = None  # set by `query_value` when the result is one finite number

    @property
    def ok(self) -> bool:
        return self.status is QueryStatus.OK


def _labels_text(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{key}="{value}"' for key, value in sorted(labels.items())) + "}"


# How each status is judged: only VALUE can pass a check; UNREACHABLE and MALFORMED say nothing
# about the canary.
_KIND = {
    QueryStatus.OK: ResultKind.VALUE,
    QueryStatus.NO_DATA: ResultKind.NO_DATA,
    QueryStatus.NOT_A_NUMBER: ResultKind.NO_DATA,
    QueryStatus.UNREACHABLE: ResultKind.UNREACHABLE,
    QueryStatus.TIMEOUT: ResultKind.UNREACHABLE,
    QueryStatus.HTTP_ERROR: ResultKind.UNREACHABLE,
    QueryStatus.NOT_JSON: ResultKind.MALFORMED,
    QueryStatus.BAD_RESPONSE: ResultKind.MALFORMED,
    QueryStatus.BAD_QUERY: ResultKind.MALFORMED,
    QueryStatus.QUERY_ERROR: ResultKind.MALFORMED,
    QueryStatus.UNEXPECTED_TYPE: ResultKind.MALFORMED,
    QueryStatus.MULTIPLE_SERIES: ResultKind.MALFORMED,
}


def kind_of(status: QueryStatus) -> ResultKind:
    """Which of the four kinds of answer `status` is."""
    return _KIND[status]


class MetricsSource(Protocol):
    """A metrics provider as rollout analysis uses it: instant queries, every failure a value."""

    @property
    def query_count(self) -> int:
        """Queries sent so far (benchmarks report queries per analysed step)."""
        ...

    def query(self, expression: str, *, at: float | datetime | None = None) -> QueryResult:
        """Evaluate `expression` now (or at `at`): OK with zero or more samples, or a typed failure."""
        ...

    def query_value(self, expression: str, *, at: float | datetime | None = None) -> QueryResult:
        """Like `query`, but OK only for exactly one finite number, which is then `.value`."""
        ...


def one_number(result: QueryResult) -> QueryResult:
    """`result` if it failed; else OK with `.value` only when it holds exactly one finite number."""
    if not result.ok:
        return result
    samples = result.samples
    if not samples:
        return replace(result, status=QueryStatus.NO_DATA, reason="no data: the query returned no series")
    if len(samples) > 1:
        shown = "; ".join(_labels_text(s.labels) for s in samples[:3])
        more = f" and {len(samples) - 3} more" if len(samples) > 3 else ""
        return replace(
            result,
            status=QueryStatus.MULTIPLE_SERIES,
            reason=f"expected one number but the query returned {len(samples)} series ({shown}{more}); "
            "aggregate it, e.g. with sum(...)",
        )
    value = samples[0].value
    if not math.isfinite(value):
        what = "NaN (a division by zero such as 0/0, or NaN samples)" if math.isnan(value) else f"{value:+}"
        return replace(result, status=QueryStatus.NOT_A_NUMBER, reason=f"no usable value: the query returned {what}")
    return replace(result, value=value)


@dataclass(frozen=True)
class Series:
    """One series of a range result: its labels and its (unix seconds, value) points, oldest first.

    NaN values are kept (Prometheus answers NaN for 0/0, e.g. a success rate without requests):
    a chart shows them as gaps, never as zero.
    """

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class RangeResult:
    """The outcome of one range query, typed like `QueryResult`: a status, the series (OK only), and why."""

    query: str
    status: QueryStatus
    series: tuple[Series, ...] = ()
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status is QueryStatus.OK


class RangeSource(Protocol):
    """A metrics provider that can also answer "how did this number move over time" (dashboards, reports)."""

    def query_range(self, expression: str, *, start: float, end: float, step: float) -> RangeResult:
        """Evaluate `expression` at every `step` seconds from `start` to `end`: OK with series, or a typed failure."""
        ...
