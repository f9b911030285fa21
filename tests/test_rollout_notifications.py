"""Notifications end to end: a local receiver gets every decision in order, signed as documented; a
receiver that hangs or is down holds nothing back; decisions a killed driver wrote but could not
post are posted when a driver resumes.

Real parts throughout: the sandbox API server, the synthetic mesh following the weights, the
session's real Prometheus, the notifier's own HTTP posts to `receiver.LocalReceiver` over sockets,
and for the resume the real CLI in a subprocess killed with SIGKILL.
"""
from __future__ import annotations

import hashlib
import hmac
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import REPO_ROOT
from meshops.model.secrets import SecretsDir
from meshops.pipeline.operator import Operator
from meshops.pipeline.rollouts import notifier_of
from meshops.rollout.state import Phase
from meshops.source.envconfig import load_env_config
from meshops.source.repo import WorkTree
from receiver import LocalReceiver
from rollouts import ENV, fast_policy

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

HMAC_KEY = "k3y-for-signing-7c1d"
PAYLOAD_KEYS = {"id", "event", "severity", "environment", "namespace", "service", "phase", "stable", "canary",
                "step", "steps", "weights", "message", "at", "revision"}


def secrets_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    directory = tmp_path / "secrets"
    directory.mkdir()
    for key, value in files.items():
        (directory / key).write_text(value + "\n")
        (directory / key).chmod(0o600)
    return directory


def notifier(mesh, directory: Path):
    config = load_env_config(WorkTree(mesh.cluster.repo), ENV)
    return notifier_of(config, operator=Operator(secrets=SecretsDir(directory)))


def decisions(state) -> list[str]:
    """The decision reasons of a rollout's history, a repeated hold once (what receivers are sent)."""
    return [entry["reason"] for entry in state.history]


def test_a_local_receiver_gets_every_decision_in_order_signed_and_in_the_documented_shape(scenario, tmp_path):
    with LocalReceiver() as receiver:
        directory = secrets_dir(tmp_path, {"audit-hmac": HMAC_KEY, "chat-url": receiver.url + "/slack"})
        mesh = scenario({"cart": {}}, settings={"notifications": [
            {"name": "audit", "type": "webhook", "url": receiver.url + "/hook", "hmacSecret": "audit-hmac"},
            {"name": "chat", "type": "slack", "urlSecret": "chat-url", "events": ["Started", "Promoted", "RolledBack"]},
        ]})
        mesh.roll_out()
        state = mesh.run(notifier=notifier(mesh, directory))["cart"].state
    assert state.phase == Phase.SUCCEEDED
    hooks = receiver.of("/hook")
    assert [delivery.json["event"] for delivery in hooks] == decisions(state)
    assert decisions(state)[0] == "Started" and decisions(state)[-1] == "Promoted"
    for delivery in hooks:
        signature = hmac.new(HMAC_KEY.encode(), delivery.raw, hashlib.sha256).hexdigest()
        assert delivery.headers["X-Meshops-Signature-256"] == f"sha256={signature}"
        assert delivery.headers["X-Meshops-Event"] == delivery.json["event"]
        assert delivery.headers["X-Meshops-Delivery"] == delivery.json["id"]
        assert set(delivery.json) == PAYLOAD_KEYS
    promoted = hooks[-1].json
    assert (promoted["service"], promoted["environment"], promoted["phase"], promoted["weights"]) == (
        "cart", ENV, "Succeeded", {"v2": 100})
    assert [delivery.json["text"].split("*")[1] for delivery in receiver.of("/slack")] == [
        "cart in test: Started", "cart in test: Promoted"]
    recorded = mesh.cluster.state("cart")
    assert recorded.notified == recorded.seq == state.seq  # recorded: a later driver posts nothing twice


def test_a_receiver_that_hangs_or_is_down_holds_no_rollout_back(scenario, tmp_path):
    from meshops.sim.prometheus import free_port

    with LocalReceiver() as hung:
        hung.stall()
        directory = secrets_dir(tmp_path, {"hmac": HMAC_KEY})
        mesh = scenario({"cart": {}}, settings={"notifications": [
            {"name": "hung", "type": "webhook", "url": hung.url + "/hook", "hmacSecret": "hmac", "timeout": "30s"},
            {"name": "down", "type": "webhook", "url": f"http://127.0.0.1:{free_port()}/hook", "hmacSecret": "hmac"},
        ]})
        mesh.roll_out()
        sender = notifier(mesh, directory)
        state = mesh.run(notifier=sender)["cart"].state
        answered_none = len(hung.received) >= 1 and hung._answer.is_set() is False
        hung.release()
    assert state.phase == Phase.SUCCEEDED and answered_none  # promoted while the hung receiver never answered
    counts = sender.counts()["receivers"]
    assert counts["down"]["down"] and counts["down"]["sent"] == 0 and counts["down"]["failed"] >= 1


def test_decisions_a_killed_driver_wrote_but_could_not_post_are_posted_on_resume(scenario, tmp_path):
    with LocalReceiver() as receiver:
        directory = secrets_dir(tmp_path, {"hmac": HMAC_KEY})
        mesh = scenario({"cart": {}}, policy=fast_policy(steps=[10, 20, 30], interval="2s", window="2s"), settings={
            "notifications": [{"name": "audit", "type": "webhook", "url": receiver.url + "/hook", "hmacSecret": "hmac",
                               "timeout": "30s"}]})
        mesh.roll_out()
        receiver.stall()  # the first post hangs: the driver is killed with decisions written and not posted
        command = [sys.executable, "-m", "meshops", "rollout", "run", "--wait", "--env", ENV, "--repo", str(mesh.cluster.repo),
                   "--kubeconfig", str(mesh.cluster.mesh.kubeconfig), "--context", "sandbox",
                   "--prometheus-url", mesh.prometheus_url, "--secrets-dir", str(directory)]
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            at_kill = mesh.wait_for("cart", lambda state: state.step >= 2 and len(receiver.received) >= 1)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        at_kill = mesh.cluster.state("cart")
        # A brand-new canary's first analysis may hold while Prometheus has too few samples: decisions, not timings.
        pending = [entry["reason"] for entry in at_kill.pending_notifications if entry["reason"] != "AnalysisHeld"]
        assert pending[:3] == ["Started", "StepAdvanced", "StepAdvanced"]
        receiver.release()
        time.sleep(0.2)
        resumed = mesh.cluster.cli("rollout", "run", "--wait", "--timeout", "60s", "--prometheus-url", mesh.prometheus_url,
                                   "--secrets-dir", str(directory))
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    state = mesh.cluster.state("cart")
    assert state.phase == Phase.SUCCEEDED and state.notified == state.seq
    first_seen: list[str] = []
    for delivery in receiver.of("/hook"):
        if delivery.json["id"] not in first_seen:
            first_seen.append(delivery.json["id"])
    assert [int(identity.rsplit("/", 1)[1]) for identity in first_seen] == [entry["seq"] for entry in state.history]
