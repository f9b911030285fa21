"""A/B and mirroring stages end to end, on both routers: the sandbox API server, the real Prometheus
scraping the synthetic mesh, and traffic that follows the live route object as a proxy would —
by its header matches and mirrors (`sim.routing`), not by one rule's weights.

Requests to `cart` come in two classes: 10 % carry `x-canary: insider`, the rest carry nothing.
"""
from __future__ import annotations

import pytest

from meshops.model.steering import LAYOUTS, is_stage_rule
from meshops.rollout.state import Phase
from meshops.sim.routing import RequestClass, route_split
from rollouts import ROUTERS, fast_policy

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

INSIDERS = RequestClass(0.1, {"x-canary": "insider"})
EVERYONE_ELSE = RequestClass(0.9, {})
REQUESTS = {"cart": [INSIDERS, EVERYONE_ELSE]}
AB_TEST = {"analyses": 2, "match": [{"headers": {"x-canary": {"exact": "insider"}}},
                                    {"headers": {"cookie": {"regex": "^(.*?;)?(canary=always)(;.*)?$"}}}]}


def routed(mesh, request: RequestClass) -> dict[str, float]:
    """Where `request`'s class goes under the live route object (percent of all requests, by version)."""
    layout = LAYOUTS[mesh.cluster.kind]
    split = route_split(mesh.cluster.vs("cart"), layout, [RequestClass(1.0, request.headers)])
    return {name.removeprefix("cart-"): share for name, share in split.weights.items() if share}


@pytest.mark.parametrize("router", ROUTERS)
def test_an_ab_stage_sends_only_matching_requests_to_the_canary_then_continues_with_weights(scenario, router):
    mesh = scenario({"cart": {}}, router=router, policy=fast_policy(steps=[50], abTest=AB_TEST), requests=REQUESTS)
    mesh.roll_out()
    seen: list[tuple] = []

    def at_each_decision(tick) -> None:
        state = tick.state
        if tick.decision is not None and state.active and state.stage_at(state.step) == "ab" and not seen:
            # The live object routes insiders (and the cookie) to the canary, everyone else to the stable.
            seen.append((routed(mesh, INSIDERS), routed(mesh, EVERYONE_ELSE),
                         routed(mesh, RequestClass(1.0, {"cookie": "canary=always;theme=dark"})),
                         mesh.cluster.weights("cart"), mesh.cluster.cli("diff").returncode))

    state = mesh.run(on_tick=at_each_decision)["cart"].state
    assert state.phase == Phase.SUCCEEDED, state.message
    [(insiders, others, cookie, weights, diff)] = seen
    assert insiders == {"v2": 100} and cookie == {"v2": 100} and others == {"v1": 100}
    assert weights == {"v1": 100, "v2": 0} and diff == 0  # users' weights untouched; diff quiet about the stage
    advanced = [entry for entry in state.history if entry["reason"] == "StepAdvanced"]
    assert [entry["current"] for entry in advanced][-1] == {mesh.cluster.version("cart", "v1"): 50,
                                                           mesh.cluster.version("cart", "v2"): 50}
    assert "requests matching x-canary=insider" in advanced[0]["message"] and len(advanced) == 3
    judged = [check for check in state.last_analysis["checks"] if check["name"] == "request-count"]
    assert judged[0]["outcome"] == "pass"
    assert not any(is_stage_rule(rule) for rule in mesh.cluster.vs("cart")["spec"][LAYOUTS[mesh.cluster.kind].section])
    assert mesh.cluster.weights("cart") == {"v2": 100} and mesh.cluster.cli("diff").returncode == 0


@pytest.mark.parametrize("router", ROUTERS)
def test_a_mirror_stage_moves_no_user_traffic_until_the_canary_passes_on_mirrored_requests(scenario, router):
    mesh = scenario({"cart": {}}, router=router, policy=fast_policy(steps=[50], mirror={"percent": 50, "analyses": 2}))
    mesh.roll_out()
    during: list[tuple] = []

    def at_each_decision(tick) -> None:
        state = tick.state
        if tick.decision is not None and state.active and state.stage_at(state.step) == "mirror":
            diff = mesh.cluster.cli("diff").returncode if not during else None  # once: diff is quiet about the mirror
            during.append((mesh.cluster.weights("cart"), mesh.follower.mirrors("cart"), diff))

    state = mesh.run(on_tick=at_each_decision)["cart"].state
    assert state.phase == Phase.SUCCEEDED, state.message
    assert during and during[0][2] == 0 and all(weights == {"v1": 100, "v2": 0} for weights, _, _ in during)
    assert {"v2": 50.0} in [mirrors for _, mirrors, _ in during]
    history = [(entry["reason"], entry["step"], entry["current"]) for entry in state.history]
    first_weight = next(index for index, (reason, step, _) in enumerate(history) if reason == "StepAdvanced" and step == 3)
    canary = mesh.cluster.version("cart", "v2")
    assert all(current.get(canary, 0) == 0 for _, _, current in history[:first_weight])


def test_a_failing_canary_is_rolled_back_in_the_mirror_stage_before_any_user_request_reaches_it(scenario):
    mesh = scenario({"cart": {"settings": {"error_share": 0.2}}}, router="httproute",
                    policy=fast_policy(steps=[50], threshold=1, mirror={"percent": 100, "analyses": 2}))
    mesh.roll_out()
    state = mesh.run()["cart"].state
    assert state.phase == Phase.FAILED and state.step in (1, 2)
    assert max(mesh.canary_weights("cart")) == 0 and mesh.cluster.weights("cart") == {"v1": 100}
    failed = next(check for check in state.last_analysis["checks"] if check["name"] == "success-rate")
    assert failed["outcome"] == "fail" and "success rate 80% < min 99%" in failed["reason"]
    assert "RequestMirror" not in str(mesh.cluster.vs("cart")["spec"])  # the mirror went with the rollback
