"""The webhook's sockets: deadlines per request, a cap on connections, quiet about clients that leave.

`http.server` trusts its clients: no timeout, a thread per connection without limit, a traceback on
stderr whenever a client disconnects mid-answer. Here:
- every read of a request is bounded by a deadline (`DeadlineReader`): the headers must be complete
  `header_timeout` after the request began, the body `body_timeout` after the headers; a client
  trickling one byte at a time is cut off all the same;
- at most `max_connections` connections are served at once; one more is answered `503` and closed
  by the accepting thread, without a thread of its own;
- a client that went away (reset, broken pipe, timed out) is logged at debug level, not printed.
"""
from __future__ import annotations

import io
import logging
import socket
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Callable

from .limits import WebhookLimits

log = logging.getLogger("meshops.webhook")

_BUSY = b'{"status": "error", "reason": "too many connections; try again"}\n'
TURNED_AWAY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
               b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(_BUSY), _BUSY))
# After refusing a body it did not read, the server reads (and drops) this much before closing, so
# the client sees the answer instead of a reset; a client still sending beyond it is reset.
LINGER_BYTES = 256 * 1024
LINGER_SECONDS = 1.0


class DeadlineReader(io.RawIOBase):
    """A socket's read side that raises TimeoutError once `deadline` (time.monotonic) has passed."""

    def __init__(self, sock: socket.socket, clock: Callable[[], float] = time.monotonic) -> None:
        self.sock = sock
        self.clock = clock
        self.deadline = float("inf")

    def expire_in(self, seconds: float) -> None:
        self.deadline = self.clock() + seconds

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self.deadline - self.clock()
        if left <= 0:
            raise TimeoutError("the client did not send the request in time")
        self.sock.settimeout(left if left != float("inf") else None)
        return self.sock.recv_into(buffer)


def linger_close(sock: socket.socket) -> None:
    """Half-close after an answer, drain a little of what the client still sends, so it reads the answer."""
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(LINGER_SECONDS)
        deadline = time.monotonic() + LINGER_SECONDS
        drained = 0
        while drained < LINGER_BYTES and time.monotonic() < deadline:
            chunk = sock.recv(64 * 1024)
            if not chunk:
                break
            drained += len(chunk)
    except OSError:
        pass  # reset or timed out: it is being closed anyway


def client_went_away(error: BaseException | None) -> bool:
    return isinstance(error, (ConnectionError, TimeoutError))


class BoundedHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server serving at most `limits.max_connections` connections at a time."""

    daemon_threads = True
    block_on_close = False  # a stuck handler must not hold up shutdown
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], handler: type, *, limits: WebhookLimits,
                 on_turned_away: Callable[[], None] = lambda: None) -> None:
        self.limits = limits
        self.on_turned_away = on_turned_away
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            self._turn_away(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _turn_away(self, request: socket.socket) -> None:
        self.on_turned_away()
        try:
            request.setblocking(False)  # the accepting thread never waits for a client
            request.send(TURNED_AWAY)
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        error = sys.exc_info()[1]
        if client_went_away(error):
            log.debug("webhook: %s went away: %s", client_address[0], error)
            return
        log.exception("webhook: internal error serving %s", client_address[0])
