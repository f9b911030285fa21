"""HTTP to the API server: the official client's transport, our retry policy and error types.

Requests go through the official client's transport (`cluster.transport`: its `Configuration` for
auth and TLS, its urllib3 pool); this module adds what meshops needs on top: bounded exponential backoff for transient failures
(429 honouring Retry-After, 5xx, timeouts, dropped connections), `ApiError` carrying the server's
`Status` (reason, code, causes) for everything else — `Forbidden` for 401/403, which is also a
`ClusterError` — and a `ClusterError` (exit 3) when the server cannot be reached at all. urllib3's own retries are off so that every retry is ours and counted.
"""
from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlencode

import urllib3

from .. import __version__
from ..model.errors import ClusterError, ExitCode, MeshopsError

# Statuses worth another try: throttling and server-side trouble. 409/422/404 are answers, not trouble.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
# What API server audit logs (and the field manager of a write that names none) see.
USER_AGENT = f"meshops/{__version__}"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts in all, first delay, cap per delay (seconds), Retry-After cap."""

    attempts: int = 6
    base_delay: float = 0.2
    max_delay: float = 5.0
    max_retry_after: float = 10.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Sleep before retry number `attempt` (1-based): Retry-After when given, else jittered backoff."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        backoff = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return backoff * (0.5 + random.random() / 2)


class ApiError(MeshopsError):
    """The API server answered with an error `Status` (after retries, if it was transient).

    Callers handle the answers they expect (404 on a read, 409 on a guarded write); one that
    reaches the CLI unhandled means the cluster refused what meshops needed: exit 3.
    """

    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, *, status: int, reason: str, message: str, details: dict | None = None, method: str = "", path: str = "") -> None:
        super().__init__(
            f"the cluster answered {status} {reason} to {method} {path}: {message}",
            hint="check the API server's health and this user's permissions; nothing was written unless reported",
        )
        self.status = status
        self.reason = reason
        self.server_message = message
        self.details = details or {}
        self.method = method
        self.path = path

    @property
    def causes(self) -> list[dict]:
        return list(self.details.get("causes") or [])

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def conflict(self) -> bool:
        return self.status == 409

    @property
    def already_exists(self) -> bool:
        return self.status == 409 and self.reason == "AlreadyExists"

    @property
    def forbidden(self) -> bool:
        return self.status in (401, 403)


class Forbidden(ApiError, ClusterError):
    """401 or 403: the credentials were refused, or RBAC does not grant this verb on this resource.

    An `ApiError` (callers that can do without a read — a cluster-wide LIST where namespaced RBAC
    allows per-namespace ones — check `status`), and a `ClusterError` for everyone else.
    """

    def __init__(self, *, status: int, reason: str, message: str, details: dict | None = None, method: str = "",
                 path: str = "", label: str = "") -> None:
        super().__init__(status=status, reason=reason, message=message, details=details, method=method, path=path)
        what = "unauthorized" if status == 401 else "forbidden"
        self.message = f"{method} {path} is {what} ({label}): {message}"
        self.hint = "refresh the kubeconfig credentials" if status == 401 else "grant the user RBAC for this verb and resource"


@dataclass
class Stats:
    """Counters of what this client sent (benchmarks and progress lines read them); thread-safe."""

    requests: int = 0
    retries: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def sent(self, method: str, *, retry: bool) -> None:
        with self.lock:
            self.requests += 1
            self.retries += 1 if retry else 0
            self.by_method[method] = self.by_method.get(method, 0) + 1


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _status_of(status: int, reason: str, data: bytes) -> tuple[str, str, dict]:
    try:
        body = json.loads(data) if data else {}
    except ValueError:
        body = {}
    if isinstance(body, dict) and body.get("kind") == "Status":
        return body.get("reason") or reason, body.get("message") or reason, body.get("details") or {}
    text = data.decode("utf-8", "replace").strip()[:200] if data else reason
    return reason, text or reason, {}


class KubeApi:
    """One cluster: send requests, get JSON back or a typed error."""

    def __init__(
        self,
        transport: Any,
        *,
        label: str,
        retry: RetryPolicy = RetryPolicy(),
        timeout: tuple[float, float] = (5.0, 30.0),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.transport = transport  # cluster.transport.Transport: the client's configuration and pool
        self.label = label  # "context prod (https://…)" for messages
        self.retry = retry
        self.timeout = timeout
        self.sleep = sleep
        self.stats = Stats()
        self._api_client: Any = None

    @property
    def host(self) -> str:
        return self.transport.configuration.host

    @property
    def pool_manager(self) -> Any:
        """The urllib3 pool every request of this client goes through."""
        return self.transport.pool_manager

    @property
    def client(self) -> Any:
        """A `kubernetes.client.ApiClient` on the same configuration, for the generated API classes
        (imports the whole client package on first use; meshops's own requests never need it)."""
        if self._api_client is None:
            from kubernetes.client import ApiClient

            self._api_client = ApiClient(self.transport.configuration)
        return self._api_client

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str = JSON,
        timeout: tuple[float, float] | float | None = None,
    ) -> Any:
        """Send one request (retrying transient failures) and return the decoded JSON body."""
        params = {key: value for key, value in (query or {}).items() if value is not None}
        headers = {"Accept": JSON, "User-Agent": USER_AGENT}
        if body is not None:
            headers["Content-Type"] = content_type
        authorization = self.transport.authorization()
        if authorization:
            headers["Authorization"] = authorization
        url = self.host + path
        if params:
            url += "?" + urlencode(params, doseq=True)
        payload = json.dumps(body) if body is not None else None
        limit = timeout if timeout is not None else self.timeout
        http_timeout = urllib3.Timeout(connect=limit[0], read=limit[1]) if isinstance(limit, tuple) else urllib3.Timeout(total=limit)
        attempt = 0
        while True:
            attempt += 1
            self.stats.sent(method, retry=attempt > 1)
            try:
                response = self.pool_manager.request(
                    method, url, body=payload, headers=headers, timeout=http_timeout, preload_content=True, retries=False
                )
            except (urllib3.exceptions.HTTPError, OSError) as error:
                if attempt < self.retry.attempts:
                    self.sleep(self.retry.delay(attempt))
                    continue
                raise ClusterError(
                    f"cannot reach the cluster ({self.label}): {_describe_transport_error(error)}",
                    hint="check the kubeconfig/context, the network, and that the API server is up",
                ) from None
            if 200 <= response.status < 300:
                return json.loads(response.data) if response.data else {}
            if response.status in TRANSIENT_STATUSES and attempt < self.retry.attempts:
                self.sleep(self.retry.delay(attempt, _retry_after(response.headers)))
                continue
            reason, message, details = _status_of(response.status, response.reason or "", response.data)
            if response.status in (401, 403):
                raise Forbidden(status=response.status, reason=reason, message=message, details=details, method=method,
                                path=path, label=self.label)
            raise ApiError(status=response.status, reason=reason, message=message, details=details, method=method, path=path)


def _describe_transport_error(error: BaseException) -> str:
    """A short reason without urllib3's nested object reprs."""
    root: BaseException = error
    while getattr(root, "reason", None) is not None and isinstance(root.reason, BaseException):
        root = root.reason
    text = str(root)
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    return text.split(": ", 1)[-1][:160]
