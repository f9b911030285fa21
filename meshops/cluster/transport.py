"""From a resolved kubeconfig context to the official client's configured HTTP transport.

`open_transport(access)` fills the client's own `Configuration` the way its kubeconfig loader does
(server, CA, client certificate, `insecure-skip-tls-verify`, `tls-server-name`, `proxy-url`, and the
bearer token or basic credentials as the `BearerToken` api key) and builds its `RESTClientObject`
(the urllib3 pool with those TLS settings), so the HTTP is the client's. Exec plugins run through
the client's `ExecProvider`; a token with an expiry is fetched again shortly before it runs out
(the client's refresh hook). Inline certificates become owner-only temp files removed at exit,
because TLS libraries load client certificates from files.
"""
from __future__ import annotations

import atexit
import base64
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from ..model.errors import ClusterError
from .client_parts import ClientParts, load
from .kubeconfig import ClusterAccess, FileOrData

# Fetch an exec plugin's token again this long before it expires (the client uses the same margin).
EXPIRY_MARGIN = timedelta(minutes=5)
_PRIVATE_DIR: str | None = None
_PRIVATE_LOCK = threading.Lock()


@dataclass
class Transport:
    """The client's configuration and the pool built from it (what `KubeApi` sends through)."""

    configuration: Any
    rest_client: Any

    @property
    def pool_manager(self) -> Any:
        return self.rest_client.pool_manager

    def authorization(self) -> str | None:
        """The Authorization header value now (refreshing an expiring exec token first)."""
        return self.configuration.get_api_key_with_prefix("BearerToken", alias="authorization")


def share_private_directory() -> str:
    """The owner-only directory of this process's certificate files, made now: copies of the process
    forked after this write theirs into it, and this process removes it at exit (theirs never run exit code)."""
    global _PRIVATE_DIR
    with _PRIVATE_LOCK:
        if _PRIVATE_DIR is None:
            _PRIVATE_DIR = tempfile.mkdtemp(prefix="meshops-kube-")
            atexit.register(shutil.rmtree, _PRIVATE_DIR, True)
        return _PRIVATE_DIR


def _private_file(content: bytes) -> str:
    """An owner-only temp file with `content`, removed when the process exits."""
    handle, path = tempfile.mkstemp(dir=share_private_directory())
    with os.fdopen(handle, "wb") as stream:
        stream.write(content)
    return path


def _as_file(material: FileOrData, what: str, access: ClusterAccess) -> str | None:
    if material.data is not None:
        return _private_file(material.data)
    if material.path is not None and not os.path.isfile(material.path):
        raise _unusable(access, f"{what} file {material.path} does not exist")
    return material.path


def _unusable(access: ClusterAccess, why: str) -> ClusterError:
    return ClusterError(f"kubeconfig {', '.join(access.files)} (context {access.context}) is unusable: {why}",
                        hint="refresh the credentials or pick another --context")


def _parse_expiry(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


class _ExecCredentials:
    """An exec plugin's answer, asked again when its token is about to expire."""

    def __init__(self, parts: ClientParts, access: ClusterAccess) -> None:
        self.parts = parts
        self.access = access
        self.lock = threading.Lock()
        self.status: dict[str, Any] = {}
        self.expiry: datetime | None = None
        self.run()

    def run(self) -> None:
        config = _PluginConfig(self.access.exec_config or {})
        try:
            provider = self.parts.ExecProvider(config, self.access.exec_base_path, _PluginConfig(self.access.cluster_info))
            status = provider.run()
        except self.parts.ConfigException as error:
            raise _unusable(self.access, f"exec plugin {config.get('command')!r}: {error}") from None
        except OSError as error:
            raise _unusable(self.access, f"exec plugin {config.get('command')!r} cannot run: {error.strerror or error}") from None
        if "token" not in status and "clientCertificateData" not in status:
            raise _unusable(self.access, f"exec plugin {config.get('command')!r} returned neither a token nor a client certificate")
        self.status = status
        self.expiry = _parse_expiry(status.get("expirationTimestamp"))

    def refresh(self, configuration: Any) -> None:
        """The client's `refresh_api_key_hook`: run the plugin again when the token expires soon."""
        with self.lock:
            if self.expiry is not None and datetime.now(timezone.utc) >= self.expiry - EXPIRY_MARGIN:
                self.run()
                if "token" in self.status:
                    configuration.api_key["BearerToken"] = f"Bearer {self.status['token']}"


class _PluginConfig(dict):
    """The exec section as the client's `ExecProvider` reads it (`safe_get`, `.value`)."""

    def safe_get(self, key: str) -> Any:
        return self.get(key)

    @property
    def value(self) -> dict[str, Any]:
        return dict(self)


def _read_token_file(access: ClusterAccess) -> str:
    try:
        with open(access.token_file or "", encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError as error:
        raise _unusable(access, f"tokenFile {access.token_file}: {error.strerror or error}") from None


def _authenticate(configuration: Any, parts: ClientParts, access: ClusterAccess) -> dict[str, str | None]:
    """Set the bearer token or basic credentials (in the client loader's order); the client certificate files."""
    certificate = {"cert_file": None, "key_file": None}
    refresh: Callable[[Any], None] | None = None
    if access.token or access.token_file:
        token = access.token or _read_token_file(access)
        configuration.api_key["BearerToken"] = f"Bearer {token}"
    elif access.exec_config is not None:
        credentials = _ExecCredentials(parts, access)
        if "token" in credentials.status:
            configuration.api_key["BearerToken"] = f"Bearer {credentials.status['token']}"
            refresh = credentials.refresh
        else:
            certificate = {"cert_file": _private_file(str(credentials.status["clientCertificateData"]).encode()),
                           "key_file": _private_file(str(credentials.status.get("clientKeyData", "")).encode())}
    elif access.username is not None and access.password is not None:
        basic = base64.b64encode(f"{access.username}:{access.password}".encode("utf-8")).decode("ascii")
        configuration.api_key["BearerToken"] = f"Basic {basic}"
    if refresh is not None:
        configuration.refresh_api_key_hook = refresh
    if certificate["cert_file"] is None and access.server.startswith("https"):
        certificate = {"cert_file": _as_file(access.client_certificate, "client-certificate", access),
                       "key_file": _as_file(access.client_key, "client-key", access)}
    return certificate


def open_transport(access: ClusterAccess) -> Transport:
    """The official client's configuration and HTTP pool for `access` (no request is sent)."""
    parts = load()
    configuration = parts.Configuration()
    configuration.host = access.server
    certificate = _authenticate(configuration, parts, access)
    if access.server.startswith("https"):
        configuration.ssl_ca_cert = _as_file(access.certificate_authority, "certificate-authority", access)
        configuration.cert_file = certificate["cert_file"]
        configuration.key_file = certificate["key_file"]
    if access.insecure_skip_tls_verify:
        configuration.verify_ssl = False
    if access.tls_server_name:
        configuration.tls_server_name = access.tls_server_name
    if access.proxy_url:
        configuration.proxy = access.proxy_url
    try:
        rest_client = parts.RESTClientObject(configuration)
    except (OSError, ValueError) as error:  # unreadable or mismatched certificate and key
        raise _unusable(access, str(error)) from None
    return Transport(configuration=configuration, rest_client=rest_client)


def transport_of(configuration: Any) -> Transport:
    """A transport around a `Configuration` filled elsewhere (the client's in-cluster or auth-provider loaders)."""
    return Transport(configuration=configuration, rest_client=load().RESTClientObject(configuration))
