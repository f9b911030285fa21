"""meshops serve end to end: a push to a real bare repository, a signed delivery, a reconcile in the sandbox.

`meshops serve` runs as a subprocess (the real CLI); the sandbox API server runs in the test.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from helpers import REPO_ROOT, Background, commit_and_push, http

SECRET = "9f2c-serve-test-secret"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "webhook-secret"
    path.write_text(SECRET + "\n")
    return path


@pytest.fixture
def serve(mesh_sandbox, pushed_example_repo, origin, secret_file, tmp_path):
    """`meshops serve` for dev of the example repo, pushed to `origin`, against the sandbox."""
    process = Background("serve", "--listen", "127.0.0.1:0", "--webhook-secret-file", str(secret_file),
                         "--repo", f"file://{origin}", "--branch", "main", "--env", "dev",
                         "--kubeconfig", str(mesh_sandbox.kubeconfig), "--context", "sandbox",
                         "--cache-dir", str(tmp_path / "cache"))
    process.url = process.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
    yield process
    assert process.stop() == 0, process.output
    assert SECRET not in process.output


def delivery(*, after: str, origin: Path, ref: str = "refs/heads/main", delivery_id: str, event: str = "push",
             secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"ref": ref, "after": after, "repository": {"clone_url": f"file://{origin}"}}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-GitHub-Event": event, "X-GitHub-Delivery": delivery_id,
                  "X-Hub-Signature-256": signature}


def post(serve, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    status, answer = http("POST", serve.url + "/webhook", body=body, headers=headers)
    return status, json.loads(answer)


def metric(serve, name: str, **labels: str) -> float:
    """The value of one sample from /metrics (0 when absent)."""
    status, text = http("GET", serve.url + "/metrics")
    assert status == 200
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def wait_for_runs(serve, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while sum(metric(serve, "meshops_reconcile_runs_total", result=r) for r in ("ok", "failed", "error")) < count:
        assert time.monotonic() < deadline, serve.output
        time.sleep(0.1)


def reviews_default_route(mesh_sandbox) -> list[tuple[str, int]]:
    vs = mesh_sandbox.custom_objects().get_namespaced_custom_object("networking.istio.io", "v1", "bookinfo",
                                                                    "virtualservices", "reviews")
    (rule,) = [r for r in vs["spec"]["http"] if r.get("name") == "default"]
    return [(route["destination"]["subset"], route.get("weight", 100)) for route in rule["route"]]


def switch_reviews_version(repo, version: str) -> str:
    values = Path(repo.working_tree_dir) / "environments/base/values.yaml"
    text = values.read_text().replace("  reviews:\n    port: 9080\n    version: v1\n", f"  reviews:\n    port: 9080\n    version: {version}\n")
    return commit_and_push(repo, {"environments/base/values.yaml": text}, f"reviews {version}")


def test_a_signed_push_delivery_reconciles_the_pushed_revision(serve, mesh_sandbox, pushed_example_repo, origin):
    first = pushed_example_repo.head.commit.hexsha
    assert post(serve, *delivery(after=first, origin=origin, delivery_id="d-1"))[0] == 202
    wait_for_runs(serve, 1)
    assert reviews_default_route(mesh_sandbox) == [("v1", 80), ("v3", 20)]
    second = switch_reviews_version(pushed_example_repo, "v2")
    status, answer = post(serve, *delivery(after=second, origin=origin, delivery_id="d-2"))
    assert status == 202 and answer["status"] == "accepted"
    wait_for_runs(serve, 2)
    assert reviews_default_route(mesh_sandbox) == [("v2", 80), ("v3", 20)]
    lease = mesh_sandbox.server.objects("coordination.k8s.io", "leases", "bookinfo")[0]
    assert lease["metadata"]["annotations"]["meshops.dev/revision"] == second
    assert "dev: reconciling: environments/base/values.yaml changed since" in serve.output
    assert metric(serve, "meshops_reconciles_total", environment="dev", outcome="applied") == 2
    assert metric(serve, "meshops_reconcile_duration_seconds_count", environment="dev") == 2


def test_deliveries_that_must_not_reconcile_get_their_status_and_touch_nothing(serve, mesh_sandbox, pushed_example_repo, origin):
    head = pushed_example_repo.head.commit.hexsha
    body, headers = delivery(after=head, origin=origin, delivery_id="bad-1")
    unsigned = {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}
    cases = [
        ("wrong signature", body, {**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64}, 403),
        ("missing signature", body, unsigned, 401),
        ("signed, not JSON", b"not json", {**headers, "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), b"not json", hashlib.sha256).hexdigest()}, 400),
        ("another branch", *delivery(after=head, origin=origin, ref="refs/heads/feature", delivery_id="bad-2"), 200),
        ("not a push", *delivery(after=head, origin=origin, event="issues", delivery_id="bad-3"), 200),
    ]
    for name, case_body, case_headers, expected in cases:
        status, answer = post(serve, case_body, case_headers)
        assert status == expected, (name, answer)
    time.sleep(1.0)  # long enough for a wrongly queued reconcile to have reached the cluster (a run takes <1 s to its first request)
    assert mesh_sandbox.server.log.entries() == []
    assert metric(serve, "meshops_webhook_deliveries_total", result="accepted") == 0
    assert metric(serve, "meshops_webhook_deliveries_total", result="bad_signature") == 1
    assert metric(serve, "meshops_webhook_deliveries_total", result="unauthorized") == 1
    assert metric(serve, "meshops_webhook_deliveries_total", result="ignored") == 2
    rejected = [line for line in serve.lines if "webhook: 4" in line]
    assert len(rejected) == 3, serve.output  # one log line per refused delivery
    # The same process still reconciles a good delivery: the checks above could have failed.
    assert post(serve, *delivery(after=head, origin=origin, delivery_id="good-1"))[0] == 202
    wait_for_runs(serve, 1)
    assert mesh_sandbox.writes()


def test_a_replayed_delivery_is_acknowledged_and_not_reconciled_again(serve, mesh_sandbox, pushed_example_repo, origin):
    body, headers = delivery(after=pushed_example_repo.head.commit.hexsha, origin=origin, delivery_id="once")
    assert post(serve, body, headers)[0] == 202
    wait_for_runs(serve, 1)
    mesh_sandbox.server.log.clear()
    status, answer = post(serve, body, headers)
    assert (status, answer["status"]) == (200, "duplicate")
    time.sleep(1.0)
    assert mesh_sandbox.server.log.entries() == []
    assert metric(serve, "meshops_reconcile_runs_total", trigger="webhook", result="ok") == 1


def test_health_and_metrics_endpoints_answer(serve):
    assert http("GET", serve.url + "/healthz") == (200, b'{"status": "ok"}\n')
    assert http("GET", serve.url + "/webhook")[0] == 405
    assert http("GET", serve.url + "/nope")[0] == 404
    names = {family.name for family in text_string_to_metric_families(http("GET", serve.url + "/metrics")[1].decode())}
    assert {"meshops_webhook_deliveries", "meshops_reconcile_runs", "meshops_reconciles", "meshops_reconcile_failures",
            "meshops_reconcile_duration_seconds", "meshops_rollout_phase"} <= names


def test_the_post_receive_hook_sends_a_signed_push_that_reconciles(serve, mesh_sandbox, pushed_example_repo, origin, secret_file):
    hook = origin / "hooks" / "post-receive"
    hook.write_text((REPO_ROOT / "contrib" / "post-receive").read_text())
    hook.chmod(0o755)
    subprocess.run(["git", "config", "meshops.url", serve.url + "/webhook"], cwd=origin, check=True)
    subprocess.run(["git", "config", "meshops.secretFile", str(secret_file)], cwd=origin, check=True)
    pushed = switch_reviews_version(pushed_example_repo, "v2")
    wait_for_runs(serve, 1)
    assert reviews_default_route(mesh_sandbox) == [("v2", 80), ("v3", 20)]
    lease = mesh_sandbox.server.objects("coordination.k8s.io", "leases", "bookinfo")[0]
    assert lease["metadata"]["annotations"]["meshops.dev/revision"] == pushed


@pytest.mark.parametrize("secret_text, message", [
    (None, "Missing option '--webhook-secret-file'"),
    ("\n", "is empty"),
])
def test_serve_refuses_to_start_without_a_secret(meshops, tmp_path, secret_text, message):
    args = ["serve", "--listen", "127.0.0.1:0", "--repo", str(tmp_path)]
    if secret_text is not None:
        (tmp_path / "secret").write_text(secret_text)
        args += ["--webhook-secret-file", str(tmp_path / "secret")]
    result = meshops(*args, timeout=30)
    assert result.returncode == 2 and message in result.stderr
    assert "listening" not in result.stderr
