"""From `git push` to a finished canary: a bare repository, a signed webhook, `meshops serve`, the sandbox and a real Prometheus.

The config repo is the rollout tests' small one (the example repo's VirtualService and
DestinationRule templates, a fast policy); traffic follows the weights the rollout writes, and the
real Prometheus scrapes it every second.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest

from helpers import Background, http
from meshops.cluster.connect import connect
from meshops.sim.follow import WeightFollower
from meshops.rollout.state import Phase
from meshops.rollout.store import RolloutStore
from rollouts import ENV, fast_policy, make_repo, write_values

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

SECRET = "push-to-rollout-secret"
NAMESPACE = "gitops-push"
RPS = 200.0


def signed_push(origin: Path, after: str, delivery: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"ref": "refs/heads/main", "after": after, "repository": {"clone_url": f"file://{origin}"}}).encode()
    return body, {"Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": delivery,
                  "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}


def runs_done(serve: Background) -> int:
    return sum(1 for line in serve.lines if "reconcile (webhook" in line and " done: " in line)


def wait_for_runs(serve: Background, count: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while runs_done(serve) < count:
        assert time.monotonic() < deadline, serve.output
        time.sleep(0.2)


def test_a_pushed_version_change_is_rolled_out_to_completion(mesh_sandbox, traffic, prometheus, origin, tmp_path):
    import git

    root = make_repo(tmp_path / "config", namespace=NAMESPACE, services={"reviews": "v1"}, policy=fast_policy(),
                     prometheus_url=prometheus.url)
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as writer:
        writer.set_value("user", "name", "meshops tests")
        writer.set_value("user", "email", "tests@meshops.dev")
    repo.git.add(A=True)
    first = repo.index.commit("reviews v1").hexsha
    repo.create_remote("origin", str(origin)).push("main:main")
    mesh_sandbox.core_v1().create_namespace({"metadata": {"name": NAMESPACE}})
    (tmp_path / "secret").write_text(SECRET)

    traffic.set_workload("reviews-v2", namespace=NAMESPACE, service="reviews", version="v2")
    store = RolloutStore.connect(connect(kubeconfig=str(mesh_sandbox.kubeconfig), context="sandbox"))
    follower = WeightFollower(store, traffic, namespace=NAMESPACE, services={"reviews": RPS}).start()
    serve = Background("serve", "--listen", "127.0.0.1:0", "--webhook-secret-file", str(tmp_path / "secret"),
                       "--repo", f"file://{origin}", "--env", ENV, "--kubeconfig", str(mesh_sandbox.kubeconfig),
                       "--context", "sandbox", "--cache-dir", str(tmp_path / "cache"))
    try:
        url = serve.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1) + "/webhook"
        body, headers = signed_push(origin, first, "first")
        assert http("POST", url, body=body, headers=headers)[0] == 202
        wait_for_runs(serve, 1)

        write_values(root, {"reviews": "v2"})
        repo.git.add(A=True)
        second = repo.index.commit("reviews v2").hexsha
        repo.remote("origin").push("main:main")
        body, headers = signed_push(origin, second, "second")
        assert http("POST", url, body=body, headers=headers)[0] == 202
        wait_for_runs(serve, 2)
    finally:
        follower.stop()
        assert serve.stop() == 0, serve.output

    vs = mesh_sandbox.custom_objects().get_namespaced_custom_object("networking.istio.io", "v1", NAMESPACE,
                                                                    "virtualservices", "reviews")
    state = json.loads(vs["metadata"]["annotations"]["meshops.dev/rollout"])
    assert state["phase"] == Phase.SUCCEEDED, state
    assert state["revision"] == second
    (default,) = [rule for rule in vs["spec"]["http"] if rule["name"] == "default"]
    assert [(r["destination"]["subset"], r.get("weight", 100)) for r in default["route"]] == [("v2", 100)]
    assert f"{ENV}: rollout reviews: Promoted" in serve.output
    assert f"{ENV}: applied: {second[:12]} applied" in serve.output and "1 rollouts succeeded" in serve.output
    lease = [o for o in mesh_sandbox.server.objects("coordination.k8s.io", "leases", NAMESPACE)][0]
    assert json.loads(lease["metadata"]["annotations"]["meshops.dev/reconcile"])["phase"] == "Succeeded"
