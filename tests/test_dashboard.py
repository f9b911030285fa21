"""The dashboard over HTTP: what every answer carries, who may see it, that it only reads, and what the plan shows.

`meshops dashboard` (and `meshops serve`) run as subprocesses against the sandbox, with config
repos committed in temp dirs; the tests speak plain HTTP to them.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from helpers import Background, commit_all, http, run_meshops
from rollouts import ENV, make_repo, write_values

TOKEN = "dashboard-token-7f3a"
WRITE_VERBS = ("create", "update", "patch", "delete")


def start_dashboard(repo: Path, kubeconfig: Path, tmp_path: Path, *extra: str) -> Background:
    process = Background("dashboard", "--repo", str(repo), "--listen", "127.0.0.1:0", "--kubeconfig", str(kubeconfig),
                         "--context", "sandbox", "--cache-dir", str(tmp_path / "cache"), *extra)
    process.url = process.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
    return process


@pytest.fixture
def team_dashboard(sandbox, sandbox_kubeconfig, team_repo, tmp_path):
    """The team repo reconciled into the sandbox, and `meshops dashboard` over it."""
    root = Path(team_repo.working_tree_dir)
    done = run_meshops("reconcile", "--repo", str(root), "--all", "--kubeconfig", str(sandbox_kubeconfig), "--context", "sandbox",
                       "--cache-dir", str(tmp_path / "cache"))
    assert done.returncode == 0, done.stdout + done.stderr
    process = start_dashboard(root, sandbox_kubeconfig, tmp_path)
    yield process
    process.stop()


def get(url: str, **headers: str) -> tuple[int, bytes, dict[str, str]]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def test_every_answer_carries_a_content_security_policy_that_allows_no_inline_script(team_dashboard):
    for path, status in (("/", 200), ("/static/dashboard.js", 200), ("/environments/nope/default/plan", 404),
                         ("/rollouts/dev/default/team-dev/nothing", 404)):
        code, _, headers = get(team_dashboard.url + path)
        assert code == status, path
        policy = headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy, path
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["Cache-Control"] == "no-store"


def test_the_environments_page_lists_each_environment_with_its_applied_revision_and_last_reconcile(team_dashboard, team_repo):
    code, body, _ = get(team_dashboard.url + "/")
    page = body.decode()
    assert code == 200
    assert page.index('id="env-dev-default"') < page.index('id="env-staging-default"') < page.index('id="env-prod-default"')
    assert page.count("Succeeded") == 3 and page.count(f"applied <code class=\"revision\">{team_repo.head.commit.hexsha[:12]}") == 3
    assert page.count('data-drift="in-sync"') == 3 and "promoted after staging" in page


def test_a_live_refresh_gets_only_the_live_block(team_dashboard):
    code, body, _ = get(team_dashboard.url + "/?fragment=1")
    assert code == 200
    assert body.lstrip().startswith(b"<section") and b"<html" not in body and b'id="env-dev-default"' in body


def test_the_dashboard_only_reads_the_cluster(team_dashboard, sandbox):
    sandbox.log.clear()
    for path in ("/", "/environments/dev/default/plan", "/environments/dev/default/plan.md"):
        assert get(team_dashboard.url + path)[0] == 200, path
    verbs = {entry.verb for entry in sandbox.log.entries()}
    assert verbs and not verbs & set(WRITE_VERBS), verbs


def test_a_cluster_that_cannot_be_reached_is_a_row_that_says_why(sandbox_kubeconfig, team_repo, tmp_path):
    process = start_dashboard(Path(team_repo.working_tree_dir), sandbox_kubeconfig, tmp_path, "--context", "no-such-context")
    try:
        code, body, _ = get(process.url + "/")
    finally:
        process.stop()
    assert code == 200
    page = body.decode()
    assert page.count('data-status="unreachable"') == 3 and "no-such-context" in page


def test_with_a_token_every_page_asks_for_it_as_a_bearer_or_basic_password(sandbox, sandbox_kubeconfig, team_repo, tmp_path):
    (tmp_path / "token").write_text(TOKEN + "\n")
    process = start_dashboard(Path(team_repo.working_tree_dir), sandbox_kubeconfig, tmp_path, "--token-file", str(tmp_path / "token"))
    basic = base64.b64encode(f"anyone:{TOKEN}".encode()).decode()
    try:
        refused, body, headers = get(process.url + "/")
        wrong = get(process.url + "/static/dashboard.css", Authorization="Bearer not-the-token")[0]
        bearer, page, _ = get(process.url + "/", Authorization=f"Bearer {TOKEN}")
        browser = get(process.url + "/", Authorization=f"Basic {basic}")[0]
        health = http("GET", process.url + "/healthz")[0]
    finally:
        process.stop()
    assert (refused, wrong, bearer, browser, health) == (401, 401, 200, 200, 200)
    assert headers["WWW-Authenticate"].startswith('Basic realm="meshops dashboard"')
    assert TOKEN.encode() not in body + page and TOKEN not in process.output


def test_serve_without_the_dashboard_answers_get_slash_as_before(sandbox_kubeconfig, team_repo, origin, tmp_path):
    (tmp_path / "secret").write_text("s3cret")
    process = Background("serve", "--listen", "127.0.0.1:0", "--webhook-secret-file", str(tmp_path / "secret"), "--repo",
                         f"file://{origin}", "--all", "--kubeconfig", str(sandbox_kubeconfig), "--no-dashboard")
    try:
        url = process.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        assert http("GET", url + "/")[0] == 405
    finally:
        assert process.stop() == 0, process.output


SECRET_TEMPLATE = """apiVersion: v1
kind: Secret
metadata:
  name: api-key
  namespace: {{ environment.namespace }}
stringData:
  key: {{ values.apiKey | to_json }}
"""


@pytest.fixture
def planned(mesh_sandbox, tmp_path):
    """A rollout repo applied once, then changed: a canary split in git and a new Secret value."""
    root = make_repo(tmp_path / "config", namespace="dashboard-plan", services={"reviews": "v1"}, policy={})
    (root / "templates" / "secret.yaml.j2").write_text(SECRET_TEMPLATE)
    (root / "environments" / ENV / "values.yaml").write_text(json.dumps({"apiKey": "first-secret-value"}) + "\n")
    mesh_sandbox.core_v1().create_namespace({"metadata": {"name": "dashboard-plan"}})
    commit_all(root, "applied")
    cluster = ["--repo", str(root), "--env", ENV, "--kubeconfig", str(mesh_sandbox.kubeconfig), "--context", "sandbox"]
    applied = run_meshops("apply", "--yes", *cluster)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    write_values(root, {"reviews": "v1"}, canaries={"reviews": {"version": "v2", "weight": 20}})
    (root / "environments" / ENV / "values.yaml").write_text(json.dumps({"apiKey": "second-secret-value"}) + "\n")
    commit_all(root, "canary by hand, new key")
    process = start_dashboard(root, mesh_sandbox.kubeconfig, tmp_path)
    yield process, cluster
    process.stop()


def test_the_plan_page_is_the_markdown_diff_with_the_route_summary_first(planned):
    process, cluster = planned
    code, markdown, headers = get(process.url + f"/environments/{ENV}/default/plan.md")
    assert code == 200 and headers["Content-Type"].startswith("text/markdown")
    assert markdown.decode() == run_meshops("diff", *cluster, "-o", "markdown").stdout
    code, body, _ = get(process.url + f"/environments/{ENV}/default/plan")
    page = body.decode()
    assert code == 200
    route = page.index("reviews: v1 100→80, v2 –→20")
    assert route < page.index('<table class="changes">') < page.index('<pre class="diff">')


def test_the_plan_page_never_shows_a_secret_value(planned):
    process, _ = planned
    page = get(process.url + f"/environments/{ENV}/default/plan")[1].decode()
    assert "Secret dashboard-plan/api-key" in page and "***" in page
    assert "first-secret-value" not in page and "second-secret-value" not in page
    overview = get(process.url + "/")[1].decode()
    assert "api-key" in overview and "secret-value" not in overview


def test_rollout_report_needs_the_environment_and_the_service(tmp_path):
    result = run_meshops("rollout", "report", "reviews", "--html", str(tmp_path / "r.html"))
    assert result.returncode == 2 and result.stderr.startswith("error: name the environment and the service")
    assert not (tmp_path / "r.html").exists()


def test_rollout_report_of_a_service_without_a_rollout_says_so_and_writes_nothing(planned, tmp_path):
    _, cluster = planned
    result = run_meshops("rollout", "report", ENV, "reviews", "--html", str(tmp_path / "r.html"), *cluster[:2], *cluster[4:])
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no rollout of 'reviews' in environment test" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_a_new_commit_is_fetched_in_the_background_once_the_head_is_older_than_refetch(team_repo, tmp_path):
    import time

    from helpers import commit_and_push
    from meshops.dashboard.sources import Origin, Sources

    now = [1000.0]
    sources = Sources(Origin(repo=str(Path(team_repo.working_tree_dir)), cache_dir=str(tmp_path / "cache"), refetch=30),
                      clock=lambda: now[0])
    first = sources.head().revision
    second = commit_and_push(team_repo, {"environments/base/values.yaml": "message: again\n"}, "again")
    now[0] += 10
    assert sources.head().revision == first  # within refetch: no fetch at all
    now[0] += 30
    assert sources.head().revision == first  # stale: this answer is the last head; a fetch starts behind it
    deadline = time.monotonic() + 20
    while sources.head().revision != second:
        assert time.monotonic() < deadline, "the background fetch never landed"
        time.sleep(0.05)
