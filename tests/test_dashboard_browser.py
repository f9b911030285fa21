"""The dashboard in a real headless Chromium, against `meshops serve` on the sandbox (and a real Prometheus).

Each test starts `meshops serve` as a subprocess, reconciles through a signed push to a real bare
repository, and watches the pages update without a reload while the cluster changes: a
`kubectl patch` becomes drift; a canary walks its steps and is rolled back. Screenshots of both
pages (1280×800) go to the artifacts folder (`tests/browser.py`).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from browser import artifacts_dir, chromium, chromium_paths, screenshot, wait_until
from helpers import Background, commit_all, http, run_meshops, signed_push
from meshops.cluster.connect import connect
from meshops.rollout.store import RolloutStore
from meshops.sim.follow import WeightFollower
from rollouts import ENV, fast_policy, make_repo, write_values
from xss import PAYLOAD, plant, xss_repo

pytestmark = pytest.mark.slow

SECRET = "dashboard-browser-secret"
KUBECTL = "/usr/bin/kubectl"
# JavaScript that reads a DOM attribute without failing while the live block is being swapped.
ATTRIBUTE = "var e = document.getElementById(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;"


@pytest.fixture(scope="module")
def browser():
    found = chromium_paths()
    if isinstance(found, str):
        pytest.skip(found)
    pytest.importorskip("selenium", reason="browser test: pip install -e '.[test]' installs Selenium")
    with chromium(*found) as session:
        yield session


def serve(*, origin: Path, kubeconfig: Path, tmp_path: Path, environments: tuple[str, ...]) -> Background:
    (tmp_path / "secret").write_text(SECRET)
    selection = [arg for env in environments for arg in ("--env", env)] or ["--all"]
    process = Background("serve", "--listen", "127.0.0.1:0", "--webhook-secret-file", str(tmp_path / "secret"),
                         "--repo", f"file://{origin}", *selection, "--kubeconfig", str(kubeconfig), "--context", "sandbox",
                         "--cache-dir", str(tmp_path / "cache"))
    process.url = process.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
    return process


def push(process: Background, origin: Path, after: str, delivery: str) -> None:
    body, headers = signed_push(origin=origin, after=after, delivery_id=delivery, secret=SECRET)
    assert http("POST", process.url + "/webhook", body=body, headers=headers)[0] == 202


def reconciled(process: Background, count: int, timeout: float = 60.0) -> None:
    wait_until(lambda: sum(1 for line in process.lines if " done: " in line) >= count, timeout=timeout,
               what=f"{count} reconciles in:\n{process.output}")


def test_the_environments_page_shows_drift_after_a_kubectl_patch_without_a_reload(browser, sandbox, sandbox_kubeconfig,
                                                                                  team_repo, origin, tmp_path):
    server = serve(origin=origin, kubeconfig=sandbox_kubeconfig, tmp_path=tmp_path, environments=())
    try:
        push(server, origin, team_repo.head.commit.hexsha, "first")
        reconciled(server, 1)
        browser.get(server.url + "/")
        wait_until(lambda: browser.execute_script(ATTRIBUTE, "env-dev-default", "data-status") == "in-sync",
                   timeout=15, what="dev in sync")
        stages = [element.text.split("\n")[0] for element in browser.find_elements("css selector", ".promotion .stage")]
        assert stages == ["dev", "staging", "prod"]
        browser.execute_script("window.meshopsTestMarker = 'no reload';")

        patched = subprocess.run([KUBECTL, "--kubeconfig", str(sandbox_kubeconfig), "--context", "sandbox", "-n", "team-dev",
                                  "patch", "configmap", "settings", "--type", "merge", "-p", '{"data":{"message":"by hand"}}'],
                                 capture_output=True, text=True)
        assert patched.returncode == 0, patched.stderr

        wait_until(lambda: browser.execute_script(ATTRIBUTE, "env-dev-default", "data-status") == "drifted",
                   timeout=20, what="dev drifted on the page")
        card = browser.find_element("id", "env-dev-default").text
        assert "1 object differs from the applied" in card and "update ConfigMap team-dev/settings" in card
        assert "/data/message" in card
        assert browser.execute_script("return window.meshopsTestMarker") == "no reload"
        assert browser.execute_script(ATTRIBUTE, "env-staging-default", "data-status") == "in-sync"
        screenshot(browser, "dashboard-environments.png")
    finally:
        assert server.stop() == 0, server.output


NAMESPACE = "dashboard-canary"
RPS = 200.0


@pytest.fixture(scope="module")
def mesh(tmp_path_factory):
    """The sandbox with Istio's CRDs, shared by the tests that read one rollout (module-scoped)."""
    from meshops.sandbox import SandboxServer
    from meshops.validate.schemas import shipped_crds

    server = SandboxServer().start()
    try:
        server.install_crds(shipped_crds())
        server.kubeconfig = server.write_kubeconfig(tmp_path_factory.mktemp("mesh") / "kubeconfig")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def rolled_back(browser, mesh, traffic, prometheus, tmp_path_factory):
    """A canary pushed through `meshops serve`, watched on its page from start to rollback."""
    import git

    tmp_path = tmp_path_factory.mktemp("canary")
    origin = tmp_path / "origin.git"
    git.Repo.init(origin, bare=True, initial_branch="main")
    policy = fast_policy(steps=[20, 50, 80], threshold=1)
    root = make_repo(tmp_path / "config", namespace=NAMESPACE, services={"reviews": "v1"}, policy=policy,
                     prometheus_url=prometheus.url)
    repo = commit_all(root, "reviews v1")
    first = repo.head.commit.hexsha
    repo.create_remote("origin", str(origin)).push("main:main")
    mesh.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    for version in ("v1", "v2"):
        traffic.set_workload(f"reviews-{version}", namespace=NAMESPACE, service="reviews", version=version, error_share=0.0)
    store = RolloutStore.connect(connect(kubeconfig=str(mesh.kubeconfig), context="sandbox"))
    follower = WeightFollower(store, traffic, namespace=NAMESPACE, services={"reviews": RPS}).start()
    server = serve(origin=origin, kubeconfig=mesh.kubeconfig, tmp_path=tmp_path, environments=(ENV,))
    seen: list[int] = []
    try:
        push(server, origin, first, "first")
        reconciled(server, 1)
        write_values(root, {"reviews": "v2"})
        repo.git.add(A=True)
        second = repo.index.commit("reviews v2").hexsha
        repo.remote("origin").push("main:main")
        push(server, origin, second, "second")
        page = f"{server.url}/rollouts/{ENV}/default/{NAMESPACE}/reviews"
        wait_until(lambda: http("GET", page)[0] == 200, timeout=30, what="the rollout page")
        browser.get(page)
        browser.execute_script("window.meshopsTestMarker = 'no reload';")

        def watch() -> bool:
            weight = browser.execute_script(ATTRIBUTE, "canary-weight", "data-weight")
            if weight is not None and (not seen or seen[-1] != int(weight)):
                seen.append(int(weight))
                if int(weight) == 50:  # the canary goes bad at its second step
                    traffic.set_workload("reviews-v2", namespace=NAMESPACE, error_share=0.5)
            return browser.execute_script(ATTRIBUTE, "rollout-phase", "class") == "badge phase-failed"

        wait_until(watch, timeout=60, what=f"the rollback on the page (weights seen {seen})", every=0.25)
        shot = screenshot(browser, "dashboard-rollout.png")
        report = artifacts_dir() / "rollout-report.html"
        made = run_meshops("rollout", "report", ENV, "reviews", "--html", str(report), "--repo", str(root),
                           "--kubeconfig", str(mesh.kubeconfig), "--context", "sandbox", timeout=60)
        yield {"seen": seen, "message": browser.find_element("id", "rollout-message").text,
               "marker": browser.execute_script("return window.meshopsTestMarker"), "screenshot": shot,
               "decisions": browser.find_element("id", "decisions").text, "report": report, "made": made,
               "chart": browser.find_element("css selector", "svg.chart").get_attribute("outerHTML")}
    finally:
        follower.stop()
        assert server.stop() == 0, server.output


def test_the_rollout_page_shows_the_weight_moving_step_by_step_without_a_reload(rolled_back):
    seen = rolled_back["seen"]
    assert [weight for weight in seen if weight in (20, 50)] == [20, 50], seen
    assert seen[-1] == 0, seen  # rolled back: the stable version has it all again
    assert rolled_back["marker"] == "no reload"


def test_the_rollout_page_says_why_the_canary_was_rolled_back(rolled_back):
    message = rolled_back["message"]
    assert message.startswith("rolled back to v1 after 1 failed analyses"), message
    assert "success-rate: success rate" in message and "< min 99%" in message
    assert "rolled back" in rolled_back["decisions"] and "advanced" in rolled_back["decisions"]


def test_the_rollout_chart_draws_measured_metrics_and_marks_every_decision(rolled_back):
    chart = rolled_back["chart"]
    assert chart.count('class="line canary"') == 3  # weight, success rate, latency
    assert 'class="mark rollback"' in chart and chart.count('class="mark advance"') >= 2
    assert 'class="threshold"' in chart and "min 99%" in chart


def test_rollout_report_writes_the_same_chart_as_one_standalone_html_file(rolled_back):
    made = rolled_back["made"]
    assert made.returncode == 0, made.stdout + made.stderr
    html = rolled_back["report"].read_text()
    assert "<script" not in html and "<link" not in html and "src=" not in html
    policy = html.split('http-equiv="Content-Security-Policy" content="', 1)[1].split('"', 1)[0]
    assert policy.startswith("default-src 'none'; style-src 'sha256-")
    assert 'class="mark rollback"' in html and "rolled back to v1 after 1 failed analyses" in html
    assert html.count('class="line canary"') == 3


def test_the_screenshots_are_1280_by_800(rolled_back):
    header = rolled_back["screenshot"].read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")) == (1280, 800)


def test_markup_in_names_annotations_and_values_is_shown_as_text_and_never_runs(browser, mesh_sandbox, tmp_path):
    repo = xss_repo(tmp_path / "config")
    plant(mesh_sandbox)
    dashboard = Background("dashboard", "--repo", str(repo), "--listen", "127.0.0.1:0", "--kubeconfig",
                        str(mesh_sandbox.kubeconfig), "--context", "sandbox", "--cache-dir", str(tmp_path / "cache"),
                        "--prometheus-url", "http://127.0.0.1:1")
    try:
        url = dashboard.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        pages = ("/", "/environments/xss/default/plan", "/rollouts/xss/default/xss/reviews")
        for path in pages:
            browser.get(url + path)
            wait_until(lambda: "updated" in browser.find_element("id", "live-status").text or path.endswith("plan"),
                       timeout=10, what=f"a live refresh of {path}")
            assert browser.execute_script("return typeof window.meshopsPwned") == "undefined", path
            assert PAYLOAD in browser.find_element("tag name", "main").text, path
    finally:
        dashboard.stop()
