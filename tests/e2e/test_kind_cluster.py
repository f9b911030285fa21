"""The pipeline against a real cluster (kind + Istio + Prometheus): run by .github/workflows/e2e.yml.

Skipped unless MESHOPS_E2E_CONTEXT names a kubeconfig context of such a cluster (our machines
have no Docker daemon or kube-apiserver, so real-cluster conformance is proven on GitHub's runners).
"""
from __future__ import annotations

import json
import os
import subprocess

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.environ.get("MESHOPS_E2E_CONTEXT"), reason="needs a real cluster: set MESHOPS_E2E_CONTEXT (e2e.yml does)"),
]


@pytest.fixture
def context() -> str:
    return os.environ["MESHOPS_E2E_CONTEXT"]


def kubectl(context: str, *args: str) -> dict:
    done = subprocess.run(["kubectl", "--context", context, *args, "-o", "json"], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_reconcile_applies_dev_to_a_real_cluster_and_records_the_revision(meshops, pushed_example_repo, origin, context, tmp_path):
    result = meshops("reconcile", "--repo", str(origin), "--env", "dev", "--context", context,
                     "--cache-dir", str(tmp_path / "cache"), "-o", "json", timeout=600)
    assert result.returncode == 0, result.stderr
    head = pushed_example_repo.head.commit.hexsha
    vs = kubectl(context, "-n", "bookinfo", "get", "virtualservices.networking.istio.io", "reviews")
    assert vs["metadata"]["annotations"]["meshops.dev/revision"] == head
    root = pushed_example_repo.git.rev_list("--first-parent", "--max-parents=0", "HEAD")[:12]
    assert vs["metadata"]["annotations"]["meshops.dev/owner"] == f"{root}/dev"  # the repository's root commit
    lease = kubectl(context, "-n", "bookinfo", "get", "leases.coordination.k8s.io", "meshops-dev")
    assert lease["metadata"]["annotations"]["meshops.dev/revision"] == head
    again = meshops("reconcile", "--repo", str(origin), "--env", "dev", "--context", context, "--cache-dir", str(tmp_path / "cache"))
    assert again.returncode == 0 and "dev: skipped: already at" in again.stderr


def test_diff_is_clean_after_reconcile(meshops, pushed_example_repo, origin, context, tmp_path):
    assert meshops("reconcile", "--repo", str(origin), "--env", "dev", "--context", context,
                   "--cache-dir", str(tmp_path / "cache"), timeout=600).returncode == 0
    diff = meshops("diff", "--env", "dev", "--repo", pushed_example_repo.working_tree_dir, "--context", context)
    assert diff.returncode == 0, diff.stdout
