"""The HTTP edge: HTTP/1.1 with keep-alive, faults, the request log, bearer tokens.

Each connection gets a thread (ThreadingHTTPServer) and stays open across requests, as the
kubernetes client's urllib3 pool and kubectl's Go transport expect; every answer carries
Content-Length (watches use chunked encoding) and goes out in one write with TCP_NODELAY set, so
no request waits on Nagle's algorithm and delayed ACKs. The bearer token and impersonation headers
are handed on as `Credentials` (`access` decides); a body over the apiserver's 3 MiB limit is 413.
"""
from __future__ import annotations

import json
import socket
import ssl
import sys
import time
import traceback
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from . import routing
from .access import Credentials
from .api import Request, Response, error_response
from .requestlog import LogEntry
from .status import ApiError, internal

if TYPE_CHECKING:
    from .server import SandboxServer

# The apiserver's MaxRequestBodyBytes: larger request bodies are refused with 413.
MAX_BODY = 3 * 1024 * 1024
# Oversized bodies up to this size are read and dropped before the 413 (larger ones close the connection).
DRAIN_LIMIT = 64 * 1024 * 1024


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: "SandboxServer", tls: ssl.SSLContext | None = None) -> None:
        self.sandbox = sandbox
        self.tls = tls
        self.connections: set[socket.socket] = set()
        super().__init__(address, Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept; the TLS handshake happens in the connection's own thread (`Handler.setup`)."""
        connection, address = super().get_request()
        if self.tls is not None:
            connection = self.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is normal; anything else is a sandbox bug worth keeping."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError, ssl.SSLError)):
            self.sandbox.internal_errors.append(traceback.format_exc())

    def close_connections(self) -> None:
        """Cut every open keep-alive connection (their threads would otherwise keep serving)."""
        for connection in list(self.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Unknown"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HttpServer

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()  # a failed handshake ends this connection only
            self.request.settimeout(None)
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # the request log replaces stderr lines
        pass

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length:
            size = int(length)
            if size > MAX_BODY:
                self._discard(size)
                raise ApiError(413, f"Request entity too large: limit is {MAX_BODY}")
            return self.rfile.read(size)
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
                if sum(map(len, chunks)) > MAX_BODY:
                    self.close_connection = True
                    raise ApiError(413, f"Request entity too large: limit is {MAX_BODY}")
        return b""

    def _discard(self, size: int) -> None:
        """Read and drop an oversized body, so the client (still sending it) gets the 413 answer."""
        if size > DRAIN_LIMIT:
            self.close_connection = True  # the unread rest must not be taken for the next request
            return
        while size > 0:
            chunk = self.rfile.read(min(size, 1 << 16))
            if not chunk:
                break
            size -= len(chunk)

    def _credentials(self) -> Credentials:
        return Credentials(authorization=self.headers.get("Authorization"),
                           impersonate_user=self.headers.get("Impersonate-User"),
                           impersonate_groups=self.headers.get_all("Impersonate-Group") or [],
                           impersonate_uid=self.headers.get("Impersonate-Uid"))

    def _serve(self) -> None:
        sandbox = self.server.sandbox
        started = time.perf_counter()
        info = routing.parse(self.command, self.path)
        fault = None
        body = b""
        try:
            body = self._body()
            fault = sandbox.faults.pick(verb=info.verb, resource=info.resource, namespace=info.namespace,
                                        name=info.name)
            response = self._answer(info, body, fault)
        except ApiError as error:
            response = error_response(error)
        except Exception:  # a bug in the sandbox: answer like the apiserver would, keep the traceback
            sandbox.internal_errors.append(traceback.format_exc())
            response = error_response(internal("sandbox failure (see SandboxServer.internal_errors)"))
        status = response.status if response is not None else 0
        # Logged before answering: once a client has its answer, the log already shows the request.
        sandbox.log.append(LogEntry(
            method=self.command, path=info.path, verb=info.verb, status=status, resource=info.resource,
            subresource=info.subresource, group=info.group, version=info.version, namespace=info.namespace,
            name=info.name, query=info.query, dry_run=info.dry_run,
            content_type=self.headers.get("Content-Type"), field_manager=info.query.get("fieldManager"),
            user_agent=self.headers.get("User-Agent", ""), duration=time.perf_counter() - started,
            injected=fault is not None and (fault.status is not None or fault.drop_connection), time=time.time(),
            body=body,
        ))
        if response is None:
            self.close_connection = True
        else:
            self._write(response)

    def _answer(self, info: routing.RequestInfo, body: bytes, fault: Any) -> Response | None:
        """The response, or None to drop the connection unanswered."""
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop_connection:
                return None
            error = fault.error()
            if error is not None:
                return error_response(error)
        request = Request(info=info, body=body, content_type=self.headers.get("Content-Type", ""),
                          user_agent=self.headers.get("User-Agent", ""), credentials=self._credentials(),
                          accept=self.headers.get("Accept", ""))
        return self.server.sandbox.api.handle(request)

    def _head(self, response: Response, extra: list[tuple[str, str]]) -> bytes:
        lines = [f"HTTP/1.1 {response.status} {_reason(response.status)}",
                 f"Content-Type: {response.content_type}",
                 "Cache-Control: no-cache, private",
                 f"Date: {formatdate(usegmt=True)}"]
        lines += [f"{name}: {value}" for name, value in response.headers + extra]
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _write(self, response: Response) -> None:
        if response.stream is None:
            body = b"" if self.command == "HEAD" else response.body
            self.wfile.write(self._head(response, [("Content-Length", str(len(response.body)))]) + body)
            return
        try:
            self.wfile.write(self._head(response, [("Transfer-Encoding", "chunked")]))
            for event in response.stream:
                data = json.dumps(event, separators=(",", ":")).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
