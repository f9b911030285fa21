"""An authenticating reverse proxy in front of a real Prometheus, and a test CA made with `openssl`.

Production Prometheus sits behind something that checks credentials: a bearer token (Kubernetes
RBAC proxy, Grafana Cloud), basic auth (nginx), a tenant header (Mimir, Cortex, Thanos' receive
router) and TLS with a private CA. `AuthProxy` plays all of them over real sockets: it answers 401
without the right credentials, 403 without the right tenant (both with a short plain-text body,
as those proxies do), and otherwise forwards the request to the real Prometheus. It records the
headers it saw, so tests can check what meshops sent. `TestCA` makes a CA and a server
certificate for 127.0.0.1 with the `openssl` binary.
"""
from __future__ import annotations

import base64
import http.server
import shutil
import ssl
import subprocess
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

TENANT_HEADER = "X-Scope-OrgID"


@dataclass(frozen=True)
class TestCA:
    """A CA certificate and a server certificate (with key) it signed for 127.0.0.1, as PEM files."""

    ca: Path
    cert: Path
    key: Path

    __test__ = False  # not a test class, despite the name

    @classmethod
    def make(cls, directory: Path) -> TestCA:
        openssl = shutil.which("openssl")
        if openssl is None:
            pytest.skip("TLS test: the openssl binary is not installed (apt-get install openssl)")
        directory.mkdir(parents=True, exist_ok=True)
        ca, ca_key = directory / "ca.pem", directory / "ca.key"
        cert, key, request = directory / "server.pem", directory / "server.key", directory / "server.csr"
        extensions = directory / "server.ext"
        extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")

        def run(*args: str) -> None:
            subprocess.run([openssl, *args], check=True, capture_output=True)

        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=meshops test CA", "-keyout", str(ca_key), "-out", str(ca))
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", str(key), "-out", str(request))
        run("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
            "-days", "2", "-extfile", str(extensions), "-out", str(cert))
        return cls(ca=ca, cert=cert, key=key)


class AuthProxy:
    """The proxy (see the module docstring); `url` is its base, `seen` the headers of each request."""

    def __init__(self, upstream: str, *, token: str | None = None, basic: tuple[str, str] | None = None,
                 tenant: str | None = None, tls: TestCA | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.token, self.basic, self.tenant, self.tls = token, basic, tenant, tls
        self.seen: list[dict[str, str]] = []
        self._server: http.server.ThreadingHTTPServer | None = None

    def _refusal(self, headers) -> tuple[int, bytes] | None:
        authorization = headers.get("Authorization") or ""
        if self.token is not None and authorization != f"Bearer {self.token}":
            return 401, b"Unauthorized\n"
        if self.basic is not None:
            expected = "Basic " + base64.b64encode(f"{self.basic[0]}:{self.basic[1]}".encode()).decode()
            if authorization != expected:
                return 401, b"401 Authorization Required\n"
        if self.tenant is not None and headers.get(TENANT_HEADER) != self.tenant:
            return 403, b"no org id\n"
        return None

    def start(self) -> AuthProxy:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self) -> None:
                proxy.seen.append({key: value for key, value in self.headers.items()})
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                refusal = proxy._refusal(self.headers)
                if refusal is not None:
                    return self._answer(refusal[0], "text/plain", refusal[1])
                request = urllib.request.Request(proxy.upstream + self.path, data=body, method=self.command, headers={
                    "Content-Type": self.headers.get("Content-Type") or "application/x-www-form-urlencoded"})
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        self._answer(response.status, response.headers.get("Content-Type", ""), response.read())
                except urllib.error.HTTPError as error:
                    self._answer(error.code, error.headers.get("Content-Type", ""), error.read())
                except OSError:
                    self._answer(502, "text/plain", b"upstream unreachable\n")

            def _answer(self, status: int, content_type: str, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _forward

            def log_message(self, *args) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls.cert, self.tls.key)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> AuthProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
