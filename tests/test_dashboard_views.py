"""The dashboard's views without a server: chart geometry and the rollout view, from data made in the test."""
from __future__ import annotations

import json
import math
import re

from meshops.dashboard.chart import LEFT, RIGHT, WIDTH, Curve, Mark, PanelData, Timeline, layout
from meshops.dashboard.rollouts import rollout_view
from meshops.rollout.state import state_of
from meshops.rollout.store import LiveRollout, RolloutRef

PLOT_RIGHT = WIDTH - RIGHT


def x_at(moment: float, start: float = 0.0, end: float = 100.0) -> float:
    return LEFT + (moment - start) / (end - start) * (PLOT_RIGHT - LEFT)


def timeline(*panels: PanelData, marks: tuple[Mark, ...] = ()) -> Timeline:
    return Timeline(start=0.0, end=100.0, panels=panels, marks=marks)


def test_the_weight_line_steps_at_each_decision_and_holds_until_the_right_edge():
    weights = PanelData("canary weight", "%", (Curve("canary", ((0, 0), (30, 20), (60, 50)), steps=True),), fixed=(0, 100))
    (line,) = layout(timeline(weights)).panels[0].lines
    assert line.d.count("M") == 1 and line.d.count("H") == 3 and line.d.count("V") == 3
    assert line.d.split("H")[1].startswith(f"{x_at(30):.1f}")
    assert line.d.split("H")[-1].startswith(f"{PLOT_RIGHT:.1f}")


def test_a_nan_point_is_a_gap_in_the_line_never_a_zero():
    panel = PanelData("success rate", "%", (Curve("canary", ((0, 99.5), (10, math.nan), (20, 98.0), (30, 97.0))),))
    (line,) = layout(timeline(panel)).panels[0].lines
    assert line.d.count("M") == 2 and line.d.count("L") == 1


def test_each_decision_is_a_mark_at_its_moment_and_labels_stay_inside_the_drawing():
    marks = (Mark(25, "advance", "advanced", "StepAdvanced: step 1/2"), Mark(99, "rollback", "rolled back", "RolledBack: why"))
    chart = layout(timeline(PanelData("w", "%", (), fixed=(0, 100)), marks=marks))
    assert [(round(m.x, 1), m.kind, m.anchor) for m in chart.marks] == [(round(x_at(25), 1), "advance", "start"),
                                                                        (round(x_at(99), 1), "rollback", "end")]


def test_marks_close_together_take_turns_between_two_label_rows():
    marks = tuple(Mark(moment, "hold", "held", "held") for moment in (10, 11, 12, 60))
    assert [mark.row for mark in layout(timeline(PanelData("w", "%", (), fixed=(0, 100)), marks=marks)).marks] == [0, 1, 1, 0]


def test_the_y_axis_has_round_ticks_and_shows_the_threshold():
    panel = PanelData("success rate", "%", (Curve("canary", ((0, 54.2), (50, 99.9))),), threshold=99, threshold_label="min 99%")
    drawn = layout(timeline(panel)).panels[0]
    labels = [label for _, label in drawn.y_ticks]
    assert labels[-1] == "100" and all(float(label) % 5 == 0 for label in labels), labels
    assert drawn.top <= drawn.threshold[0] <= drawn.bottom and drawn.threshold[1] == "min 99%"


def live_rollout(**changes) -> LiveRollout:
    state = {"schema": 1, "phase": "Failed", "service": "reviews", "rule": "default", "stable": "v1", "canary": "v2",
             "weights": [20, 50], "step": 2, "current": {"v1": 100}, "failedChecks": 1, "threshold": 1,
             "lastAnalysis": {"decision": "fail", "at": "2026-01-01T10:00:09.000Z", "step": 2, "window": "3s",
                              "checks": [{"name": "success-rate", "outcome": "fail", "value": 54.2, "min": 98.5, "unit": "%",
                                          "reason": "success rate 54.2% < min 98.5%"}]},
             "history": [{"at": "2026-01-01T10:00:00.000Z", "reason": "Started", "step": 0, "current": {"v1": 100, "v2": 0}},
                         {"at": "2026-01-01T10:00:03.000Z", "reason": "StepAdvanced", "step": 1, "current": {"v1": 80, "v2": 20}},
                         {"at": "2026-01-01T10:00:06.000Z", "reason": "StepAdvanced", "step": 2, "current": {"v1": 50, "v2": 50}},
                         {"at": "2026-01-01T10:00:09.000Z", "reason": "RolledBack", "step": 2, "current": {"v1": 100},
                          "message": "rolled back to v1"}],
             "startedAt": "2026-01-01T10:00:00.000Z", "updatedAt": "2026-01-01T10:00:09.000Z", "message": "rolled back to v1"}
    state.update(changes)
    obj = {"metadata": {"name": "reviews", "namespace": "shop", "annotations": {"meshops.dev/rollout": json.dumps(state)}}}
    return LiveRollout(RolloutRef("shop", "reviews"), obj, state_of(obj))


def test_the_rollout_view_lists_decisions_newest_first_and_marks_where_it_was_rolled_back():
    view = rollout_view(live_rollout(), environment="prod", cluster="default", config=None, metrics=None,
                        metrics_problem="no prometheus", now=0)
    assert [decision.label for decision in view.decisions] == ["rolled back", "advanced", "advanced", "started"]
    assert [(step.weight, step.state) for step in view.steps] == [(0, "done"), (20, "done"), (50, "failed"), (100, "next")]
    assert (view.stable_weight, view.canary_weight) == (100, 0)


def test_the_rollout_chart_uses_the_bound_the_last_analysis_judged_with():
    view = rollout_view(live_rollout(), environment="prod", cluster="default", config=None, metrics=None,
                        metrics_problem="no prometheus", now=0)
    success = view.chart.panels[1]
    assert success.threshold[1] == "min 98.5%" and success.note == "no prometheus" and not success.lines
    weights = view.chart.panels[0].lines[0].d
    assert len(re.findall(r"V", weights)) == 4  # 0 -> 20 -> 50 -> 0, then held to the edge


def test_a_metrics_source_without_range_queries_leaves_the_reason_on_the_chart():
    class InstantOnly:
        query_count = 0

    view = rollout_view(live_rollout(), environment="prod", cluster="default", config=None, metrics=InstantOnly(), now=0)
    assert view.metrics_note == "metrics history is not available from this metrics source"
