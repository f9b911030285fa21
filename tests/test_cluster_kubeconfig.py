"""Kubeconfigs read without importing the kubernetes client, sent through the client's own transport.

Each form of kubeconfig is read twice: by meshops (`cluster.kubeconfig` + `cluster.transport`)
and by the official client's loader, and the resulting settings (server, CA, client certificate,
TLS options, proxy, Authorization header) must be the same. Then requests go over real sockets:
an HTTPS server with an `openssl`-made CA that demands a client certificate, and an HTTP server
that records the Authorization header an exec plugin's token produced.
"""
from __future__ import annotations

import base64
import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from meshops.cluster.connect import connect
from meshops.cluster.kubeconfig import kubeconfig_files, resolve
from meshops.cluster.transport import open_transport
from meshops.model.errors import ClusterError
from meshops.yamlio.documents import dump


def _kubeconfig(path: Path, *, server: str = "https://10.0.0.1:6443", cluster: dict | None = None, user: dict | None = None,
                context: str = "ctx") -> Path:
    path.write_text(dump({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "c", "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": "u", "user": user or {}}],
        "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
    }))
    return path


def _official(path: Path, context: str | None = None):
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=str(path), context=context, client_configuration=configuration, persist_config=False)
    return configuration


def _content(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


def _settings(configuration) -> dict:
    return {
        "host": configuration.host,
        "authorization": configuration.get_api_key_with_prefix("BearerToken", alias="authorization"),
        "ca": _content(configuration.ssl_ca_cert),
        "cert": _content(configuration.cert_file),
        "key": _content(configuration.key_file),
        "verify_ssl": configuration.verify_ssl,
        "tls_server_name": configuration.tls_server_name,
        "proxy": configuration.proxy,
    }


PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def _forms(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.crt").write_bytes(PEM)
    (tmp_path / "certs" / "client.crt").write_bytes(PEM.replace(b"MIIB", b"CLIENT"))
    (tmp_path / "certs" / "client.key").write_bytes(b"KEY")
    (tmp_path / "token").write_text("from-a-file")
    encoded = base64.b64encode(PEM).decode()
    return {
        "token": _kubeconfig(tmp_path / "token.yaml", user={"token": "abc"}),
        "token file, relative path": _kubeconfig(tmp_path / "tokenfile.yaml", user={"tokenFile": "token"}),
        "basic auth": _kubeconfig(tmp_path / "basic.yaml", user={"username": "ann", "password": "s3cret:x"}),
        "inline CA and client certificate": _kubeconfig(
            tmp_path / "inline.yaml", cluster={"certificate-authority-data": encoded},
            user={"client-certificate-data": base64.b64encode(PEM.replace(b"MIIB", b"CLIENT")).decode(),
                  "client-key-data": base64.b64encode(b"KEY").decode()}),
        "CA and client certificate files": _kubeconfig(
            tmp_path / "files.yaml", cluster={"certificate-authority": "certs/ca.crt"},
            user={"client-certificate": "certs/client.crt", "client-key": "certs/client.key", "token": "t"}),
        "insecure, server name, proxy": _kubeconfig(
            tmp_path / "tls.yaml", cluster={"insecure-skip-tls-verify": True, "tls-server-name": "api.internal",
                                            "proxy-url": "http://proxy.local:3128"}, user={"token": "t"}),
        "plain http": _kubeconfig(tmp_path / "http.yaml", server="http://127.0.0.1:8080/", user={"token": "t"}),
    }


@pytest.mark.parametrize("form", ["token", "token file, relative path", "basic auth", "inline CA and client certificate",
                                  "CA and client certificate files", "insecure, server name, proxy", "plain http"])
def test_meshops_reads_each_kubeconfig_form_as_the_official_loader_does(tmp_path, form):
    path = _forms(tmp_path)[form]
    ours = open_transport(resolve([str(path)], None)).configuration
    assert _settings(ours) == _settings(_official(path))


def test_a_token_file_ending_in_a_newline_sends_the_token_without_it_as_kubectl_does(tmp_path):
    (tmp_path / "token").write_text("rotated\n")
    path = _kubeconfig(tmp_path / "k.yaml", user={"tokenFile": "token"})
    assert open_transport(resolve([str(path)], None)).authorization() == "Bearer rotated"


def test_several_files_merge_as_kubectl_merges_them_first_definition_wins(tmp_path):
    first = _kubeconfig(tmp_path / "a.yaml", server="https://first:6443", user={"token": "one"}, context="a")
    second = tmp_path / "b.yaml"
    second.write_text(dump({
        "current-context": "b",
        "clusters": [{"name": "c", "cluster": {"server": "https://ignored:6443"}}, {"name": "d", "cluster": {"server": "https://second:6443"}}],
        "users": [{"name": "u", "user": {"token": "ignored"}}],
        "contexts": [{"name": "b", "context": {"cluster": "d", "user": "u"}}],
    }))
    access = resolve([str(first), str(second)], None)
    assert (access.context, access.server, access.token) == ("a", "https://first:6443", "one")
    other = resolve([str(first), str(second)], "b")
    assert (other.server, other.token) == ("https://second:6443", "one")


def test_kubeconfig_variable_lists_several_files(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}")
    assert kubeconfig_files(None) == [str(tmp_path / "a"), str(tmp_path / "b")]


def test_a_context_that_is_not_there_names_the_known_ones(tmp_path):
    path = _kubeconfig(tmp_path / "k.yaml", user={"token": "t"})
    with pytest.raises(ClusterError) as raised:
        connect(kubeconfig=str(path), context="prod")
    assert "context 'prod' is not in kubeconfig" in raised.value.message and "ctx" in raised.value.hint


def test_connecting_does_not_import_the_kubernetes_client_package(tmp_path):
    path = _kubeconfig(tmp_path / "k.yaml", server="http://127.0.0.1:9", user={"token": "t"})
    script = ("import sys; from meshops.cluster.connect import connect; connect(kubeconfig=sys.argv[1]); "
              "print(sorted(name for name in sys.modules if name.startswith('kubernetes')))")
    imported = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True).stdout
    assert "kubernetes.client.configuration" in imported
    assert "'kubernetes'" not in imported and "kubernetes.client.api_client" not in imported


# --- real sockets -----------------------------------------------------------------------------

class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        type(self).seen.append(self.headers.get("Authorization"))
        body = json.dumps({"major": "1", "minor": "32"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def _serve(handler: type, tls: ssl.SSLContext | None = None) -> http.server.HTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def pki(tmp_path):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made by the real openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command (Debian package openssl)")
    directory = tmp_path / "pki"
    directory.mkdir()

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=test-ca")
    (directory / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, subject in (("server", "/CN=127.0.0.1"), ("client", "/CN=ann/O=admins")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject)
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.crt", "-days", "2", *(["-extfile", "san.cnf"] if name == "server" else []))
    return directory


def test_https_with_the_kubeconfig_ca_and_an_inline_client_certificate(tmp_path, pki):
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(pki / "server.crt", pki / "server.key")
    tls.load_verify_locations(pki / "ca.crt")
    tls.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no answer
    _Recorder.seen = []
    server = _serve(_Recorder, tls)
    try:
        data = {name: base64.b64encode((pki / name).read_bytes()).decode() for name in ("ca.crt", "client.crt", "client.key")}
        path = _kubeconfig(tmp_path / "k.yaml", server=f"https://127.0.0.1:{server.server_port}",
                           cluster={"certificate-authority-data": data["ca.crt"]},
                           user={"client-certificate-data": data["client.crt"], "client-key-data": data["client.key"]})
        assert connect(kubeconfig=str(path)).request("GET", "/version") == {"major": "1", "minor": "32"}
        untrusted = _kubeconfig(tmp_path / "untrusted.yaml", server=f"https://127.0.0.1:{server.server_port}",
                                user={"client-certificate-data": data["client.crt"], "client-key-data": data["client.key"]})
        with pytest.raises(ClusterError):
            connect(kubeconfig=str(untrusted)).request("GET", "/version")
    finally:
        server.shutdown()


def _plugin(tmp_path: Path, *, expires_in_seconds: int) -> dict:
    """An exec credential plugin that answers token-1, token-2 … (a counter file), valid for the given time."""
    script = tmp_path / "plugin.py"
    script.write_text(textwrap.dedent(f"""\
        import datetime, json, os, pathlib
        counter = pathlib.Path({str(tmp_path / 'runs')!r})
        runs = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(runs))
        info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
        expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds={expires_in_seconds})
        print(json.dumps({{"apiVersion": info["apiVersion"], "kind": "ExecCredential",
                           "status": {{"token": f"token-{{runs}}-" + os.environ["TEAM"],
                                      "expirationTimestamp": expiry.strftime("%Y-%m-%dT%H:%M:%SZ")}}}}))
        """))
    return {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable, "args": [str(script)],
            "env": [{"name": "TEAM", "value": "mesh"}], "interactiveMode": "Never"}


@pytest.mark.parametrize("expires_in_seconds, sent", [
    (3600, ["Bearer token-1-mesh", "Bearer token-1-mesh"]),  # valid: kept
    (60, ["Bearer token-2-mesh", "Bearer token-3-mesh"]),  # about to expire: asked again before each request
], ids=["a valid token is kept", "a token about to expire is fetched again"])
def test_an_exec_plugin_token_is_sent_and_refreshed_before_it_expires(tmp_path, expires_in_seconds, sent):
    _Recorder.seen = []
    server = _serve(_Recorder)
    try:
        path = _kubeconfig(tmp_path / "k.yaml", server=f"http://127.0.0.1:{server.server_port}",
                           user={"exec": _plugin(tmp_path, expires_in_seconds=expires_in_seconds)})
        api = connect(kubeconfig=str(path))
        api.request("GET", "/version")
        api.request("GET", "/version")
        assert _Recorder.seen == sent
    finally:
        server.shutdown()


def test_a_failing_exec_plugin_is_one_clear_error(tmp_path):
    path = _kubeconfig(tmp_path / "k.yaml", user={"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                                            "command": sys.executable, "args": ["-c", "raise SystemExit(3)"]}})
    with pytest.raises(ClusterError) as raised:
        connect(kubeconfig=str(path))
    assert "exec plugin" in raised.value.message and "unusable" in raised.value.message
