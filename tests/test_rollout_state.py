"""The rollout state annotation and the route splits it travels with (pure parts, no cluster)."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from meshops.model.identity import ROLLOUT_ANNOTATION
from meshops.model.steering import route_weights
from meshops.rollout.routes import split_routes
from meshops.rollout.state import HISTORY_LIMIT, Phase, Reason, RolloutState, state_of


def a_state(**changes) -> RolloutState:
    base = RolloutState(phase=Phase.PROGRESSING, service="reviews", stable="v1", canary="v2", weights=(5, 10, 25),
                        step=2, current={"v1": 90, "v2": 10}, threshold=3, started_at=1_700_000_000.25)
    return RolloutState.from_dict({**base.to_dict(), **changes})


def on_object(state_text: str) -> dict:
    return {"metadata": {"annotations": {ROLLOUT_ANNOTATION: state_text}}}


def test_the_annotation_round_trips_through_json_with_millisecond_timestamps():
    state = a_state().decided(reason=Reason.STEP_ADVANCED, at=1_700_000_060.5, note="step 2/3")
    again = state_of(on_object(state.to_annotation()))
    assert again == state
    data = json.loads(state.to_annotation())
    assert data["schema"] == 1 and data["startedAt"] == "2023-11-14T22:13:20.250Z" and data["current"] == {"v1": 90, "v2": 10}


def test_the_history_keeps_only_the_latest_decisions():
    state = a_state()
    for second in range(HISTORY_LIMIT + 5):
        reason = Reason.ANALYSIS_HELD if second % 2 else Reason.ANALYSIS_INCONCLUSIVE
        state = state.decided(reason=reason, at=1_700_000_000 + second, note=str(second))
    assert len(state.history) == HISTORY_LIMIT and state.history[-1]["message"] == str(HISTORY_LIMIT + 4)
    assert [entry["seq"] for entry in state.history] == list(range(6, HISTORY_LIMIT + 6))


def test_a_hold_that_repeats_updates_its_history_entry_instead_of_pushing_the_story_out():
    state = a_state().decided(reason=Reason.STEP_ADVANCED, at=1_700_000_000, note="step 2/3")
    for second in range(1, 50):
        state = state.decided(reason=Reason.ANALYSIS_HELD, at=1_700_000_000 + second, note=f"held {second}")
    assert [entry["reason"] for entry in state.history] == ["StepAdvanced", "AnalysisHeld"]
    assert state.history[-1]["count"] == 49 and state.history[-1]["message"] == "held 49" and state.seq == 50


def test_decisions_after_an_old_state_are_pending_notification_and_the_old_history_is_not():
    old = {key: value for key, value in a_state().to_dict().items() if key not in ("seq", "notified")}
    old["history"] = [{"at": "2023-11-14T22:13:20.250Z", "reason": "Started", "step": 0, "current": {}, "message": ""}]
    state = RolloutState.from_dict(old)
    assert state.pending_notifications == ()
    decided = state.decided(reason=Reason.STEP_ADVANCED, at=1_700_000_100, note="step 3/3")
    assert [entry["reason"] for entry in decided.pending_notifications] == ["StepAdvanced"]


def test_url_credentials_never_reach_the_annotation():
    state = a_state().decided(reason=Reason.ANALYSIS_INCONCLUSIVE, at=1_700_000_001,
                              note="Prometheus unreachable at http://meshops:s3cret@prometheus:9090: connection refused")
    text = state.to_annotation()
    assert "s3cret" not in text and "http://***@prometheus:9090" in text


@pytest.mark.parametrize("text", ["not json", "[1, 2]", json.dumps({"phase": "Progressing"}),
                                  json.dumps({**a_state().to_dict(), "step": 9}), json.dumps({**a_state().to_dict(), "weights": []})])
def test_an_unreadable_annotation_is_no_state(text):
    assert state_of(on_object(text)) is None


def test_a_split_is_written_with_the_live_entries_and_must_sum_to_100():
    live = [{"destination": {"host": "reviews", "subset": "v1"}, "headers": {"request": {"set": {"x": "1"}}}}]
    routes = split_routes(live, {"v1": 75, "v2": 25}, host="reviews")
    assert routes == [
        {"destination": {"host": "reviews", "subset": "v1"}, "headers": {"request": {"set": {"x": "1"}}}, "weight": 75},
        {"destination": {"host": "reviews", "subset": "v2"}, "headers": {"request": {"set": {"x": "1"}}}, "weight": 25},
    ]
    assert split_routes(routes, {"v2": 100}, host="reviews") == [
        {"destination": {"host": "reviews", "subset": "v2"}, "headers": {"request": {"set": {"x": "1"}}}}]
    with pytest.raises(ValueError, match="sum to 100"):
        split_routes(live, {"v1": 90, "v2": 20}, host="reviews")


def test_a_lone_destination_without_a_weight_carries_all_traffic():
    assert route_weights([{"destination": {"host": "reviews", "subset": "v3"}}]) == {"v3": 100}
    assert route_weights([{"destination": {"subset": "v1"}, "weight": 100}, {"destination": {"subset": "v2"}}]) == {"v1": 100, "v2": 0}


def test_a_walk_with_stages_round_trips_and_names_the_stage_of_each_step():
    from meshops.cli.rollout_view import step_text

    match = ({"headers": {"x-canary": {"exact": "insider"}}},)
    state = RolloutState(phase=Phase.PROGRESSING, service="details", stable="details-v1", canary="details-v2",
                         weights=(0, 0, 50), stages=("mirror", "ab", "weight"), match=match, mirror_percent=20,
                         split_by="service", step=2)
    again = state_of({"metadata": {"annotations": {ROLLOUT_ANNOTATION: state.to_annotation()}}})
    assert (again.stages, again.match, again.mirror_percent, again.split_by) == (state.stages, match, 20, "service")
    assert step_text(again) == "2/3 A/B" and again.stage().describe() == "requests matching x-canary=insider to details-v2"
    assert step_text(replace(again, step=1)) == "1/3 mirror" and replace(again, step=1).stage().mirror_percent == 20
    assert replace(again, step=3).stage() is None and replace(again, phase=Phase.FAILED).stage() is None


def test_a_state_with_an_unknown_kind_of_step_is_no_state():
    state = RolloutState(phase=Phase.PROGRESSING, service="cart", stable="v1", canary="v2", weights=(0, 50),
                         stages=("canary-dance", "weight"))
    assert state_of({"metadata": {"annotations": {ROLLOUT_ANNOTATION: state.to_annotation()}}}) is None
