"""Run the official kubernetes Python client's end-to-end suite, unchanged, against a fresh sandbox.

    .venv/bin/python tests/conformance/run_client_e2e.py [SUITE_DIR] [--with-pods] [--timeout SECONDS]

SUITE_DIR is a copy of kubernetes-client/python's `kubernetes/e2e_test/` (default: $MESHOPS_CLIENT_E2E,
else `k8s-client-e2e` in $MESHOPS_SHARED_DIR, else `../shared/k8s-client-e2e` beside this repository
or beside the folder holding it, for worktrees). Nothing is fetched. The script starts a
`SandboxServer` in this process, writes its admin kubeconfig, copies the suite to a temporary
`<dir>/kubernetes/e2e_test/` with a `conftest.py` that only extends `kubernetes.__path__` (so the
tests' `from kubernetes.e2e_test import base` works) and bounds each test's time, runs pytest there
with KUBECONFIG set, and prints the counts and every failure with its first line.

Tests that wait for a pod to run (exec, port-forward, metrics) cannot pass without a kubelet; they are
deselected unless `--with-pods` is given (then they fail at the per-test timeout instead of hanging).
This is a measuring tool, not a test: the pytest suite does not run it.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def default_suite() -> Path:
    explicit = os.environ.get("MESHOPS_CLIENT_E2E")
    if explicit:
        return Path(explicit)
    shared = [os.environ.get("MESHOPS_SHARED_DIR"), REPO_ROOT.parent / "shared", REPO_ROOT.parent.parent / "shared"]
    for candidate in shared:
        if candidate and (Path(candidate) / "k8s-client-e2e").is_dir():
            return Path(candidate) / "k8s-client-e2e"
    return REPO_ROOT.parent / "shared" / "k8s-client-e2e"

# Tests that need a kubelet running pods (node id -> why); deselected unless --with-pods.
NEEDS_RUNNING_PODS = {
    "test_client.py::TestClient::test_pod_apis": "waits for a pod to leave Pending, then execs into it",
    "test_client.py::TestClient::test_exit_code": "waits for a pod to be Running, then execs into it",
    "test_client.py::TestClient::test_pod_exec_close_channel": "waits for a pod to be Running, then execs into it",
    "test_client.py::TestClient::test_portforward_raw": "port-forwards to a running pod",
    "test_client.py::TestClient::test_portforward_http": "port-forwards to a running nginx pod",
    "test_utils.py::TestUtils::test_metrics_utilities_integration": "needs a running pod and metrics-server",
}

# Written next to the copied suite: a path shim and a per-test time limit, nothing that asserts.
CONFTEST = '''
import os
import signal

import kubernetes
import pytest

kubernetes.__path__.append(os.path.join(os.path.dirname(__file__), "kubernetes"))
LIMIT = int(os.environ.get("E2E_TEST_TIMEOUT", "60"))


def _expired(signum, frame):
    raise TimeoutError(f"test still running after {LIMIT} s")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    signal.signal(signal.SIGALRM, _expired)
    signal.alarm(LIMIT)
    try:
        yield
    finally:
        signal.alarm(0)
'''


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", nargs="?", type=Path, default=default_suite(),
                        help="the e2e_test folder of kubernetes-client/python")
    parser.add_argument("--with-pods", action="store_true", help="also run the tests that need running pods")
    parser.add_argument("--timeout", type=int, default=60, help="seconds one test may take")
    return parser.parse_args()


def _results(report: Path) -> list[tuple[str, str, str]]:
    """(test id, outcome, first line of the failure) from pytest's JUnit XML."""
    results = []
    for case in ElementTree.parse(report).iter("testcase"):
        test_id = f"{case.get('classname', '').rpartition('.')[2]}::{case.get('name')}"
        outcome, detail = "passed", ""
        for tag in ("failure", "error", "skipped"):
            element = case.find(tag)
            if element is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                detail = (element.get("message") or element.text or "").strip().splitlines()[0][:200] if (
                    element.get("message") or element.text) else ""
                break
        results.append((test_id, outcome, detail))
    return results


def main() -> int:
    args = _arguments()
    if not (args.suite / "base.py").is_file():
        print(f"error: no e2e suite at {args.suite} (give its path, or set MESHOPS_CLIENT_E2E)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPO_ROOT))
    from meshops.sandbox import SandboxServer

    with tempfile.TemporaryDirectory(prefix="client-e2e-") as workdir, SandboxServer() as server:
        work = Path(workdir)
        shutil.copytree(args.suite, work / "kubernetes" / "e2e_test")
        (work / "conftest.py").write_text(CONFTEST)
        kubeconfig = server.write_kubeconfig(work / "kubeconfig")
        report = work / "report.xml"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                   "kubernetes/e2e_test"]
        if not args.with_pods:
            command += [f"--deselect=kubernetes/e2e_test/{test}" for test in NEEDS_RUNNING_PODS]
        environment = {**os.environ, "KUBECONFIG": str(kubeconfig), "E2E_TEST_TIMEOUT": str(args.timeout)}
        completed = subprocess.run(command, cwd=work, env=environment, capture_output=True, text=True)
        if not report.exists():
            print(completed.stdout[-3000:], completed.stderr[-3000:], sep="\n")
            return 2
        results = _results(report)
        internal_errors = list(server.internal_errors)
    counts = {outcome: sum(1 for _, o, _ in results if o == outcome) for outcome in ("passed", "failed", "error",
                                                                                       "skipped")}
    deselected = 0 if args.with_pods else len(NEEDS_RUNNING_PODS)
    print(f"kubernetes client e2e suite against the sandbox ({args.suite}):")
    print(f"  {len(results) + deselected} tests: {counts['passed']} passed, {counts['failed']} failed, "
          f"{counts['error']} errors, {counts['skipped']} skipped, {deselected} deselected (need running pods)")
    for test_id, outcome, detail in results:
        if outcome != "passed":
            print(f"  {outcome.upper():8} {test_id}: {detail}")
    if not args.with_pods:
        for test_id, why in NEEDS_RUNNING_PODS.items():
            print(f"  NOT RUN  {test_id}: {why}")
    for error in internal_errors:
        print("sandbox internal error:\n" + error)
    print(f"{counts['passed']} passed, {counts['failed'] + counts['error']} failed, {counts['skipped']} skipped")
    return 0 if counts["failed"] == counts["error"] == 0 and not internal_errors else 1


if __name__ == "__main__":
    sys.exit(main())
