"""Notification receivers from meshops.yaml and what each kind is sent; the notifier's retries and order.

Bodies are checked as data; the notifier posts over real sockets to `receiver.LocalReceiver`
(the backoff between retries is an argument, so the retry test does not wait).
"""
from __future__ import annotations

import json

import pytest

from meshops.model.errors import ConfigError
from meshops.model.secrets import SecretsDir
from meshops.rollout.notifier import Notifier
from meshops.rollout.receivers import Notification, Receiver, body, receivers
from meshops.rollout.state import Phase, Reason, RolloutState
from meshops.rollout.store import RolloutRef
from meshops.source.envconfig import EnvConfig
from receiver import LocalReceiver

T0 = 1_700_000_000.0
REF = RolloutRef("shop", "cart")


def rollout(*reasons: str) -> RolloutState:
    state = RolloutState(phase=Phase.PROGRESSING, service="cart", stable="v1", canary="v2", weights=(20, 50),
                         current={"v1": 100, "v2": 0}, started_at=T0, seq=0, notified=0)
    for offset, reason in enumerate(reasons):
        state = state.decided(reason=reason, at=T0 + offset, note=f"{reason} happened")
    return state


def environment(entries: list[dict]) -> EnvConfig:
    return EnvConfig(name="prod", file="environments/prod/meshops.yaml", data={"notifications": entries})


def notification(event: str = Reason.PROMOTED) -> Notification:
    state = rollout(Reason.STARTED, event)
    return Notification.of(state.history[-1], state=state, environment="prod", namespace="shop")


def test_teams_gets_one_adaptive_card_with_the_decision_as_facts():
    raw, headers = body(_resolved("teams"), notification(Reason.ROLLED_BACK))
    [attachment] = json.loads(raw)["attachments"]
    card = attachment["content"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive" and card["type"] == "AdaptiveCard"
    assert card["body"][0]["text"] == "cart in prod: RolledBack" and card["body"][0]["color"] == "Attention"
    assert {fact["title"] for fact in card["body"][2]["facts"]} == {"Step", "Weights", "Versions"}
    assert "X-Meshops-Signature-256" not in headers


def test_slack_gets_one_line_of_text_with_the_message_quoted():
    raw, _ = body(_resolved("slack"), notification(Reason.PROMOTED))
    text = json.loads(raw)["text"]
    assert text.startswith(":white_check_mark: *cart in prod: Promoted* — step 0/2") and "\n> Promoted happened" in text


def _resolved(kind: str):
    from meshops.rollout.receivers import ResolvedReceiver

    return ResolvedReceiver(receiver=Receiver(name=kind, type=kind), url="http://127.0.0.1:9/", key=None)


def test_receivers_are_limited_by_service_and_event():
    [receiver] = receivers(environment([{"name": "r", "type": "webhook", "url": "https://audit.example.com/hook",
                                         "hmacSecret": "k", "services": ["cart"], "events": ["Promoted"]}]))
    assert receiver.wants("cart", "Promoted") and not receiver.wants("cart", "StepAdvanced")
    assert not receiver.wants("search", "Promoted")


@pytest.mark.parametrize(("entry", "message"), [
    ({"name": "r", "type": "webhook", "url": "https://a.example/hook"}, "hmacSecret is required"),
    ({"name": "r", "type": "teams", "urlSecret": "t", "events": ["Promotd"]}, "unknown event 'Promotd'"),
    ({"name": "r", "type": "teams"}, "says nowhere to send"),
])
def test_receiver_mistakes_are_errors_at_their_line(entry, message):
    with pytest.raises(ConfigError) as refused:
        receivers(environment([entry]))
    assert message in refused.value.one_line() and "environments/prod/meshops.yaml" in refused.value.one_line()


def test_a_receiver_that_fails_twice_gets_the_decision_on_the_third_attempt_and_order_holds(tmp_path):
    (tmp_path / "k").write_text("key\n")
    (tmp_path / "k").chmod(0o600)
    with LocalReceiver(fail_first=2) as target:
        entry = {"name": "audit", "type": "webhook", "url": target.url + "/hook", "hmacSecret": "k"}
        sender = Notifier(receivers(environment([entry])), secrets=SecretsDir(tmp_path), environment="prod",
                          sleep=lambda seconds: None)
        state = rollout(Reason.STARTED, Reason.STEP_ADVANCED, Reason.ANALYSIS_HELD, Reason.ANALYSIS_HELD, Reason.PROMOTED)
        assert sender.submit(REF, state) == 4  # the repeated hold is one history entry, posted once
        assert sender.flush(10)
    events = [delivery.json["event"] for delivery in target.received]
    assert events == ["Started", "Started", "Started", "StepAdvanced", "AnalysisHeld", "Promoted"]
    assert sender.handled_through(REF, state) == state.seq and sender.counts()["receivers"]["audit"]["sent"] == 4
