"""Writing a split into a route list, and showing one: the rollout's side of route steering.

A rollout only ever changes the `route` lists of the HTTP rules it steers (which ones:
`model.steering`). Every split it writes sums to 100; a version at 100 % is written as a lone
destination without a weight, exactly as the templates render a service without a canary, so a
finished rollout and git agree field for field.
"""
from __future__ import annotations

import copy
from typing import Mapping

from ..model.steering import TOTAL_WEIGHT, subset_of


def split_routes(routes: list[dict] | None, weights: Mapping[str, int], *, host: str) -> list[dict]:
    """Routes sending `weights` (subset -> percent, summing to 100) to the subsets, in that order.

    Each entry keeps whatever else the live entry for its subset carries (headers, …); a new subset
    copies the first entry's destination with only the subset changed.
    """
    if sum(weights.values()) != TOTAL_WEIGHT or any(weight < 0 for weight in weights.values()):
        raise ValueError(f"route weights must be non-negative and sum to {TOTAL_WEIGHT}, got {dict(weights)}")
    by_subset = {subset_of(route): route for route in routes or [] if subset_of(route) is not None}
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
