"""The routes of the rule a rollout steers: reading a split from a VirtualService, writing one back.

A rollout only ever changes the `route` list of one named HTTP rule (`default` in our templates).
Every split it writes sums to 100; a version at 100 % is written as a lone destination without a
weight, exactly as the templates render a service without a canary, so a finished rollout and git
agree field for field.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

TOTAL_WEIGHT = 100


def rule_index(vs: dict | None, rule: str) -> int | None:
    """Position of the HTTP rule named `rule` in `spec.http`, or None."""
    for index, candidate in enumerate(((vs or {}).get("spec") or {}).get("http") or []):
        if isinstance(candidate, dict) and candidate.get("name") == rule:
            return index
    return None


def rule_routes(vs: dict | None, rule: str) -> list[dict] | None:
    """The `route` list of the named rule, or None when there is no such rule."""
    index = rule_index(vs, rule)
    if index is None:
        return None
    routes = vs["spec"]["http"][index].get("route")
    return routes if isinstance(routes, list) else []


def _subset(route: Any) -> str | None:
    destination = route.get("destination") if isinstance(route, dict) else None
    return destination.get("subset") if isinstance(destination, dict) else None


def route_weights(routes: list[dict] | None) -> dict[str, int]:
    """subset -> weight, in route order; a lone destination without a weight gets 100 (Istio's rule)."""
    weights: dict[str, int] = {}
    for route in routes or []:
        subset = _subset(route)
        if subset is None:
            continue
        weight = route.get("weight")
        weights[subset] = weights.get(subset, 0) + (int(weight) if isinstance(weight, (int, float)) else 0)
    if len(routes or []) == 1 and not (routes or [{}])[0].get("weight"):
        return {subset: TOTAL_WEIGHT for subset in weights}
    return weights


def first_subset(routes: list[dict] | None) -> str | None:
    """The subset of the first route: the stable version in what templates and rollouts write."""
    for route in routes or []:
        subset = _subset(route)
        if subset is not None:
            return subset
    return None


def split_routes(routes: list[dict] | None, weights: Mapping[str, int], *, host: str) -> list[dict]:
    """Routes sending `weights` (subset -> percent, summing to 100) to the subsets, in that order.

    Each entry keeps whatever else the live entry for its subset carries (headers, …); a new subset
    copies the first entry's destination with only the subset changed.
    """
    if sum(weights.values()) != TOTAL_WEIGHT or any(weight < 0 for weight in weights.values()):
        raise ValueError(f"route weights must be non-negative and sum to {TOTAL_WEIGHT}, got {dict(weights)}")
    by_subset = {_subset(route): route for route in routes or [] if _subset(route) is not None}
    template = next(iter(by_subset.values()), None)
    written: list[dict] = []
    for subset, weight in weights.items():
        if subset in by_subset:
            entry = copy.deepcopy(by_subset[subset])
        elif template is not None:
            entry = copy.deepcopy(template)
            entry["destination"]["subset"] = subset
        else:
            entry = {"destination": {"host": host, "subset": subset}}
        entry["weight"] = weight
        written.append(entry)
    if len(written) == 1:
        written[0].pop("weight", None)
    return written


def describe_weights(weights: Mapping[str, int]) -> str:
    """`v1 90 / v2 10`: a split as people read it in events, status and progress lines."""
    return " / ".join(f"{subset} {weight}" for subset, weight in weights.items())
