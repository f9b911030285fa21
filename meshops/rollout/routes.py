"""Writing a split into a route list, and showing one: the rollout's side of route steering.

A rollout only ever changes the destinations of the HTTP rules it steers (which ones:
`model.steering`). Every split it writes sums to 100. On a VirtualService a version at 100 % is
written as a lone destination without a weight, exactly as the templates render a service
without a canary; on an HTTPRoute the lone backendRef keeps `weight: 100`, as the templates write
it (the Gateway API would default a missing weight to 1). So a finished rollout and git agree
field for field.
"""
from __future__ import annotations

import copy
from typing import Mapping

from ..model.steering import BY_SERVICE, TOTAL_WEIGHT, VIRTUAL_SERVICE, Layout


def retarget(entry: dict, version: str, *, layout: Layout, split: str) -> dict:
    """A copy of destination `entry` sending to `version` instead (a subset, or a Service)."""
    changed = copy.deepcopy(entry)
    if layout.kind == "HTTPRoute":
        changed["name"] = version
    elif split == BY_SERVICE:
        changed.setdefault("destination", {})["host"] = version
        changed["destination"].pop("subset", None)
    else:
        changed.setdefault("destination", {})["subset"] = version
    return changed


def split_routes(routes: list[dict] | None, weights: Mapping[str, int], *, host: str,
                 layout: Layout = VIRTUAL_SERVICE, split: str | None = None) -> list[dict]:
    """Routes sending `weights` (version -> percent, summing to 100) to the versions, in that order.

    Each entry keeps whatever else the live entry for its version carries (headers, port, …); a new
    version copies the first entry with only the version changed.
    """
    if sum(weights.values()) != TOTAL_WEIGHT or any(weight < 0 for weight in weights.values()):
        raise ValueError(f"route weights must be non-negative and sum to {TOTAL_WEIGHT}, got {dict(weights)}")
    found = layout.split_of(routes)
    split = split or (found[0] if found else None)
    by_version = {layout.version(route): route for route in routes or [] if layout.version(route) is not None}
    template = next(iter(by_version.values()), None)
    written: list[dict] = []
    for version, weight in weights.items():
        if version in by_version:
            entry = copy.deepcopy(by_version[version])
        elif template is not None:
            entry = retarget(template, version, layout=layout, split=split or "")
        elif layout.kind == "HTTPRoute":
            entry = {"name": version}
        else:
            entry = {"destination": {"host": host, "subset": version} if split != BY_SERVICE else {"host": version}}
        entry["weight"] = weight
        written.append(entry)
    if len(written) == 1 and layout.kind != "HTTPRoute":
        written[0].pop("weight", None)
    return written


def describe_weights(weights: Mapping[str, int]) -> str:
    """`v1 90 / v2 10`: a split as people read it in events, status and progress lines."""
    return " / ".join(f"{version} {weight}" for version, weight in weights.items())
