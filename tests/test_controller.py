"""meshops controller: two replicas (subprocesses) against one sandbox (in the test); one leads at a time."""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from helpers import Background, commit_and_push, http, wait_until

LEASE_SECONDS = 3.0
RETRY_SECONDS = LEASE_SECONDS / 5  # the elector's default retry period


def holder(sandbox) -> str | None:
    leases = [o for o in sandbox.objects("coordination.k8s.io", "leases", "default") if o["metadata"]["name"] == "meshops-controller"]
    return leases[0]["spec"].get("holderIdentity") if leases else None



@pytest.fixture
def controllers(sandbox, team_repo, origin, tmp_path):
    """Start `meshops controller` replicas by identity; all are stopped at the end."""
    kubeconfig = sandbox.write_kubeconfig(tmp_path / "kubeconfig")
    (tmp_path / "secret").write_text("controller-secret\n")
    started: dict[str, Background] = {}

    def start(identity: str) -> Background:
        process = Background("controller", "--identity", identity, "--listen", "127.0.0.1:0", "--repo", str(origin),
                             "--env", "dev", "--interval", "1s", "--leader-lease-duration", f"{LEASE_SECONDS:g}s",
                             "--leader-namespace", "default", "--kubeconfig", str(kubeconfig), "--context", "sandbox",
                             "--webhook-secret-file", str(tmp_path / "secret"), "--cache-dir", str(tmp_path / f"cache-{identity}"))
        process.url = process.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        started[identity] = process
        return process

    yield start
    for process in started.values():
        process.stop()


def ready(process: Background) -> bool:
    return http("GET", process.url + "/readyz")[0] == 200


def test_exactly_one_replica_leads_and_only_it_reconciles(controllers, sandbox, team_repo):
    alpha, beta = controllers("alpha"), controllers("beta")
    leader_name = wait_until(lambda: holder(sandbox), 20, "a leader")
    leader, follower = (alpha, beta) if leader_name == "alpha" else (beta, alpha)
    leader.wait_for(r"dev: applied: ")
    time.sleep(2 * RETRY_SECONDS)  # the follower has had its chances to take the lease by now
    assert holder(sandbox) == leader_name
    assert (ready(leader), ready(follower)) == (True, False)
    assert "became leader" not in follower.output and "reconcile of" not in follower.output
    assert f"leader is {leader_name}" in follower.output
    dev_lease = [o for o in sandbox.objects("coordination.k8s.io", "leases", "team-dev")][0]
    assert dev_lease["metadata"]["annotations"]["meshops.dev/revision"] == team_repo.head.commit.hexsha


def test_killing_the_leader_hands_over_within_the_lease_duration(controllers, sandbox, team_repo, origin):
    alpha, beta = controllers("alpha"), controllers("beta")
    leader_name = wait_until(lambda: holder(sandbox), 20, "a leader")
    leader, follower = (alpha, beta) if leader_name == "alpha" else (beta, alpha)
    leader.wait_for(r"dev: applied: ")
    leader.kill()  # SIGKILL: no release, the lease must expire
    killed = time.monotonic()
    # Renewed at most one retry period before the kill, so it expires within the lease duration;
    # the follower notices at its next try (one retry period), plus a second of scheduling slack.
    new_leader = wait_until(lambda: holder(sandbox) if holder(sandbox) != leader_name else None,
                            LEASE_SECONDS + RETRY_SECONDS + 1.0, "the follower to take over")
    assert new_leader == ("beta" if leader_name == "alpha" else "alpha")
    assert time.monotonic() - killed >= LEASE_SECONDS - RETRY_SECONDS - 0.5  # it did wait for expiry
    follower.wait_for("became leader")
    assert ready(follower)
    # The new leader reconciles: a later push reaches dev through its polling.
    pushed = commit_and_push(team_repo, {"environments/dev/values.yaml": "message: after failover\n"}, "after failover")
    follower.wait_for(r"dev: applied: " + pushed[:12])
    (configmap,) = [o for o in sandbox.objects("", "configmaps", "team-dev") if o["metadata"]["name"] == "settings"]
    assert configmap["data"]["message"] == "after failover"


def test_a_stopped_leader_releases_its_lease_and_followers_refuse_webhooks(controllers, sandbox, origin, team_repo):
    alpha, beta = controllers("alpha"), controllers("beta")
    leader_name = wait_until(lambda: holder(sandbox), 20, "a leader")
    leader, follower = (alpha, beta) if leader_name == "alpha" else (beta, alpha)
    follower.wait_for(f"leader is {leader_name}")
    body = json.dumps({"ref": "refs/heads/main", "after": team_repo.head.commit.hexsha,
                       "repository": {"clone_url": f"file://{origin}"}}).encode()
    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "f-1", "Content-Type": "application/json",
               "X-Hub-Signature-256": "sha256=" + hmac.new(b"controller-secret", body, hashlib.sha256).hexdigest()}
    status, answer = http("POST", follower.url + "/webhook", body=body, headers=headers)
    assert status == 503 and f"not the leader ({leader_name} is)" in json.loads(answer)["reason"]
    assert leader.stop() == 0
    assert "released Lease default/meshops-controller" in leader.output
    new_leader = wait_until(lambda: holder(sandbox) if holder(sandbox) not in (None, leader_name) else None, 20, "a new leader")
    assert new_leader != leader_name
