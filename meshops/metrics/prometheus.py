"""The Prometheus provider of the metrics seam: instant and range queries where every failure is a value.

The analysis asks "what is this number now (or at `time=`)?" through `/api/v1/query`; the dashboard
and rollout reports ask "how did it move?" through `/api/v1/query_range`. Whatever goes
wrong — Prometheus down, slow, an HTML error page from a proxy, bad PromQL, a range result, no
series, several series, NaN — comes back as a `QueryResult` with its own `QueryStatus` and a reason
a person can act on, so a check can fail with that reason instead of a traceback. The client counts
the queries it sends (the benchmark reports queries per step). How it reaches the server (headers,
bearer token or basic auth, TLS trust) is a `metrics.access.PrometheusAccess`; credentials in the
URL (`http://user:pass@host`) are sent as basic auth and masked in every reason.
"""
from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from ..model.errors import MeshopsError
from ..model.masking import mask_url
from .access import DEFAULT_TIMEOUT, PrometheusAccess
from .source import QueryResult, QueryStatus, RangeResult, Sample, Series, one_number

__all__ = ["DEFAULT_TIMEOUT", "PrometheusClient", "QUERY_PATH"]

QUERY_PATH = "/api/v1/query"
RANGE_PATH = "/api/v1/query_range"
# Prometheus refuses range queries of more than 11,000 points per series; charts need a few hundred.
MAX_RANGE_POINTS = 11_000
# Statuses that say "you may not" rather than "something broke": their reasons point at credentials.
_DENIED = {401: "check the Prometheus credentials", 403: "check the Prometheus credentials and tenant header"}
# How much of an unexpected body a reason quotes: enough to recognise an HTML error page or a proxy.
BODY_EXCERPT = 120


def _parse_number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


@dataclass
class PrometheusClient:
    """Instant and range queries against one Prometheus (`url` is its base, e.g. http://prometheus:9090)."""

    url: str
    timeout: float = DEFAULT_TIMEOUT
    headers: Mapping[str, str] = field(default_factory=dict)  # extra headers; never put in reasons
    access: PrometheusAccess | None = None  # credentials and TLS trust (None: plain requests)
    _count: int = field(default=0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _endpoint: str = field(default="", init=False, repr=False)  # the URL without userinfo
    _userinfo_auth: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        parsed = urllib.parse.urlsplit(self.url)
        self._endpoint = self.url
        if parsed.username is not None or parsed.password is not None:
            host = parsed.netloc.rpartition("@")[2]
            self._endpoint = urllib.parse.urlunsplit(parsed._replace(netloc=host))
            pair = f"{urllib.parse.unquote(parsed.username or '')}:{urllib.parse.unquote(parsed.password or '')}"
            self._userinfo_auth = "Basic " + base64.b64encode(pair.encode()).decode()

    @classmethod
    def from_access(cls, access: PrometheusAccess) -> PrometheusClient:
        """The client for `access` (its secrets are read on each query, re-read when a file changes)."""
        return cls(url=access.url, timeout=access.timeout, access=access)

    @property
    def shown_url(self) -> str:
        """The URL as reasons show it: credentials masked."""
        return mask_url(self.url)

    def _request_headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json", **self.headers}
        if self.access is not None:
            headers.update(self.access.request_headers())
        if self._userinfo_auth and "Authorization" not in headers:
            headers["Authorization"] = self._userinfo_auth
        return headers

    @property
    def query_count(self) -> int:
        """Queries sent so far (every attempt, whatever its outcome)."""
        return self._count

    def query(self, promql: str, *, at: float | datetime | None = None) -> QueryResult:
        """Evaluate `promql` now (or at `at`): OK with zero or more samples, or a typed failure."""
        # Plain seconds: Prometheus 2.x reads a float here, but refuses fractional durations like "0.5s".
        form = {"query": promql, "timeout": f"{self.timeout:g}"}
        if at is not None:
            form["time"] = f"{at.timestamp() if isinstance(at, datetime) else at:.3f}"
        fail = _Failure(self.shown_url, promql)
        answer = self._send(QUERY_PATH, form, fail)
        return answer if isinstance(answer, QueryResult) else _samples_of(fail, answer)

    def query_range(self, promql: str, *, start: float, end: float, step: float) -> RangeResult:
        """Evaluate `promql` every `step` seconds from `start` to `end` (unix seconds): series, or a typed failure."""
        fail = _Failure(self.shown_url, promql)
        if not (step > 0 and end >= start) or (end - start) / step > MAX_RANGE_POINTS:
            return RangeResult(query=promql, status=QueryStatus.BAD_QUERY,
                               reason=f"a range of {end - start:g}s every {step:g}s is not a usable range "
                                      f"(end before start, or more than {MAX_RANGE_POINTS} points)")
        form = {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}",
                "timeout": f"{self.timeout:g}"}
        answer = self._send(RANGE_PATH, form, fail)
        if isinstance(answer, QueryResult):
            return RangeResult(query=promql, status=answer.status, reason=answer.reason)
        return _series_of(fail, answer)

    def _send(self, path: str, form: dict[str, str], fail: _Failure) -> Any:
        """POST one API request: the response's `data`, or a failed QueryResult saying what went wrong."""
        with self._lock:
            self._count += 1
        try:
            request = urllib.request.Request(self._endpoint + path, data=urllib.parse.urlencode(form).encode(),
                                             headers=self._request_headers(), method="POST")
            context = self.access.ssl_context() if self.access is not None else None
        except MeshopsError as error:  # a token file that vanished or turned world-readable since the start
            return fail(QueryStatus.UNREACHABLE, f"Prometheus at {self.shown_url} not queried: {error.message}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=context) as response:
                return _interpret(fail, response.status, response.headers.get("Content-Type", ""), response.read())
        except urllib.error.HTTPError as error:
            body = error.read() if error.fp else b""
            return _interpret(fail, error.code, error.headers.get("Content-Type", "") if error.headers else "", body)
        except (TimeoutError, socket.timeout):
            return fail(QueryStatus.TIMEOUT, f"Prometheus at {self.shown_url} did not answer within {self.timeout:g}s")
        except urllib.error.URLError as error:
            if isinstance(error.reason, (TimeoutError, socket.timeout)):
                reason = f"Prometheus at {self.shown_url} did not accept a connection within {self.timeout:g}s"
                return fail(QueryStatus.TIMEOUT, reason)
            return fail(QueryStatus.UNREACHABLE, f"Prometheus unreachable at {self.shown_url}: {_why_unreachable(error.reason)}")
        except http.client.HTTPException as error:  # something answered, but not with HTTP
            reason = f"{self.shown_url} did not answer with valid HTTP ({type(error).__name__}); is this the Prometheus URL?"
            return fail(QueryStatus.BAD_RESPONSE, reason)
        except OSError as error:  # connection reset or refused after the first packet
            return fail(QueryStatus.UNREACHABLE, f"Prometheus unreachable at {self.shown_url}: {_why_unreachable(error)}")
        except ValueError as error:  # a URL urllib cannot use at all
            return fail(QueryStatus.UNREACHABLE, f"Prometheus URL {self.shown_url!r} is not usable: {error}")

    def query_value(self, promql: str, *, at: float | datetime | None = None) -> QueryResult:
        """Like `query`, but OK only for exactly one finite number, which is then `.value`."""
        return one_number(self.query(promql, at=at))


@dataclass(frozen=True)
class _Failure:
    """Builds failed results for one query, so every reason names the same server and query."""

    url: str
    query: str

    def __call__(self, status: QueryStatus, reason: str, *, samples: tuple[Sample, ...] = ()) -> QueryResult:
        return QueryResult(query=self.query, status=status, samples=samples, reason=reason)


def _why_unreachable(reason: Any) -> str:
    """`connection refused` rather than `[Errno 111] Connection refused`."""
    if isinstance(reason, socket.gaierror):
        return f"host name does not resolve ({reason.strerror})"
    text = getattr(reason, "strerror", None) or str(reason)
    return text[:1].lower() + text[1:] if text else "unknown network error"


def _excerpt(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    return text[:BODY_EXCERPT] + ("…" if len(text) > BODY_EXCERPT else "")


# Prometheus API error types (docs: "Format overview") and the status each becomes.
_ERROR_TYPES = {"bad_data": QueryStatus.BAD_QUERY, "timeout": QueryStatus.TIMEOUT, "canceled": QueryStatus.TIMEOUT}


def _interpret(fail: _Failure, status_code: int, content_type: str, body: bytes) -> Any:
    """An HTTP answer's `data`, or a failed QueryResult (Prometheus sends JSON error bodies with 400/422/503)."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        document = None
    if not isinstance(document, dict) or document.get("status") not in ("success", "error"):
        if status_code >= 400:
            advice = f" ({_DENIED[status_code]})" if status_code in _DENIED else ""
            return fail(
                QueryStatus.HTTP_ERROR,
                f"Prometheus at {fail.url} answered HTTP {status_code}: {_excerpt(body) or 'empty body'}{advice}",
            )
        if document is None:
            kind = content_type.split(";")[0].strip() or "no content type"
            return fail(
                QueryStatus.NOT_JSON,
                f"{fail.url} answered {kind}, not JSON ({_excerpt(body) or 'empty body'}); is this the Prometheus URL?",
            )
        return fail(
            QueryStatus.BAD_RESPONSE,
            f"{fail.url} answered JSON that is not a Prometheus API response ({_excerpt(body)}); "
            "is this the Prometheus URL?",
        )
    if document["status"] == "error":
        error_type = str(document.get("errorType") or "unknown")
        message = str(document.get("error") or "no message")
        status = _ERROR_TYPES.get(error_type, QueryStatus.QUERY_ERROR)
        what = "rejected the query" if status is QueryStatus.BAD_QUERY else f"failed the query ({error_type})"
        return fail(status, f"Prometheus {what}: {message}; query: {fail.query}")
    return document.get("data")


def _samples_of(fail: _Failure, data: Any) -> QueryResult:
    if not isinstance(data, dict) or "resultType" not in data:
        return fail(QueryStatus.BAD_RESPONSE, f"{fail.url} answered status success without data.resultType")
    result_type, result = data["resultType"], data.get("result")
    if result_type == "scalar" and isinstance(result, list) and len(result) == 2:
        raw = [{"metric": {}, "value": result}]
    elif result_type == "vector" and isinstance(result, list):
        raw = result
    else:
        return fail(
            QueryStatus.UNEXPECTED_TYPE,
            f"the query returned a {result_type}, not one number per series; "
            "use an instant vector (a range selector [..] needs a function such as rate())",
        )
    samples = []
    for series in raw:
        pair = series.get("value") if isinstance(series, dict) else None
        number = _parse_number(pair[1]) if isinstance(pair, list) and len(pair) == 2 else None
        if number is None:
            return fail(QueryStatus.BAD_RESPONSE, f"{fail.url} answered a sample without a numeric value: {series!r:.80}")
        samples.append(Sample(labels=dict(series.get("metric") or {}), value=number))
    return QueryResult(query=fail.query, status=QueryStatus.OK, samples=tuple(samples))


def _series_of(fail: _Failure, data: Any) -> RangeResult:
    """The series of a range answer (a matrix); any other shape is a typed failure."""
    def failed(status: QueryStatus, reason: str) -> RangeResult:
        return RangeResult(query=fail.query, status=status, reason=reason)

    if not isinstance(data, dict) or "resultType" not in data:
        return failed(QueryStatus.BAD_RESPONSE, f"{fail.url} answered status success without data.resultType")
    if data["resultType"] != "matrix" or not isinstance(data.get("result"), list):
        return failed(QueryStatus.UNEXPECTED_TYPE, f"a range query returned a {data['resultType']}, not a matrix")
    series = []
    for raw in data["result"]:
        values = raw.get("values") if isinstance(raw, dict) else None
        if not isinstance(values, list):
            return failed(QueryStatus.BAD_RESPONSE, f"{fail.url} answered a series without values: {raw!r:.80}")
        points = []
        for pair in values:
            number = _parse_number(pair[1]) if isinstance(pair, list) and len(pair) == 2 else None
            moment = _parse_number(pair[0]) if isinstance(pair, list) and len(pair) == 2 else None
            if number is None or moment is None:
                return failed(QueryStatus.BAD_RESPONSE, f"{fail.url} answered a point that is not [time, value]: {pair!r:.80}")
            points.append((moment, number))
        series.append(Series(labels=dict(raw.get("metric") or {}), points=tuple(points)))
    if not series:
        return failed(QueryStatus.NO_DATA, "no data: the query returned no series in that range")
    return RangeResult(query=fail.query, status=QueryStatus.OK, series=tuple(series))
