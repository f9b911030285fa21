"""Where git meets a running rollout: the hook diff and apply call for every object they plan.

`make_overlay(config, revision=)` returns `overlay(desired, live) -> desired`. For every kind a
router steers (`router.ROUTERS`: VirtualService, HTTPRoute) it compares the version git wants on the steered rules (those git moves to another version:
`model.steering`, through the router) with what the cluster routes and what the
`meshops.dev/rollout` annotation says, and returns the object apply should write — so diff shows
exactly what apply will do, and both agree with the rollout engine:

| git names …                                  | live rollout state            | overlay returns                               |
|----------------------------------------------|-------------------------------|-----------------------------------------------|
| the canary of the rollout                    | Progressing/Paused            | live routes (and the step's A/B rules or mirror): the rollout owns them |
|                                              | Succeeded                     | live routes (canary at 100 %)                 |
|                                              | Failed, or Aborted by a person| live routes: stable pinned, no automatic retry|
|                                              | Aborted by git (cancelled)    | stable 100 / canary 0, Progressing (start)    |
| the live stable version                      | Progressing/Paused            | git's routes, phase Aborted (git cancelled)   |
| a version neither stable nor canary          | Progressing/Paused            | stable 100 / new 0, phase Progressing step 0 (restart) |
| a version other than the live stable         | none or ended                 | stable 100 / new 0, phase Progressing step 0 (start) |
| an explicit split (canary with a weight)     | Progressing/Paused            | git's routes, phase Aborted (git owns weights)|
| anything else                                | any                           | git's routes, the live annotation kept        |

"Git names version T" means: the rules route to T alone (`services.X.version` changed), or git
adds a canary T without a weight (weight 0). A change that cannot be one rollout (rules moving to
different versions at once, unnamed rules that moved) raises ConfigError: the plan, and so diff and
apply, stop before any write — never a silent cut-over. A rollout always starts from the version the cluster
routes to now, and the first write only routes 0 % to the new subset: the DestinationRule that
defines it is written before the VirtualService (apply order, make before break). A pinned
rollout is retried with `meshops rollout retry`, or ends when git names another version.
"""
from __future__ import annotations

import copy
import time
from typing import Callable

from ..model.errors import ConfigError
from ..model.identity import ROLLOUT_ANNOTATION, Overlay
from ..source.envconfig import EnvConfig
from .decide import started
from .policy import RolloutPolicy, policies, services_split
from ..model.steering import BY_SERVICE, Steering
from .router import ROUTERS, VIRTUAL_SERVICE_ROUTER, Router, router_for
from .state import BY_GIT, Phase, Reason, RolloutState, state_of


def _annotated(obj: dict, annotation: str | None) -> dict:
    """`obj` (a copy) with the rollout annotation set to `annotation` (None: left as it is)."""
    if annotation is None:
        return obj
    overlaid = copy.deepcopy(obj)
    overlaid.setdefault("metadata", {}).setdefault("annotations", {})[ROLLOUT_ANNOTATION] = annotation
    return overlaid


def _running(desired: dict, live: dict, state: RolloutState, *, router: Router, now: float) -> dict | None:
    """What to write while `live` carries `state`; None when git starts (or restarts) a rollout instead."""
    live_annotation = ((live.get("metadata") or {}).get("annotations") or {}).get(ROLLOUT_ANNOTATION)
    target, present = router.target(desired, state.rules)
    if not present:  # git renamed or removed a steered rule: git's routes; the engine reports the missing rule
        return _annotated(desired, live_annotation)
    cancelled_by_git = state.phase == Phase.ABORTED and state.ended_by == BY_GIT
    if target == state.canary and not cancelled_by_git:
        steering = router.plan(desired, live)
        others = [rule for rule in (steering.rules if steering else ()) if rule not in state.rules]
        if state.active and others:
            name = (desired.get("metadata") or {}).get("name") or "?"
            raise ConfigError(f"{router.kind} {name}: rule {others[0]} changes version while the rollout of "
                              f"{', '.join(state.rules)} is running", obj=f"{router.kind} {name}",
                              hint="let the rollout finish (or abort it) before changing more rules; nothing was written")
        stage = state.stage() if state.active else None
        return _annotated(router.with_weights(desired, state.rules, None, like=live, stage=stage), live_annotation)
    if state.active and (target is None or target == state.stable):
        why = "git sets explicit weights" if target is None else f"git names the stable version {state.stable} again"
        aborted = state.decided(reason=Reason.ABORTED, at=now, note=f"cancelled: {why}", phase=Phase.ABORTED,
                                current=router.weights(desired, state.rules), paused_by=None, ended_by=BY_GIT,
                                awaiting_approval=None, message=f"cancelled: {why}")
        return _annotated(desired, aborted.to_annotation())
    return None


def _check_services(policy: RolloutPolicy, steering: Steering, name: str) -> None:
    """A policy naming stableService/canaryService rolls out between exactly those Services."""
    if policy.canary_service is None:
        return
    wanted = (policy.stable_service, policy.canary_service)
    if steering.split != BY_SERVICE or (steering.stable, steering.target) != wanted:
        found = f"from {steering.stable} to {steering.target}" + (" (subsets)" if steering.split != BY_SERVICE else "")
        raise ConfigError(f"the rollout policy of {name} splits between Services {wanted[0]} and {wanted[1]}, but git "
                          f"moves its routes {found}", location=policy.location,
                          hint=f"route to host {wanted[0]} and add {wanted[1]} at weight 0 in git, or remove "
                               "stableService/canaryService from the policy; nothing was written")


def overlay_route(
    desired: dict, live: dict, *, policy_of: Callable[[str], RolloutPolicy], revision: str | None, now: float,
    router: Router = VIRTUAL_SERVICE_ROUTER, by_service: Callable[[str], bool] = lambda service: False,
) -> dict:
    """The route object apply should write, given git's and the cluster's (see the module table)."""
    state = state_of(live)
    live_annotation = ((live.get("metadata") or {}).get("annotations") or {}).get(ROLLOUT_ANNOTATION)
    if state is not None:
        running = router_for(router.kind, by_service=True) if state.split_by == BY_SERVICE else router
        written = _running(desired, live, state, router=running, now=now)
        if written is not None:
            return written
    name = (live.get("metadata") or {}).get("name") or ""
    if by_service(state.service if state is not None else name):
        router = router_for(router.kind, by_service=True)  # the policy splits between two Services
    steering = router.plan(desired, live)
    if steering is None:
        return _annotated(desired, live_annotation)
    active = state is not None and state.active
    service = state.service if state is not None else name
    stable = state.stable if active else steering.stable
    if steering.target == stable:
        return _annotated(desired, live_annotation)
    if active:
        reason = Reason.RESTARTED
        message = f"git names {steering.target} while {state.canary} was rolling out: restarted from {stable}"
    else:
        reason, message = Reason.STARTED, f"git names {steering.target}: rolling out from {stable}"
    policy = policy_of(service)
    _check_services(policy, steering, service)
    weights, gates, walk = policy.walk(split_by=steering.split)
    start = started(service=service, stable=stable, canary=steering.target, weights=weights,
                    threshold=policy.threshold, revision=revision, now=now, reason=reason, message=message,
                    history=state.history if active else (), rules=steering.rules, gates=gates,
                    seq=state.seq if active else 0, notified=state.notified_through if active else None, walk=walk)
    routed = router.with_weights(desired, steering.rules, start.weights, like=live)
    return _annotated(routed, start.state.to_annotation())


def make_overlay(config: EnvConfig, *, revision: str | None = None, clock: Callable[[], float] = time.time) -> Overlay:
    """The overlay for one environment's plan (policies read once per service, on first use)."""
    policy_of = policies(config).of
    by_service = services_split(config)

    def overlay(desired: dict, live: dict | None) -> dict:
        router = ROUTERS.get((str(desired.get("apiVersion") or "").split("/")[0], str(desired.get("kind") or "")))
        if router is None or live is None:
            return desired
        return overlay_route(desired, live, policy_of=policy_of, revision=revision, now=clock(), router=router,
                             by_service=by_service)

    return overlay
