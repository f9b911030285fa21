"""Routers: how a rollout moves traffic — read and write a rollout's weights on the object it steers.

The engine, the state, the checks and the rule "git owns the routes, the rollout owns the weights"
do not depend on how traffic is split; a `Router` does. It answers four questions about one kind
of object: which part of git's change a rollout takes over (`plan`), what that part routes now
(`weights`), the JSON Patch operations that route a new split there (`route_ops`, guarded by
`test` operations so a changed object is never overwritten), and the same change applied to an
object in memory (`with_weights`, for the diff/apply overlay). `VirtualServiceRouter` steers the
HTTP rules of an Istio VirtualService by subset (`model.steering` says which rules); a Gateway API
HTTPRoute router (backendRefs weights) is another class with the same four methods, registered in
`ROUTERS` under its (group, kind).
"""
from __future__ import annotations

import copy
from typing import Mapping, Protocol

from ..model.errors import ConfigError, UsageError
from ..model.steering import AMBIGUOUS, Steering, plan_steering, route_weights, rule_index, rule_routes, steered_target
from .routes import split_routes


class Router(Protocol):
    """What the engine, the store and the overlay need from a way of splitting traffic."""

    group: str
    kind: str

    def plan(self, desired: dict, live: dict) -> Steering | None:
        """The rollout git's change asks for (None: none); ConfigError when it cannot be one rollout."""
        ...

    def target(self, desired: dict, rules: tuple[str, ...]) -> tuple[str | None, bool]:
        """The version git names on `rules` (None: explicit weights) and whether all of them exist in git."""
        ...

    def weights(self, obj: dict, rules: tuple[str, ...]) -> dict[str, int]:
        """What `rules` of `obj` route now (the first one; a rollout keeps them equal)."""
        ...

    def route_ops(self, obj: dict, rules: tuple[str, ...], weights: Mapping[str, int]) -> list[dict]:
        """JSON Patch operations routing `weights` on `rules` of `obj` (with tests that they are still there)."""
        ...

    def with_weights(self, obj: dict, rules: tuple[str, ...], weights: Mapping[str, int] | None,
                     *, like: dict | None = None) -> dict:
        """A copy of `obj` whose `rules` route `weights` (None: as `like` routes them, or as they are)."""
        ...


class VirtualServiceRouter:
    """Steers the HTTP rules of an Istio VirtualService by subset weights."""

    group = "networking.istio.io"
    kind = "VirtualService"

    def plan(self, desired: dict, live: dict) -> Steering | None:
        steering, problems = plan_steering(desired, live)
        for problem in problems:
            if problem.kind == AMBIGUOUS:
                name = (desired.get("metadata") or {}).get("name") or "?"
                raise ConfigError(f"VirtualService {name}: {problem.message}", obj=f"VirtualService {name}",
                                  hint="change one service's version per commit (MSH250), or write the weights "
                                       "explicitly in git; nothing was written")
        return steering

    def target(self, desired: dict, rules: tuple[str, ...]) -> tuple[str | None, bool]:
        if any(rule_index(desired, rule) is None for rule in rules):
            return None, False
        target, agree = steered_target(desired, rules)
        if not agree:
            name = (desired.get("metadata") or {}).get("name") or "?"
            raise ConfigError(f"VirtualService {name}: the rules a running rollout steers ({', '.join(rules)}) name "
                              "different versions in git", obj=f"VirtualService {name}",
                              hint="give them one version (or abort the rollout first); nothing was written")
        return target, True

    def weights(self, obj: dict, rules: tuple[str, ...]) -> dict[str, int]:
        return route_weights(rule_routes(obj, rules[0]))

    def _host(self, routes: list[dict], fallback: str) -> str:
        return ((routes[0].get("destination") or {}).get("host") if routes else None) or fallback

    def route_ops(self, obj: dict, rules: tuple[str, ...], weights: Mapping[str, int]) -> list[dict]:
        name = (obj.get("metadata") or {}).get("name") or ""
        operations: list[dict] = []
        for rule in rules:
            index = rule_index(obj, rule)
            if index is None:
                raise UsageError(f"VirtualService {name} has no HTTP rule {rule!r}", obj=name,
                                 hint="the rollout steers that rule; restore it in git and apply")
            routes = rule_routes(obj, rule) or []
            written = split_routes(routes, weights, host=self._host(routes, name))
            guard = obj["spec"]["http"][index].get("name")
            if guard is not None:
                operations.append({"op": "test", "path": f"/spec/http/{index}/name", "value": guard})
            operations.append({"op": "replace" if "route" in obj["spec"]["http"][index] else "add",
                               "path": f"/spec/http/{index}/route", "value": written})
        return operations

    def with_weights(self, obj: dict, rules: tuple[str, ...], weights: Mapping[str, int] | None,
                     *, like: dict | None = None) -> dict:
        changed = copy.deepcopy(obj)
        name = (obj.get("metadata") or {}).get("name") or ""
        for rule in rules:
            index = rule_index(changed, rule)
            if index is None:
                continue
            if weights is None:
                source = rule_routes(like, rule) if like is not None else None
                if source is not None:
                    changed["spec"]["http"][index]["route"] = copy.deepcopy(source)
                continue
            base = (rule_routes(like, rule) if like is not None else None) or rule_routes(changed, rule) or []
            changed["spec"]["http"][index]["route"] = split_routes(base, weights, host=self._host(base, name))
        return changed


VIRTUAL_SERVICE_ROUTER = VirtualServiceRouter()
# (group, kind) -> the router for objects of that kind.
ROUTERS: dict[tuple[str, str], Router] = {(VIRTUAL_SERVICE_ROUTER.group, VIRTUAL_SERVICE_ROUTER.kind): VIRTUAL_SERVICE_ROUTER}
