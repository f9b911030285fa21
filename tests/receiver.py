"""A local HTTP endpoint that records what it is sent: a notification receiver or a webhook check.

Over a real socket on 127.0.0.1 it answers every POST with `status` (and `body`), after waiting
while `stalled` — a receiver that accepted the connection but does not answer, as a hung service
does. Every request is recorded (path, headers, JSON body) at arrival, in order.
"""
from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass
from typing import Any

# Longest a stalled request is held before it is answered anyway (tests release it sooner).
STALL_LIMIT = 60.0


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


class LocalReceiver:
    """See the module docstring; `url` is its base, `received` what arrived."""

    def __init__(self, *, status: int = 200, body: bytes = b"ok\n", fail_first: int = 0) -> None:
        self.status, self.body = status, body
        self.fail_first = fail_first  # the first requests answered 503, as a receiver that is restarting
        self.answers: dict[str, tuple[int, bytes]] = {}  # path -> (status, body), overriding the default
        self.received: list[Delivery] = []
        self._answer = threading.Event()
        self._answer.set()
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None

    def respond(self, path: str, status: int, body: bytes = b"") -> None:
        """Answer requests to `path` with `status` and `body` from now on."""
        self.answers[path] = (status, body)

    def stall(self) -> None:
        """Hold every request unanswered until `release`."""
        self._answer.clear()

    def release(self) -> None:
        self._answer.set()

    def start(self) -> LocalReceiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.received.append(Delivery(self.path, dict(self.headers.items()), raw))
                receiver._answer.wait(STALL_LIMIT)
                status, body = receiver.answers.get(self.path, (receiver.status, receiver.body))
                with receiver._lock:
                    if receiver.fail_first > 0:
                        receiver.fail_first -= 1
                        status, body = 503, b"restarting\n"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *args) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def of(self, path: str) -> list[Delivery]:
        with self._lock:
            return [delivery for delivery in self.received if delivery.path == path]
