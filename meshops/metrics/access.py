"""How meshops reaches a Prometheus: URL, timeout, headers, credentials and TLS trust.

`PrometheusAccess` is everything the HTTP client needs, already merged from the operator's flags
and environment and the config repo's `prometheus:` section (`pipeline.prometheus` does the
merge and owns the rule of who may set what). `check()` reads every secret once and loads the CA
bundle, so a missing or world-readable token file, a header with a line break or an unreadable
CA is an error before any write; afterwards `request_headers()` re-reads a token file only when
it changed on disk (Kubernetes rotates projected service-account tokens).

Secrets come from a file or an environment variable (`SecretRef`), never from the value itself,
and no message ever contains one: reasons name the masked URL, errors name the file.
"""
from __future__ import annotations

import base64
import os
import re
import ssl
import threading
from dataclasses import dataclass, field
from typing import Mapping

from ..model.errors import UsageError
from ..model.masking import mask_url
from ..model.secrets import read_secret_env, read_secret_file

# An instant query over a few minutes of mesh metrics answers in milliseconds; after 5 s Prometheus
# is in trouble and waiting longer only delays the decision (Flagger uses 5 s as well).
DEFAULT_TIMEOUT = 5.0
# RFC 9110 field-name: a token.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Headers meshops sets itself, or that carry credentials: a credential belongs in a secret file,
# never in a header value written on a command line or in a repo.
RESERVED_HEADERS = {
    "authorization": "use a bearer token or basic auth from a file instead",
    "proxy-authorization": "credentials belong in a file, not in a header value",
    "cookie": "credentials belong in a file, not in a header value",
    "host": "meshops sets Host from the URL",
    "content-type": "meshops sets it for the query",
    "content-length": "meshops sets it for the query",
    "transfer-encoding": "meshops sets it for the query",
}


class AccessError(UsageError):
    """A Prometheus access setting cannot be used (bad header, unreadable CA or secret …)."""


def header_problem(name: str, value: str) -> str | None:
    """Why `name: value` cannot be sent as an HTTP header, or None."""
    if not _HEADER_NAME.match(name or ""):
        return f"header name {name!r} is not a valid HTTP header name"
    if any(character in value for character in "\r\n\0"):
        return f"header {name} has a line break in its value (it would start a new header)"
    why = RESERVED_HEADERS.get(name.lower())
    if why:
        return f"header {name} cannot be set: {why}"
    return None


def parse_header(text: str) -> tuple[str, str]:
    """`Name: value` (or `Name=value`) as a pair; AccessError when it is not one."""
    separator = ":" if ":" in text and ("=" not in text or text.index(":") < text.index("=")) else "="
    name, found, value = text.partition(separator)
    if not found:
        raise AccessError(f"header {text.split(chr(10))[0][:40]!r} is not `Name: value`", hint="e.g. 'X-Scope-OrgID: team-a'")
    return name.strip(), value.strip()


@dataclass(frozen=True)
class SecretRef:
    """Where one secret comes from: a file the operator named, or an environment variable."""

    what: str  # e.g. "Prometheus bearer token": how errors name it
    file: str | None = None
    env: str | None = None
    option: str = ""  # the flag that named the file, for messages

    def describe(self) -> str:
        return f"{self.option} {self.file}".strip() if self.file else f"${self.env}"

    def read(self) -> str:
        """The secret; AccessError/SecretError naming the file or variable when it cannot be used."""
        if self.file:
            return read_secret_file(self.file, what=self.what, shown=self.describe())
        value = read_secret_env(self.env or "", what=self.what)
        if value is None:
            raise AccessError(f"{self.what}: ${self.env} is empty")
        return value


class _CachedSecret:
    """A secret re-read only when its file changed (size or mtime), so a rotated token is picked up."""

    def __init__(self, ref: SecretRef) -> None:
        self.ref = ref
        self._stamp: tuple[int, int] | None = None
        self._value: str | None = None
        self._lock = threading.Lock()

    def value(self) -> str:
        if not self.ref.file:
            return self.ref.read()
        try:
            info = os.stat(self.ref.file)
            stamp = (info.st_mtime_ns, info.st_size)
        except OSError:
            stamp = None
        with self._lock:
            if stamp is None or stamp != self._stamp or self._value is None:
                self._value = self.ref.read()
                self._stamp = stamp
            return self._value


@dataclass(frozen=True)
class Credentials:
    """Who meshops is to Prometheus and whom it trusts: only ever the operator's settings."""

    bearer_token: SecretRef | None = None
    username: str | None = None
    password: SecretRef | None = None
    ca_file: str | None = None
    insecure_skip_verify: bool = False

    @property
    def sent(self) -> bool:
        """Whether requests carry a secret."""
        return self.bearer_token is not None or self.password is not None or bool(self.username)

    @property
    def any(self) -> bool:
        return self.sent or bool(self.ca_file) or self.insecure_skip_verify


@dataclass(frozen=True)
class PrometheusAccess:
    """One Prometheus as the HTTP client reaches it (see the module docstring)."""

    url: str
    timeout: float = DEFAULT_TIMEOUT
    headers: tuple[tuple[str, str], ...] = ()
    credentials: Credentials = field(default_factory=Credentials)
    _secrets: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def shown_url(self) -> str:
        """The URL as messages show it (credentials masked)."""
        return mask_url(self.url)

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0].lower()

    def check(self) -> None:
        """Read every secret and the CA bundle once; AccessError/SecretError when one is unusable."""
        for name, value in self.headers:
            problem = header_problem(name, value)
            if problem:
                raise AccessError(problem, hint="headers are `Name: value` on one line, e.g. 'X-Scope-OrgID: team-a'")
        if self.credentials.bearer_token is not None and (self.credentials.username or self.credentials.password is not None):
            raise AccessError("Prometheus: both a bearer token and basic auth are set", hint="use one of them")
        if self.credentials.password is not None and not self.credentials.username:
            raise AccessError("Prometheus: a basic-auth password without a user name", hint="pass --prometheus-username too")
        for secret in (self.credentials.bearer_token, self.credentials.password):
            if secret is not None:
                self._secret(secret).value()
        self.ssl_context()

    def _secret(self, ref: SecretRef) -> _CachedSecret:
        cached = self._secrets.get(ref)
        if cached is None:
            cached = self._secrets.setdefault(ref, _CachedSecret(ref))
        return cached

    def request_headers(self) -> Mapping[str, str]:
        """The configured headers plus Authorization (token files re-read when they change)."""
        headers = dict(self.headers)
        if self.credentials.bearer_token is not None:
            headers["Authorization"] = "Bearer " + self._secret(self.credentials.bearer_token).value()
        elif self.credentials.username:
            password = self._secret(self.credentials.password).value() if self.credentials.password is not None else ""
            pair = f"{self.credentials.username}:{password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        return headers

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for https URLs (None: Python's default trust)."""
        if not (self.credentials.ca_file or self.credentials.insecure_skip_verify):
            return None
        cached = self._secrets.get("ssl")
        if cached is not None:
            return cached
        try:
            context = ssl.create_default_context(cafile=self.credentials.ca_file) if self.credentials.ca_file else ssl.create_default_context()
        except FileNotFoundError:
            raise AccessError(f"Prometheus CA bundle {self.credentials.ca_file} does not exist", hint="check --prometheus-ca-file") from None
        except (ssl.SSLError, OSError, ValueError) as error:
            raise AccessError(f"Prometheus CA bundle {self.credentials.ca_file} is not a PEM certificate bundle ({type(error).__name__})",
                              hint="point --prometheus-ca-file at the CA's PEM file") from None
        if self.credentials.insecure_skip_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return self._secrets.setdefault("ssl", context)
