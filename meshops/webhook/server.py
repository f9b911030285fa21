"""The HTTP endpoint: `POST /webhook` for pushes, `/healthz`, `/readyz`, `/metrics`, and the dashboard's pages.

A delivery is answered at once; the reconcile runs later, in the worker. In order: the body's
size is bounded by `Content-Length` before any of it is read (411 without one, 413 over the
limit); a delivery without a signature header is refused before its body is read (401); the body
is read under a deadline, hashed as it comes (`body.py`), and its signature checked before
anything in it is parsed (403 when it does not match); the body must be JSON (400); a ping is
answered, other event types, other branches, branch deletions and other repositories are
acknowledged and ignored (200, with the reason); a replica that does not lead refuses a push (503,
so the sender retries later); a delivery id, or a body, seen before is acknowledged and ignored
(200: a replay under a fresh delivery id is still a replay); an accepted push is 202. Every
refusal is one log line without any secret or signature in it. Sockets, deadlines and the
connection cap are `connection.py`'s; `/healthz` fails while the worker is stuck (`unhealthy`).
"""
from __future__ import annotations

import io
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Iterable, Mapping

from .body import ClientGone, ReceivedBody, receive_body
from .connection import BoundedHTTPServer, DeadlineReader, linger_close
from .limits import WRITE_TIMEOUT, WebhookLimits
from .push import (
    DELIVERY_HEADERS,
    EVENT_HEADERS,
    PING_EVENTS,
    PUSH_EVENTS,
    BadPayload,
    Push,
    decode_body,
    header,
    read_push,
    same_repository,
)
from .metrics import CONTENT_TYPE, Metrics
from .signatures import signed, verify

log = logging.getLogger("meshops.webhook")

WEBHOOK_PATHS = frozenset({"/webhook", "/"})
# Delivery ids and body digests remembered for de-duplication (GitHub redeliveries reuse the id).
REMEMBERED_DELIVERIES = 10_000


class DeliveryLog:
    """Delivery ids and body digests seen recently (bounded, oldest forgotten first); thread-safe."""

    def __init__(self, size: int = REMEMBERED_DELIVERIES) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def first_time(self, *keys: str) -> bool:
        """True when none of `keys` was seen before; every key is remembered either way."""
        with self._lock:
            new = not any(key in self._seen for key in keys)
            for key in keys:
                self._seen[key] = None
                self._seen.move_to_end(key)
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return new


@dataclass
class Hooks:
    """What the server needs from its owner (`meshops serve` or the controller)."""

    secret: bytes | None  # None: webhooks are off (a poll-only controller); never an unsigned mode
    repo: str
    branch: str
    on_push: Callable[[Push, str], None]  # hand an accepted push to the worker
    metrics: Metrics
    refusing: Callable[[], str | None] = lambda: None  # a reason to answer 503 (e.g. not the leader)
    ready: Callable[[], bool] = lambda: True
    unhealthy: Callable[[], str | None] = lambda: None  # a reason for /healthz to fail (the worker is stuck)
    # Read-only pages for other GET paths (the dashboard): (path, headers) -> an answer with `status`,
    # `body`, `content_type` and `headers`, or None for a path it does not serve.
    pages: Callable[[str, Mapping[str, str]], Any] | None = None


@dataclass(frozen=True)
class Answer:
    status: HTTPStatus
    result: str  # counted in meshops_webhook_deliveries_total{result}
    reason: str = ""
    provider: str = "unknown"
    log_it: bool = False


def before_body(hooks: Hooks, headers) -> Answer | None:
    """The answer the headers alone decide (webhooks off, no signature), or None: read the body."""
    if hooks.secret is None:
        return Answer(HTTPStatus.NOT_FOUND, "disabled", "webhooks are off: start with --webhook-secret-file")
    unsigned = signed(headers)
    if unsigned is not None:
        return Answer(HTTPStatus.UNAUTHORIZED, "unauthorized", unsigned.problem, log_it=True)
    return None


def judge(hooks: Hooks, deliveries: DeliveryLog, *, headers, body: ReceivedBody) -> Answer:
    """Decide what to answer a POST to the webhook path (see module docstring)."""
    early = before_body(hooks, headers)
    if early is not None:
        return early
    verdict = verify(headers, body, hooks.secret)
    if not verdict.ok:
        status = HTTPStatus.UNAUTHORIZED if verdict.provider is None else HTTPStatus.FORBIDDEN
        return Answer(status, "unauthorized" if verdict.provider is None else "bad_signature", verdict.problem,
                      verdict.provider or "unknown", log_it=True)
    provider = verdict.provider or "unknown"
    try:
        payload = decode_body(body.content(), headers.get("Content-Type", "application/json"))
    except BadPayload as error:
        return Answer(HTTPStatus.BAD_REQUEST, "bad_payload", str(error), provider, log_it=True)
    event = header(headers, EVENT_HEADERS) or ""
    if event in PING_EVENTS:
        return Answer(HTTPStatus.OK, "ping", "pong", provider)
    if event not in PUSH_EVENTS:
        return Answer(HTTPStatus.OK, "ignored", f"event {event or '(none)'!r} is not a push", provider)
    refusing = hooks.refusing()
    if refusing:
        return Answer(HTTPStatus.SERVICE_UNAVAILABLE, "refused", refusing, provider, log_it=True)
    digest = "sha256:" + body.sha256
    delivery = header(headers, DELIVERY_HEADERS) or digest
    if not deliveries.first_time(delivery, digest):
        return Answer(HTTPStatus.OK, "duplicate", f"delivery {delivery} (or its payload) was already received", provider,
                      log_it=True)
    push = read_push(event, payload)
    if push.branch != hooks.branch:
        return Answer(HTTPStatus.OK, "ignored", f"push to {push.ref or '(no ref)'}, not refs/heads/{hooks.branch}", provider)
    if push.deleted:
        return Answer(HTTPStatus.OK, "ignored", f"branch {hooks.branch} was deleted", provider)
    if not same_repository(hooks.repo, push):
        return Answer(HTTPStatus.OK, "ignored", f"push to another repository ({push.repository_urls[0]})", provider)
    hooks.on_push(push, delivery)
    return Answer(HTTPStatus.ACCEPTED, "accepted", f"reconcile of {push.after[:12]} queued (delivery {delivery})", provider)


def _handler(hooks: Hooks, deliveries: DeliveryLog, limits: WebhookLimits) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "meshops"
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            self.reader = DeadlineReader(self.connection)
            self.rfile = io.BufferedReader(self.reader)

        def handle_one_request(self) -> None:
            self.reader.expire_in(limits.header_timeout)  # request line and headers, idle keep-alive included
            super().handle_one_request()

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's signature
            log.debug("%s %s", self.client_address[0], format % args)

        def _send(self, status: HTTPStatus, body: bytes, content_type: str = "application/json",
                  headers: Iterable[tuple[str, str]] = ()) -> None:
            self.connection.settimeout(WRITE_TIMEOUT)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers:
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, code: HTTPStatus, **fields: str) -> None:
            self._send(code, json.dumps(fields).encode() + b"\n")

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                problem = hooks.unhealthy()
                if problem:
                    self._json(HTTPStatus.SERVICE_UNAVAILABLE, status="unhealthy", reason=problem)
                else:
                    self._json(HTTPStatus.OK, status="ok")
            elif path == "/readyz":
                ready = hooks.ready()
                self._json(HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE, status="ready" if ready else "not ready")
            elif path == "/metrics":
                self._send(HTTPStatus.OK, hooks.metrics.exposition(), CONTENT_TYPE)
            elif hooks.pages is not None and (page := hooks.pages(self.path, self.headers)) is not None:
                self._send(page.status, page.body, page.content_type, page.headers)
            elif path in WEBHOOK_PATHS:
                self._json(HTTPStatus.METHOD_NOT_ALLOWED, status="error", reason="POST push events here")
            else:
                self._json(HTTPStatus.NOT_FOUND, status="error", reason=f"no such path: {path}")

        def do_POST(self) -> None:  # noqa: N802
            refusal = self._refusal()
            if refusal is not None:
                self._refuse_unread(refusal)
                return
            self.reader.expire_in(limits.body_timeout)
            try:
                body = receive_body(self.rfile, int(self.headers["Content-Length"]), secret=hooks.secret)
            except ClientGone as gone:
                log.debug("webhook: %s: %s", self.client_address[0], gone)
                self.close_connection = True
                return
            try:
                answer = judge(hooks, deliveries, headers=self.headers, body=body)
            except Exception:  # noqa: BLE001 - a bug must still answer (500) and leave a traceback in the log
                log.exception("webhook: internal error")
                answer = Answer(HTTPStatus.INTERNAL_SERVER_ERROR, "error", "internal error (see the meshops log)")
            finally:
                body.close()
            self._answer(answer)

        def handle_expect_100(self) -> bool:
            """`Expect: 100-continue` gets its go-ahead only when the body would be read at all."""
            return super().handle_expect_100() if self._refusal() is None else True

        def _refusal(self) -> Answer | None:
            """What the request line and headers alone decide: wrong path, size unknown or too big, unsigned."""
            path = self.path.split("?", 1)[0]
            if path not in WEBHOOK_PATHS:
                return Answer(HTTPStatus.NOT_FOUND, "not_found", f"no such path: {path}")
            try:
                length = int(self.headers.get("Content-Length") or "")
            except ValueError:
                length = -1
            if length < 0 or self.headers.get("Transfer-Encoding"):
                return Answer(HTTPStatus.LENGTH_REQUIRED, "bad_request", "Content-Length is required", log_it=True)
            if length > limits.max_body:
                return Answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_large",
                              f"body of {length} bytes is over the limit of {limits.max_body}", log_it=True)
            return before_body(hooks, self.headers)

        def _refuse_unread(self, answer: Answer) -> None:
            """Answer without reading the body, then close (the unread body would be taken for the next request)."""
            self.close_connection = True
            self._answer(answer)
            self.wfile.flush()
            linger_close(self.connection)

        def _answer(self, answer: Answer) -> None:
            hooks.metrics.deliveries.labels(answer.provider, answer.result).inc()
            if answer.log_it:
                delivery = header(self.headers, DELIVERY_HEADERS) or "-"
                log.warning("webhook: %d %s from %s (delivery %s): %s", answer.status, answer.result,
                            self.client_address[0], delivery, answer.reason)
            elif answer.result == "accepted":
                log.info("webhook: %s", answer.reason)
            status = "accepted" if answer.status == HTTPStatus.ACCEPTED else (
                answer.result if answer.status < 400 else "error")
            self._json(answer.status, status=status, reason=answer.reason)

    return Handler


class WebhookServer:
    """A threaded HTTP server around `judge`, within `limits`; `start()` returns once it listens."""

    def __init__(self, host: str, port: int, hooks: Hooks, *, limits: WebhookLimits = WebhookLimits()) -> None:
        self.hooks = hooks
        self.httpd = BoundedHTTPServer(
            (host, port), _handler(hooks, DeliveryLog(), limits), limits=limits,
            on_turned_away=lambda: hooks.metrics.deliveries.labels("unknown", "too_many_connections").inc())
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="webhook-http", daemon=True)

    @property
    def address(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "WebhookServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()


def parse_listen(text: str) -> tuple[str, int]:
    """`127.0.0.1:8080`, `:8080` (all interfaces) or `[::1]:8080`; ValueError otherwise."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return (host.strip("[]") or "0.0.0.0"), int(port)
