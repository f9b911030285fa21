"""Where git meets a running rollout: the hook diff and apply call for every object they plan.

`make_overlay(config, revision=)` returns `overlay(desired, live) -> desired`. For a VirtualService
it compares the version git wants on the steered rule (`default`) with what the cluster routes and
what the `meshops.dev/rollout` annotation says, and returns the object apply should write — so diff
shows exactly what apply will do, and both agree with the rollout engine:

| git names …                                  | live rollout state            | overlay returns                               |
|----------------------------------------------|-------------------------------|-----------------------------------------------|
| the canary of the rollout                    | Progressing/Paused            | live routes: the rollout owns the weights     |
|                                              | Succeeded                     | live routes (canary at 100 %)                 |
|                                              | Failed, or Aborted by a person| live routes: stable pinned, no automatic retry|
|                                              | Aborted by git (cancelled)    | stable 100 / canary 0, Progressing (start)    |
| the live stable version                      | Progressing/Paused            | git's routes, phase Aborted (git cancelled)   |
| a version neither stable nor canary          | Progressing/Paused            | stable 100 / new 0, phase Progressing step 0 (restart) |
| a version other than the live stable         | none or ended                 | stable 100 / new 0, phase Progressing step 0 (start) |
| an explicit split (canary with a weight)     | Progressing/Paused            | git's routes, phase Aborted (git owns weights)|
| anything else                                | any                           | git's routes, the live annotation kept        |

"Git names version T" means: the rule routes to T alone (`services.X.version` changed), or git
adds a canary T without a weight (weight 0). A rollout always starts from the version the cluster
routes to now, and the first write only routes 0 % to the new subset: the DestinationRule that
defines it is written before the VirtualService (apply order, make before break). A pinned
rollout is retried with `meshops rollout retry`, or ends when git names another version.
"""
from __future__ import annotations

import copy
import time
from typing import Callable

from ..source.envconfig import EnvConfig
from ..model.identity import Overlay
from ..model.identity import ROLLOUT_ANNOTATION
from .decide import started
from .policy import RolloutPolicy, policies
from .routes import first_subset, route_weights, rule_index, rule_routes, split_routes
from .state import BY_GIT, DEFAULT_RULE, Phase, Reason, state_of


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
    """A copy of `desired` with the rule's routes replaced (None: as git has them) and the annotation set
    (`desired` itself when neither changes: nothing is written into it either way)."""
    if routes is None and annotation is None:
        return desired
    overlaid = copy.deepcopy(desired)
    if routes is not None:
        overlaid["spec"]["http"][rule_index(overlaid, rule)]["route"] = copy.deepcopy(routes)
    if annotation is not None:
        overlaid.setdefault("metadata", {}).setdefault("annotations", {})[ROLLOUT_ANNOTATION] = annotation
    return overlaid


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
    cancelled_by_git = state is not None and state.phase == Phase.ABORTED and state.ended_by == BY_GIT
    if state is not None and target == state.canary and not cancelled_by_git:
        return _with_rule(desired, rule=rule, routes=live_routes, annotation=live_annotation)
    stable = state.stable if active else first_subset(live_routes)
    if active and (target is None or target == state.stable):
        why = "git sets explicit weights" if target is None else f"git names the stable version {state.stable} again"
        aborted = state.decided(reason=Reason.ABORTED, at=now, note=f"cancelled: {why}", phase=Phase.ABORTED,
                                current=route_weights(desired_routes), paused_by=None, ended_by=BY_GIT,
                                message=f"cancelled: {why}")
        return _with_rule(desired, rule=rule, routes=None, annotation=aborted.to_annotation())
    if target is None or stable is None or target == stable:
        return _with_rule(desired, rule=rule, routes=None, annotation=live_annotation)
    service = state.service if state is not None else name
    if active:
        reason, message = Reason.RESTARTED, f"git names {target} while {state.canary} was rolling out: restarted from {stable}"
    else:
        reason, message = Reason.STARTED, f"git names {target}: rolling out from {stable}"
    policy = policy_of(service)
    start = started(service=service, stable=stable, canary=target, weights=policy.weights, threshold=policy.threshold,
                    revision=revision, now=now, reason=reason, message=message,
                    history=state.history if active else ())
    routes = split_routes(live_routes, start.weights, host=host)
    return _with_rule(desired, rule=rule, routes=routes, annotation=start.state.to_annotation())


def make_overlay(config: EnvConfig, *, revision: str | None = None, clock: Callable[[], float] = time.time) -> Overlay:
    """The overlay for one environment's plan (policies read once per service, on first use)."""
    policy_of = policies(config).of

    def overlay(desired: dict, live: dict | None) -> dict:
        if desired.get("kind") != "VirtualService" or live is None:
            return desired
        return overlay_virtual_service(desired, live, policy_of=policy_of, revision=revision, now=clock())

    return overlay
