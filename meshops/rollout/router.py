"""Routers: how a rollout moves traffic — read and write a rollout's weights on the object it steers.

The engine, the state, the checks and the rule "git owns the routes, the rollout owns the weights"
do not depend on how traffic is split; a `Router` does. It answers four questions about one kind
of object: which part of git's change a rollout takes over (`plan`), what that part routes now
(`weights`), the JSON Patch operations that route a new split there (`route_ops`, guarded by
`test` operations so a changed object is never overwritten), and the same change applied to an
object in memory (`with_weights`, for the diff/apply overlay). Both take the current step's
`stages.Stage` (an A/B match or a mirror) besides the weights.

- `VirtualServiceRouter` steers the HTTP rules of an Istio VirtualService: by subset of one host,
  or — `VIRTUAL_SERVICE_HOST_ROUTER`, for a service whose policy names `stableService`/
  `canaryService` — by host (one Service per version); `router_for` picks it from a rollout's split;
- `HTTPRouteRouter` steers the `backendRefs` weights of a Gateway API HTTPRoute (one Service per
  version: the Gateway API has no subsets).

Both are registered in `ROUTERS` under their (group, kind). Only the destinations of the steered
rules change — plus, during an A/B or mirror step, the rollout's own A/B rules and the mirror of
the steered rules; everything else is git's and is written back as read (a write whose rule list
changes shape replaces the list, guarded by the resourceVersion test and a `test` of every steered
rule's name).
"""
from __future__ import annotations

import copy
from typing import Any, Mapping, Protocol

from ..model.errors import ConfigError, UsageError
from ..model.kinds import GATEWAY_API_GROUP
from ..model.steering import (
    AMBIGUOUS, BY_SERVICE, HTTP_ROUTE, STAGE_RULE_PREFIX, VIRTUAL_SERVICE, VIRTUAL_SERVICE_HOSTS, Layout, Steering,
    is_stage_rule,
    plan_steering, route_weights, rule_index, rule_routes, steered_target,
)
from .routes import split_routes
from .stages import AB, MIRROR, Stage


class Router(Protocol):
    """What the engine, the store and the overlay need from a way of splitting traffic."""

    group: str
    kind: str
    layout: Layout

    def plan(self, desired: dict, live: dict) -> Steering | None:
        """The rollout git's change asks for (None: none); ConfigError when it cannot be one rollout."""
        ...

    def target(self, desired: dict, rules: tuple[str, ...]) -> tuple[str | None, bool]:
        """The version git names on `rules` (None: explicit weights) and whether all of them exist in git."""
        ...

    def weights(self, obj: dict, rules: tuple[str, ...]) -> dict[str, int]:
        """What `rules` of `obj` route now (the first one; a rollout keeps them equal)."""
        ...

    def route_ops(self, obj: dict, rules: tuple[str, ...], weights: Mapping[str, int], *,
                  stage: Stage | None = None) -> list[dict]:
        """JSON Patch operations routing `weights` (and `stage`) on `rules` of `obj`, with tests that they are still there."""
        ...

    def with_weights(self, obj: dict, rules: tuple[str, ...], weights: Mapping[str, int] | None,
                     *, like: dict | None = None, stage: Stage | None = None) -> dict:
        """A copy of `obj` whose `rules` route `weights` (None: as `like` routes them, or as they are) and `stage`."""
        ...


def _name(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("name") or "?"


class _StepRouter:
    """What both routers share: the rule walk, the stage rules, the guarded operations."""

    group = ""
    kind = ""
    layout: Layout = VIRTUAL_SERVICE

    # --- reading ----------------------------------------------------------------------------------

    def plan(self, desired: dict, live: dict) -> Steering | None:
        steering, problems = plan_steering(desired, live, self.layout)
        for problem in problems:
            if problem.kind == AMBIGUOUS:
                raise ConfigError(f"{self.kind} {_name(desired)}: {problem.message}", obj=f"{self.kind} {_name(desired)}",
                                  hint="change one service's version per commit (MSH250), or write the weights "
                                       "explicitly in git; nothing was written")
        return steering

    def target(self, desired: dict, rules: tuple[str, ...]) -> tuple[str | None, bool]:
        if any(rule_index(desired, rule, self.layout) is None for rule in rules):
            return None, False
        target, agree = steered_target(desired, rules, self.layout)
        if not agree:
            raise ConfigError(f"{self.kind} {_name(desired)}: the rules a running rollout steers ({', '.join(rules)}) "
                              "name different versions in git", obj=f"{self.kind} {_name(desired)}",
                              hint="give them one version (or abort the rollout first); nothing was written")
        return target, True

    def weights(self, obj: dict, rules: tuple[str, ...]) -> dict[str, int]:
        return route_weights(rule_routes(obj, rules[0], self.layout), self.layout)

    # --- what each kind writes differently -------------------------------------------------------------

    def _host(self, routes: list[dict], fallback: str) -> str:
        return (self.layout.host(routes[0]) if routes else None) or fallback

    def _stage_rule(self, rule: dict, stage: Stage, position: int, routes: list[dict]) -> dict:
        raise NotImplementedError

    def _mirrored(self, rule: dict, stage: Stage, routes: list[dict]) -> None:
        raise NotImplementedError

    def _unmirrored(self, rule: dict, versions: set[str]) -> None:
        raise NotImplementedError

    # --- writing ------------------------------------------------------------------------------------

    def _canary_routes(self, routes: list[dict], canary: str) -> list[dict]:
        """The steered routes sending everything to `canary` (what an A/B rule routes)."""
        return split_routes(routes, {canary: 100}, host=self._host(routes, canary), layout=self.layout)

    def with_weights(self, obj: dict, rules: tuple[str, ...], weights: Mapping[str, int] | None,
                     *, like: dict | None = None, stage: Stage | None = None) -> dict:
        changed = copy.deepcopy(obj)
        section = self.layout.section
        listed = (changed.get("spec") or {}).get(section)
        if not isinstance(listed, list):
            return changed
        changed["spec"][section] = [rule for rule in listed if not is_stage_rule(rule)]
        versions = set(weights or {}) | ({stage.canary} if stage else set())
        for rule in rules:
            index = rule_index(changed, rule, self.layout)
            if index is None:
                continue
            entry = changed["spec"][section][index]
            versions |= set(route_weights(entry.get(self.layout.routes_key), self.layout))
            source = rule_routes(like, rule, self.layout) if like is not None else None
            versions |= set(route_weights(source, self.layout))
            if weights is None:
                if source is not None:
                    entry[self.layout.routes_key] = copy.deepcopy(source)
                continue
            base = source or entry.get(self.layout.routes_key) or []
            entry[self.layout.routes_key] = split_routes(base, weights, host=self._host(base, _name(obj)), layout=self.layout)
        for rule in rules:
            index = rule_index(changed, rule, self.layout)
            if index is not None:
                self._unmirrored(changed["spec"][section][index], versions)
        if stage is not None:
            self._staged(changed, rules, stage)
        return changed

    def _staged(self, obj: dict, rules: tuple[str, ...], stage: Stage) -> None:
        """Insert the A/B rules before the steered rules, or mirror the steered rules."""
        section = obj["spec"][self.layout.section]
        for position, rule in enumerate(rules):
            index = rule_index(obj, rule, self.layout)
            if index is None:
                continue
            routes = section[index].get(self.layout.routes_key) or []
            if stage.kind == MIRROR:
                self._mirrored(section[index], stage, routes)
            elif stage.kind == AB:
                section.insert(index, self._stage_rule(section[index], stage, position, routes))

    def route_ops(self, obj: dict, rules: tuple[str, ...], weights: Mapping[str, int], *,
                  stage: Stage | None = None) -> list[dict]:
        section, routes_key = self.layout.section, self.layout.routes_key
        missing = [rule for rule in rules if rule_index(obj, rule, self.layout) is None]
        if missing:
            raise UsageError(f"{self.kind} {_name(obj)} has no HTTP rule {missing[0]!r}", obj=_name(obj),
                             hint="the rollout steers that rule; restore it in git and apply")
        written = self.with_weights(obj, rules, weights, stage=stage)
        guards = []
        for rule in rules:
            index = rule_index(obj, rule, self.layout)
            guard = obj["spec"][section][index].get("name")
            if guard is not None:
                guards.append((index, {"op": "test", "path": f"/spec/{section}/{index}/name", "value": guard}))
        routes_only = copy.deepcopy(obj)
        for rule in rules:
            index = rule_index(obj, rule, self.layout)
            routes_only["spec"][section][index][routes_key] = written["spec"][section][rule_index(written, rule, self.layout)][routes_key]
        if routes_only["spec"][section] != written["spec"][section]:
            # The list changes shape (A/B rules in or out) or a mirror moves: one replace of the list.
            return [op for _, op in guards] + [{"op": "replace", "path": f"/spec/{section}", "value": written["spec"][section]}]
        operations: list[dict] = []
        for rule in rules:
            index = rule_index(obj, rule, self.layout)
            operations += [op for at, op in guards if at == index]
            operations.append({"op": "replace" if routes_key in obj["spec"][section][index] else "add",
                               "path": f"/spec/{section}/{index}/{routes_key}",
                               "value": written["spec"][section][index][routes_key]})
        return operations


def _with_headers(match: dict[str, Any] | None, headers: dict[str, Any], *, gateway_api: bool) -> dict:
    """`match` (one alternative of a rule's matches) that also requires `headers`."""
    merged = copy.deepcopy(match or {})
    if gateway_api:
        listed = [entry for entry in merged.get("headers") or [] if entry.get("name") not in headers]
        for name, condition in sorted(headers.items()):
            kind, value = next(iter(condition.items()))
            listed.append({"name": name, "type": "Exact" if kind == "exact" else "RegularExpression", "value": value})
        merged["headers"] = listed
    else:
        merged["headers"] = {**(merged.get("headers") or {}), **copy.deepcopy(headers)}
    return merged


class VirtualServiceRouter(_StepRouter):
    """Steers the HTTP rules of an Istio VirtualService by subset weights (or, with the `VIRTUAL_SERVICE_HOSTS`
    layout, host weights: one Service per version)."""

    group = "networking.istio.io"
    kind = "VirtualService"

    def __init__(self, layout: Layout = VIRTUAL_SERVICE) -> None:
        self.layout = layout

    def _stage_rule(self, rule: dict, stage: Stage, position: int, routes: list[dict]) -> dict:
        kept = {key: copy.deepcopy(value) for key, value in rule.items()
                if key not in ("name", "match", "route", "mirror", "mirrorPercentage", "mirrorPercent")}
        alternatives = [_with_headers(match, alt.get("headers") or {}, gateway_api=False)
                        for match in (rule.get("match") or [None]) for alt in stage.match]
        return {"name": f"{STAGE_RULE_PREFIX}{position}", "match": alternatives, **kept,
                "route": self._canary_routes(routes, stage.canary)}

    def _mirrored(self, rule: dict, stage: Stage, routes: list[dict]) -> None:
        found = self.layout.split_of(routes)
        host = self._host(routes, stage.canary)
        rule["mirror"] = {"host": stage.canary} if found and found[0] == BY_SERVICE else {"host": host, "subset": stage.canary}
        rule["mirrorPercentage"] = {"value": float(stage.mirror_percent)}

    def _unmirrored(self, rule: dict, versions: set[str]) -> None:
        mirror = rule.get("mirror")
        if isinstance(mirror, dict) and (mirror.get("subset") or mirror.get("host")) in versions:
            rule.pop("mirror", None)
            rule.pop("mirrorPercentage", None)


MIRROR_FILTER = "RequestMirror"


class HTTPRouteRouter(_StepRouter):
    """Steers the backendRefs weights of a Gateway API HTTPRoute between one Service per version."""

    group = GATEWAY_API_GROUP
    kind = "HTTPRoute"
    layout = HTTP_ROUTE

    def _stage_rule(self, rule: dict, stage: Stage, position: int, routes: list[dict]) -> dict:
        kept = {key: copy.deepcopy(value) for key, value in rule.items() if key not in ("name", "matches", "backendRefs")}
        if kept.get("filters"):
            kept["filters"] = [f for f in kept["filters"] if f.get("type") != MIRROR_FILTER]
        alternatives = [_with_headers(match, alt.get("headers") or {}, gateway_api=True)
                        for match in (rule.get("matches") or [None]) for alt in stage.match]
        return {"name": f"{STAGE_RULE_PREFIX}{position}", "matches": alternatives, **kept,
                "backendRefs": self._canary_routes(routes, stage.canary)}

    def _mirrored(self, rule: dict, stage: Stage, routes: list[dict]) -> None:
        canary = next((ref for ref in routes if ref.get("name") == stage.canary), routes[0] if routes else {})
        backend = {key: copy.deepcopy(value) for key, value in canary.items() if key not in ("weight", "filters")}
        backend["name"] = stage.canary
        rule.setdefault("filters", []).append({"type": MIRROR_FILTER, "requestMirror": {
            "backendRef": backend, "percent": stage.mirror_percent}})

    def _unmirrored(self, rule: dict, versions: set[str]) -> None:
        filters = rule.get("filters")
        if not isinstance(filters, list):
            return
        kept = [f for f in filters if not (f.get("type") == MIRROR_FILTER
                                           and ((f.get("requestMirror") or {}).get("backendRef") or {}).get("name") in versions)]
        if len(kept) != len(filters):
            if kept:
                rule["filters"] = kept
            else:
                rule.pop("filters")


VIRTUAL_SERVICE_ROUTER = VirtualServiceRouter()
# A VirtualService split between two Services (the policy's stableService/canaryService).
VIRTUAL_SERVICE_HOST_ROUTER = VirtualServiceRouter(VIRTUAL_SERVICE_HOSTS)
HTTP_ROUTE_ROUTER = HTTPRouteRouter()
# (group, kind) -> the router for objects of that kind.
ROUTERS: dict[tuple[str, str], Router] = {(router.group, router.kind): router
                                          for router in (VIRTUAL_SERVICE_ROUTER, HTTP_ROUTE_ROUTER)}
# kind -> router (kinds are unique across the routers' groups).
ROUTERS_BY_KIND: dict[str, Router] = {router.kind: router for router in ROUTERS.values()}
# kind -> the router of a rollout that splits by Service where the kind's own router does not.
BY_SERVICE_ROUTERS: dict[str, Router] = {VIRTUAL_SERVICE_HOST_ROUTER.kind: VIRTUAL_SERVICE_HOST_ROUTER}


def router_for(kind: str, *, by_service: bool) -> Router:
    """The router of a `kind` rollout whose versions are Services (`by_service`) or subsets."""
    return (BY_SERVICE_ROUTERS.get(kind) if by_service else None) or ROUTERS_BY_KIND[kind]

