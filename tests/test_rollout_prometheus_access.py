"""Reaching a real Prometheus behind authentication: bearer token, basic auth, tenant header, TLS with
a private CA — and the rule of who may set what (the operator, never the config repo).

A real Prometheus (no scrape targets: `vector(1)` needs no data) sits behind `authproxy.AuthProxy`,
which refuses what a production proxy refuses. Secrets live in files the tests write with mode 0600,
as an operator's would; every reason is checked for the secret it must not show.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from authproxy import TENANT_HEADER, AuthProxy, TestCA
from meshops.metrics.access import AccessError, Credentials, PrometheusAccess, SecretRef
from meshops.metrics.prometheus import PrometheusClient
from meshops.metrics.source import QueryStatus
from meshops.model.errors import ConfigError, UsageError
from meshops.model.secrets import SecretError
from meshops.pipeline.prometheus import PrometheusSettings, prometheus_access
from meshops.rollout.state import Phase
from meshops.sim.prometheus import LocalPrometheus
from meshops.source.envconfig import EnvConfig

pytestmark = pytest.mark.prometheus

TOKEN = "tok-3f9a1c77e2b4"
PASSWORD = "pw-8d1e55b0c3"


@pytest.fixture(scope="module")
def upstream(prometheus_binary):
    with LocalPrometheus(binary=prometheus_binary) as server:
        yield server


def secret_file(tmp_path: Path, name: str, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / name
    path.write_text(text + "\n")
    path.chmod(mode)
    return path


def token_ref(path: Path) -> SecretRef:
    return SecretRef("Prometheus bearer token", file=str(path), option="--prometheus-bearer-token-file")


def environment(section: dict) -> EnvConfig:
    return EnvConfig(name="prod", file="environments/prod/meshops.yaml", data={"prometheus": section})


def test_a_bearer_token_from_a_file_reaches_prometheus_behind_a_proxy_that_checks_it(upstream, tmp_path):
    with AuthProxy(upstream.url, token=TOKEN) as proxy:
        access = PrometheusAccess(url=proxy.url, credentials=Credentials(bearer_token=token_ref(secret_file(tmp_path, "token", TOKEN))))
        result = PrometheusClient.from_access(access).query_value("vector(1)")
    assert result.ok and result.value == 1.0
    assert proxy.seen[-1]["Authorization"] == f"Bearer {TOKEN}"


def test_a_wrong_token_is_an_http_error_naming_credentials_and_never_the_token(upstream, tmp_path):
    with AuthProxy(upstream.url, token=TOKEN) as proxy:
        url = proxy.url
        access = PrometheusAccess(url=url, credentials=Credentials(bearer_token=token_ref(secret_file(tmp_path, "token", "wrong-" + TOKEN))))
        result = PrometheusClient.from_access(access).query_value("vector(1)")
    assert result.status is QueryStatus.HTTP_ERROR
    assert result.reason == f"Prometheus at {url} answered HTTP 401: Unauthorized (check the Prometheus credentials)"
    assert TOKEN not in result.reason


def test_basic_auth_with_a_password_file_and_a_tenant_header_pass_a_mimir_like_proxy(upstream, tmp_path):
    with AuthProxy(upstream.url, basic=("meshops", PASSWORD), tenant="team-a") as proxy:
        password = SecretRef("Prometheus password", file=str(secret_file(tmp_path, "password", PASSWORD)))
        basic = Credentials(username="meshops", password=password)
        access = PrometheusAccess(url=proxy.url, credentials=basic, headers=((TENANT_HEADER, "team-a"),))
        assert PrometheusClient.from_access(access).query_value("vector(2)").value == 2.0
        without_tenant = PrometheusAccess(url=proxy.url, credentials=basic)
        refused = PrometheusClient.from_access(without_tenant).query_value("vector(2)")
    assert refused.status is QueryStatus.HTTP_ERROR and "HTTP 403: no org id" in refused.reason
    assert PASSWORD not in refused.reason


def test_credentials_in_the_url_are_sent_as_basic_auth_and_masked_in_every_reason(upstream):
    with AuthProxy(upstream.url, basic=("meshops", PASSWORD)) as proxy:
        host = proxy.url.removeprefix("http://")
        assert PrometheusClient(url=f"http://meshops:{PASSWORD}@{host}").query_value("vector(3)").value == 3.0
        wrong = PrometheusClient(url=f"http://meshops:x{PASSWORD}@{host}").query_value("vector(3)")
    assert wrong.reason.startswith(f"Prometheus at http://***@{host} answered HTTP 401")
    assert PASSWORD not in wrong.reason


def test_tls_with_a_private_ca_is_verified_against_the_ca_bundle(upstream, tmp_path):
    ca = TestCA.make(tmp_path / "tls")
    with AuthProxy(upstream.url, token=TOKEN, tls=ca) as proxy:
        token = token_ref(secret_file(tmp_path, "token", TOKEN))
        trusted = PrometheusAccess(url=proxy.url, credentials=Credentials(bearer_token=token, ca_file=str(ca.ca)))
        assert PrometheusClient.from_access(trusted).query_value("vector(4)").value == 4.0
        plain = PrometheusAccess(url=proxy.url, credentials=Credentials(bearer_token=token))
        untrusted = PrometheusClient.from_access(plain).query_value("vector(4)")
        skipped = PrometheusAccess(url=proxy.url, credentials=Credentials(bearer_token=token, insecure_skip_verify=True))
        assert PrometheusClient.from_access(skipped).query_value("vector(5)").value == 5.0
    assert untrusted.status is QueryStatus.UNREACHABLE and "certificate verify failed" in untrusted.reason


def test_a_rotated_token_file_is_read_again_without_a_restart(upstream, tmp_path):
    path = secret_file(tmp_path, "token", "old-" + TOKEN)
    with AuthProxy(upstream.url, token=TOKEN) as proxy:
        client = PrometheusClient.from_access(PrometheusAccess(url=proxy.url, credentials=Credentials(bearer_token=token_ref(path))))
        assert client.query_value("vector(1)").status is QueryStatus.HTTP_ERROR
        path.write_text(TOKEN + "\n")  # what the kubelet does when it refreshes a projected token
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
        assert client.query_value("vector(1)").value == 1.0


# --- who may set what: the operator's settings over the repo's --------------------------------------


def test_the_repo_chooses_url_timeout_and_tenant_and_the_operators_headers_win_by_name():
    config = environment({"url": "http://prometheus:9090", "timeout": "2s", "headers": {"X-Scope-OrgID": "repo-team"}})
    assert prometheus_access(config).headers == (("X-Scope-OrgID", "repo-team"),)
    operator = PrometheusSettings(headers=(("x-scope-orgid", "operator-team"),))
    access = prometheus_access(config, operator)
    assert (access.url, access.timeout, access.headers) == ("http://prometheus:9090", 2.0, (("x-scope-orgid", "operator-team"),))


def test_credentials_go_only_to_the_url_the_operator_names(tmp_path):
    token = token_ref(secret_file(tmp_path, "token", TOKEN))
    with pytest.raises(UsageError, match="without --prometheus-url"):
        PrometheusSettings(credentials=Credentials(bearer_token=token)).check()
    operator = PrometheusSettings(url="https://prometheus.internal:9090", credentials=Credentials(bearer_token=token))
    operator.check()
    access = prometheus_access(environment({"url": "https://collector.example.net"}), operator)
    assert access.url == "https://prometheus.internal:9090" and access.credentials.bearer_token == token


@pytest.mark.parametrize("key", ["bearerTokenFile", "basicAuth", "tls", "insecureSkipVerify"])
def test_a_credential_or_tls_key_in_the_repo_is_an_error_naming_the_flag_to_use(key):
    with pytest.raises(ConfigError) as caught:
        prometheus_access(environment({"url": "http://prometheus:9090", key: "/var/run/secrets/kubernetes.io/token"}))
    line = caught.value.one_line()
    assert line.startswith(f"error: environments/prod/meshops.yaml: prometheus.{key}: credentials and TLS trust are the operator's")
    assert "--prometheus-" in line


def test_a_repo_url_with_credentials_is_refused_and_the_password_never_shown():
    with pytest.raises(ConfigError) as caught:
        prometheus_access(environment({"url": f"http://meshops:{PASSWORD}@prometheus:9090"}))
    line = caught.value.one_line()
    assert "http://***@prometheus:9090" in line and PASSWORD not in line


@pytest.mark.parametrize(("mode", "problem"), [(0o644, "readable by every user"), (None, "does not exist")])
def test_a_token_file_that_is_world_readable_or_missing_is_refused_before_anything_else(tmp_path, mode, problem):
    path = secret_file(tmp_path, "token", TOKEN, mode) if mode else tmp_path / "absent"
    with pytest.raises(SecretError) as caught:
        PrometheusSettings(url="http://prometheus:9090", credentials=Credentials(bearer_token=token_ref(path))).check()
    assert problem in caught.value.one_line() and TOKEN not in caught.value.one_line()


def test_a_header_with_a_line_break_is_refused():
    with pytest.raises(AccessError, match="line break"):
        PrometheusSettings(url="http://prometheus:9090", headers=(("X-Scope-OrgID", "a\r\nX-Admin: 1"),)).check()


# --- end to end: the CLI drives rollouts through the proxy; no secret in any output, Event or annotation ---


def everything_written(mesh) -> str:
    """The rollout annotation and every Event message of the scenario's namespace, as one text."""
    events = mesh.cluster.mesh.core_v1().list_namespaced_event(mesh.namespace).items
    return mesh.cluster.vs("cart")["metadata"]["annotations"]["meshops.dev/rollout"] + "\n".join(
        event.message or "" for event in events)


@pytest.mark.slow
def test_rollouts_analyse_through_an_authenticating_proxy_and_no_credential_is_ever_shown(scenario, prometheus, tmp_path):
    with AuthProxy(prometheus.url, basic=("meshops", PASSWORD), tenant="team-a") as proxy:
        host = proxy.url.removeprefix("http://")
        mesh = scenario({"cart": {}}, prometheus_url="http://prometheus.invalid:9090",
                        settings={"prometheus": {"url": "http://prometheus.invalid:9090", "headers": {TENANT_HEADER: "team-a"}}})
        mesh.roll_out()
        wrong = mesh.cluster.cli("rollout", "run", "--wait", "--timeout", "8s", "--prometheus-url", f"http://meshops:x{PASSWORD}@{host}")
        assert wrong.returncode == 4, wrong.stdout + wrong.stderr  # still running: held, never rolled back
        held = mesh.cluster.state("cart")
        assert (held.phase, held.failed_checks) == (Phase.PROGRESSING, 0) and held.inconclusive >= 1
        assert f"Prometheus at http://***@{host} answered HTTP 401" in held.message
        password_file = secret_file(tmp_path, "password", PASSWORD)
        right = mesh.cluster.cli("rollout", "run", "--wait", "--timeout", "60s", "--prometheus-url", proxy.url,
                                 "--prometheus-username", "meshops", "--prometheus-password-file", str(password_file))
        assert right.returncode == 0, right.stdout + right.stderr
    assert mesh.cluster.state("cart").phase == Phase.SUCCEEDED
    shown = wrong.stdout + wrong.stderr + right.stdout + right.stderr + everything_written(mesh)
    assert PASSWORD not in shown and "http://***@" in shown
