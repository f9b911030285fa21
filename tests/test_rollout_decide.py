"""Decisions as pure functions: inconclusive analyses, the progress deadline, readiness, approval gates.

States and assessments are built by hand (no cluster, no Prometheus): each test is one rule of
`meshops.rollout.decide`, read as its documentation.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from meshops.metrics.source import QueryStatus
from meshops.model.errors import ConfigError
from meshops.rollout.analysis import AnalysisTarget, CheckResult, Outcome, checks_only
from meshops.rollout.decide import READINESS_CHECK, NotApplicable, commanded, judged
from meshops.rollout.policy import DEFAULT_PROGRESS_DEADLINE, load_policy
from meshops.rollout.state import Phase, Reason, RolloutState
from meshops.source.envconfig import EnvConfig

T0 = 1_700_000_000.0
TARGET = AnalysisTarget(service="reviews", namespace="shop", canary="v2", stable="v1",
                        canary_workload="reviews-v2", stable_workload="reviews-v1")


def policy(**rollout):
    return load_policy(EnvConfig(name="prod", file="environments/prod/meshops.yaml", data={"rollout": rollout}), "reviews")


def state(step: int = 1, **changes) -> RolloutState:
    base = RolloutState(phase=Phase.PROGRESSING, service="reviews", stable="v1", canary="v2", weights=(20, 50),
                        step=step, current={"v1": 80, "v2": 20} if step else {"v1": 100, "v2": 0}, threshold=2,
                        started_at=T0, last_step_at=T0, progress_at=T0)
    return replace(base, **changes)


def check(outcome: Outcome, name: str = "success-rate", reason: str = "why", status=QueryStatus.OK) -> CheckResult:
    return CheckResult(name=name, outcome=outcome, value=None, min=None, max=None, unit="", query="q", reason=reason,
                       status=status)


def assessed(*checks: CheckResult):
    return checks_only(TARGET, checks, window="1m")


UNREACHABLE = check(Outcome.INCONCLUSIVE, reason="Prometheus unreachable at http://prom:9090: connection refused",
                    status=QueryStatus.UNREACHABLE)


def test_an_inconclusive_analysis_holds_the_weights_and_is_counted_apart_from_failures():
    decision = judged(state(), assessed(check(Outcome.PASS), UNREACHABLE), now=T0 + 60, policy=policy())
    assert decision.reason == Reason.ANALYSIS_INCONCLUSIVE and decision.weights == {"v1": 80, "v2": 20}
    assert (decision.state.inconclusive, decision.state.failed_checks, decision.state.phase) == (1, 0, Phase.PROGRESSING)
    assert "Prometheus unreachable" in decision.message


def test_a_real_failure_outweighs_an_unanswered_query():
    decision = judged(state(), assessed(check(Outcome.FAIL, reason="success rate 90% < min 99%"), UNREACHABLE),
                      now=T0 + 60, policy=policy())
    assert decision.reason == Reason.CHECK_FAILED and decision.state.failed_checks == 1


def test_past_the_deadline_an_inconclusive_canary_is_rolled_back_by_default():
    late = T0 + DEFAULT_PROGRESS_DEADLINE + 1
    decision = judged(state(), assessed(UNREACHABLE), now=late, policy=policy())
    assert decision.reason == Reason.ROLLED_BACK and decision.state.phase == Phase.FAILED
    assert decision.weights == {"v1": 100} and "progressDeadline 10m" in decision.message


def test_on_timeout_hold_says_so_once_and_keeps_asking():
    hold = policy(onTimeout="hold", progressDeadline="5m")
    first = judged(state(), assessed(UNREACHABLE), now=T0 + 301, policy=hold)
    assert first.reason == Reason.DEADLINE_EXCEEDED and first.state.phase == Phase.PROGRESSING
    again = judged(first.state, assessed(UNREACHABLE), now=T0 + 361, policy=hold)
    assert again.reason == Reason.ANALYSIS_INCONCLUSIVE and again.weights == {"v1": 80, "v2": 20}
    moved = judged(again.state, assessed(check(Outcome.PASS)), now=T0 + 421, policy=hold)
    assert moved.reason == Reason.STEP_ADVANCED and moved.state.deadline_exceeded_at is None


def test_the_same_deadline_ends_a_canary_that_stays_idle():
    idle = check(Outcome.HOLD, "request-count", "no data: canary reviews-v2 received no requests in 1m", QueryStatus.NO_DATA)
    assert judged(state(), assessed(idle), now=T0 + 120, policy=policy()).reason == Reason.ANALYSIS_HELD
    assert judged(state(), assessed(idle), now=T0 + 601, policy=policy()).reason == Reason.ROLLED_BACK


def test_a_canary_without_ready_pods_holds_with_its_own_reason():
    not_ready = check(Outcome.HOLD, READINESS_CHECK, "Deployment shop/reviews-v2 has 0/3 replicas ready", QueryStatus.NO_DATA)
    decision = judged(state(step=0), assessed(not_ready), now=T0 + 60, policy=policy())
    assert decision.reason == Reason.CANARY_NOT_READY and decision.weights == {"v1": 100, "v2": 0}
    assert "0/3 replicas ready" in decision.message


def test_step_zero_moves_to_the_first_weight_when_nothing_objects():
    decision = judged(state(step=0), assessed(), now=T0 + 60, policy=policy())
    assert decision.reason == Reason.STEP_ADVANCED and decision.weights == {"v1": 80, "v2": 20}


def test_an_approval_gate_waits_after_a_passing_analysis_until_approved():
    gated = policy(steps=[20, {"approve": True}, 50])
    assert gated.gates == frozenset({1}) and gated.weights == (20, 50)
    at_gate = state(gates=(1,))
    waiting = judged(at_gate, assessed(check(Outcome.PASS)), now=T0 + 60, policy=gated)
    assert waiting.reason == Reason.AWAITING_APPROVAL and waiting.weights == {"v1": 80, "v2": 20}
    assert waiting.state.awaiting_approval == 1 and "meshops rollout approve --env prod reviews" in waiting.message
    still = judged(waiting.state, assessed(check(Outcome.PASS)), now=T0 + 6000, policy=gated)
    assert still.reason == Reason.AWAITING_APPROVAL and still.state.history[-1]["count"] == 2  # no deadline while waiting
    approved = commanded(still.state, "approve", now=T0 + 6001, actor="alice@laptop")
    assert approved.reason == Reason.APPROVED and approved.weights == {"v1": 80, "v2": 20}
    assert approved.state.approved == (1,) and approved.state.approved_by == "alice@laptop"
    moved = judged(approved.state, assessed(check(Outcome.PASS)), now=T0 + 6060, policy=gated)
    assert moved.reason == Reason.STEP_ADVANCED and moved.weights == {"v1": 50, "v2": 50}


def test_confirm_promotion_is_a_gate_after_the_last_step():
    confirming = policy(steps=[20, 50], confirmPromotion=True)
    assert confirming.gates == frozenset({2})
    decision = judged(state(step=2, gates=(2,), current={"v1": 50, "v2": 50}), assessed(check(Outcome.PASS)),
                      now=T0 + 60, policy=confirming)
    assert decision.reason == Reason.AWAITING_APPROVAL and "before promotion" in decision.message


def test_approving_a_rollout_that_is_not_waiting_is_refused_without_a_decision():
    with pytest.raises(NotApplicable) as refused:
        commanded(state(gates=(1,)), "approve", now=T0, actor="alice@laptop")
    assert "is not waiting for approval" in refused.value.one_line() and "after step 1" in refused.value.one_line()


def test_a_progress_deadline_not_longer_than_the_interval_is_a_policy_error():
    with pytest.raises(ConfigError) as refused:
        policy(interval="5m", progressDeadline="5m")
    assert "progressDeadline (5m) must be longer than the interval (5m)" in refused.value.one_line()
