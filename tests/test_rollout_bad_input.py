"""Bad rollout input, as a table: one `error:` line on stderr, exit 2, nothing written to the cluster,
and no secret in any output.

Each row changes the small rollout repo (meshops.yaml, through `settings` and `policy`) and/or the
command line, then runs the real CLI against the sandbox; the request log proves no write happened.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from meshops.model.errors import ExitCode
from rollouts import Cluster, fast_policy, make_repo

TOKEN = "tok-never-printed-5a7e"
NAMESPACE = "bad"


@dataclass(frozen=True)
class Case:
    id: str
    command: tuple[str, ...]  # after `meshops`; {secrets} and {token} are filled in
    error: str  # text the error line must contain
    settings: dict = field(default_factory=dict)  # meshops.yaml keys
    policy: dict = field(default_factory=dict)  # rollout policy keys over fast_policy()
    token_mode: int = 0o600


APPLY_WAIT = ("apply", "--yes", "--wait")
RUN = ("rollout", "run")
CASES = [
    Case("token-file-missing", (*APPLY_WAIT, "--prometheus-url", "http://p:9090", "--prometheus-bearer-token-file", "/nonexistent/token"),
         "Prometheus bearer token: --prometheus-bearer-token-file /nonexistent/token does not exist"),
    Case("token-file-world-readable", (*APPLY_WAIT, "--prometheus-url", "http://p:9090", "--prometheus-bearer-token-file", "{token}"),
         "is readable by every user on this machine (mode 0644)", token_mode=0o644),
    Case("header-with-a-line-break", (*RUN, "--prometheus-url", "http://p:9090", "--prometheus-header", "X-Scope-OrgID: a\nX-Admin: 1"),
         "header X-Scope-OrgID has a line break in its value"),
    Case("credentials-without-an-operator-url", (*RUN, "--prometheus-bearer-token-file", "{token}"),
         "Prometheus credentials or TLS settings were given without --prometheus-url"),
    Case("repo-names-a-token-file", ("apply", "--yes"), "prometheus.bearerTokenFile: credentials and TLS trust are the operator's",
         settings={"prometheus": {"url": "http://p:9090", "bearerTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"}}),
    Case("repo-url-with-a-password", ("apply", "--yes"), "prometheus.url 'http://***@p:9090' carries credentials",
         settings={"prometheus": {"url": f"http://meshops:{TOKEN}@p:9090"}}),
    Case("webhook-check-url-not-http", ("apply", "--yes"), "webhook 'smoke': url 'ftp://tester/smoke' is not an http(s) URL",
         policy={"webhooks": [{"name": "smoke", "type": "pre-rollout", "url": "ftp://tester/smoke"}]}),
    Case("notification-url-not-http", (*APPLY_WAIT, "--secrets-dir", "{secrets}"), "url 'file:///etc/passwd' is not an http(s) URL",
         settings={"notifications": [{"name": "audit", "type": "webhook", "url": "file:///etc/passwd", "hmacSecret": "hmac"}]}),
    Case("slack-url-inline", (*APPLY_WAIT, "--secrets-dir", "{secrets}"), "a slack webhook URL is a secret",
         settings={"notifications": [{"name": "chat", "type": "slack", "url": f"https://hooks.slack.com/services/{TOKEN}"}]}),
    Case("secret-key-that-leaves-the-directory", (*APPLY_WAIT, "--secrets-dir", "{secrets}"), "is not a plain file name",
         settings={"notifications": [{"name": "chat", "type": "slack", "urlSecret": "../token"}]}),
    Case("secret-without-a-secrets-dir", (*APPLY_WAIT,), "names secret 'chat-url' but no secrets directory is configured",
         settings={"notifications": [{"name": "chat", "type": "slack", "urlSecret": "chat-url"}]}),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_rollout_input_is_one_error_line_exit_2_and_no_write(case, mesh_sandbox, tmp_path: Path):
    settings = {"prometheus": {"url": "http://127.0.0.1:1"}, **case.settings}
    repo = make_repo(tmp_path / "config", namespace=NAMESPACE, services={"cart": "v1"}, policy=fast_policy(**case.policy),
                     settings=settings)
    cluster = Cluster(mesh_sandbox, repo, NAMESPACE)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    token.chmod(case.token_mode)
    writes = len(mesh_sandbox.writes())
    result = cluster.cli(*[part.format(secrets=secrets, token=token) for part in case.command])
    assert result.returncode == ExitCode.INVALID, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and case.error in lines[0], result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert len(mesh_sandbox.writes()) == writes
