"""Where git meets a running rollout: the hook diff and apply call for every object they plan.

`make_overlay(config, revision=)` returns `overlay(desired, live) -> desired`. For a VirtualService
it compares the version git wants on the steered rule (`default`) with what the cluster routes and
what the `meshops.dev/rollout` annotation says, and returns the object apply should write — so diff
shows exactly what apply will do, and both agree with the rollout engine:

| git names …                                  | live rollout state            | overlay returns                               |
|----------------------------------------------|-------------------------------|-----------------------------------------------|
| the canary of the rollout (any phase)        | Progressing/Paused            | live routes: the rollout owns the weights     |
|                                              | Succeeded                     | live routes (canary at 100 %)                 |
|                                              | Failed/Aborted                | live routes: stable pinned, no automatic retry|
| the live stable version                      | Progressing/Paused            | git's routes, phase Aborted (git cancelled)   |
| a version neither stable nor canary          | Progressing/Paused            | stable 100 / new 0, phase Progressing step 0 (restart) |
| a version other than the live stable         | none or ended                 | stable 100 / new 0, phase Progressing step 0 (start) |
| an explicit split (canary with a weight)     | Progressing/Paused            | git's routes, phase Aborted (git owns weights)|
| anything else                                | any                           | git's routes, the live annotation kept        |

"Git names version T" means: the rule routes to T alone (`services.X.version` changed), or git
adds a canary T without a weight (weight 0). A rollout always starts from the version the cluster
routes to now, and the first write only routes 0 % to the new subset: the DestinationRule that
defines it is written before the VirtualService (apply order, make before break).
"""
from __future__ import annotations

import copy
import time
from typing import Callable

from ..config import EnvConfig
from ..diff.plan import Overlay
from ..manifest import ROLLOUT_ANNOTATION
from .policy import RolloutPolicy, load_policy
from .routes import first_subset, route_weights, rule_index, rule_routes, split_routes
from .state import DEFAULT_RULE, Phase, Reason, RolloutState, state_of


def _git_target(routes: list[dict]) -> str | None:
    """The version git asks the rule to move to: a lone subset, or a canary with weight 0.

    None for an explicit split (a canary with a weight): git then holds the weights by hand.
    """
    weights = route_weights(routes)
    if len(weights) == 1:
        return next(iter(weights))
    if len(weights) == 2 and list(weights.values())[1] == 0:
        return list(weights)[1]
    return None


def _with_rule(desired: dict, *, rule: str, routes: list[dict] | None, annotation: str | None) -> dict:
    """A copy of `desired` with the rule's routes replaced (None: as git has them) and the annotation set."""
    overlaid = copy.deepcopy(desired)
    if routes is not None:
        overlaid["spec"]["http"][rule_index(overlaid, rule)]["route"] = copy.deepcopy(routes)
    if annotation is not None:
        overlaid.setdefault("metadata", {}).setdefault("annotations", {})[ROLLOUT_ANNOTATION] = annotation
    return overlaid


def _started(*, service: str, stable: str, canary: str, policy: RolloutPolicy, revision: str | None,
             now: float, previous: RolloutState | None, reason: str, message: str) -> RolloutState:
    """A fresh rollout at step 0 (canary subset in place, 0 % routed to it)."""
    fresh = RolloutState(
        phase=Phase.PROGRESSING,
        service=service,
        stable=stable,
        canary=canary,
        weights=policy.weights,
        step=0,
        current={stable: 100, canary: 0},
        threshold=policy.threshold,
        revision=revision,
        started_at=now,
        last_step_at=now,
        history=previous.history if previous is not None and reason == Reason.RESTARTED else (),
        message=message,
    )
    return fresh.decided(reason=reason, at=now, note=message)


def overlay_virtual_service(
    desired: dict, live: dict, *, policy_of: Callable[[str], RolloutPolicy], revision: str | None, now: float
) -> dict:
    """The VirtualService apply should write, given git's and the cluster's (see the module table)."""
    state = state_of(live)
    live_annotation = ((live.get("metadata") or {}).get("annotations") or {}).get(ROLLOUT_ANNOTATION)
    rule = state.rule if state else DEFAULT_RULE
    desired_routes, live_routes = rule_routes(desired, rule), rule_routes(live, rule)
    if desired_routes is None or not live_routes:
        return _with_rule(desired, rule=rule, routes=None, annotation=live_annotation)
    target = _git_target(desired_routes)
    name = (live.get("metadata") or {}).get("name") or ""
    host = ((live_routes[0].get("destination") or {}).get("host")) or name
    active = state is not None and state.active
    if state is not None and target == state.canary:
        return _with_rule(desired, rule=rule, routes=live_routes, annotation=live_annotation)
    stable = state.stable if active else first_subset(live_routes)
    if active and (target is None or target == state.stable):
        why = "git sets explicit weights" if target is None else f"git names the stable version {state.stable} again"
        aborted = state.decided(reason=Reason.ABORTED, at=now, note=f"cancelled: {why}", phase=Phase.ABORTED,
                                current=route_weights(desired_routes), paused_by=None, message=f"cancelled: {why}")
        return _with_rule(desired, rule=rule, routes=None, annotation=aborted.to_annotation())
    if target is None or stable is None or target == stable:
        return _with_rule(desired, rule=rule, routes=None, annotation=live_annotation)
    service = state.service if state is not None else name
    if active:
        reason, message = Reason.RESTARTED, f"git names {target} while {state.canary} was rolling out: restarted from {stable}"
    else:
        reason, message = Reason.STARTED, f"git names {target}: rolling out from {stable}"
    started = _started(service=service, stable=stable, canary=target, policy=policy_of(service), revision=revision,
                       now=now, previous=state, reason=reason, message=message)
    routes = split_routes(live_routes, started.current, host=host)
    return _with_rule(desired, rule=rule, routes=routes, annotation=started.to_annotation())


def make_overlay(config: EnvConfig, *, revision: str | None = None, clock: Callable[[], float] = time.time) -> Overlay:
    """The overlay for one environment's plan (policies read once per service, on first use)."""
    policies: dict[str, RolloutPolicy] = {}

    def policy_of(service: str) -> RolloutPolicy:
        if service not in policies:
            policies[service] = load_policy(config, service)
        return policies[service]

    def overlay(desired: dict, live: dict | None) -> dict:
        if desired.get("kind") != "VirtualService" or live is None:
            return desired
        return overlay_virtual_service(desired, live, policy_of=policy_of, revision=revision, now=clock())

    return overlay
