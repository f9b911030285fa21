"""While a rollout runs, its VirtualService weights belong to it, not to git.

`rollout_overlay(desired, live)` is the hook diff and apply call for every object: for a
VirtualService whose live `meshops.dev/rollout` annotation says a rollout is active, the routes
of the rule the rollout steers are taken from the live object, so diff shows route changes but not
the weight steps, and apply never resets a canary mid-way. Everything else passes through.
"""
from __future__ import annotations

import copy
import json

from ..manifest import ROLLOUT_ANNOTATION

# Phases in which the rollout, not git, decides the weights.
ACTIVE_PHASES = frozenset({"Initializing", "Progressing", "Paused", "Promoting", "RollingBack"})
DEFAULT_RULE = "default"


def rollout_state(obj: dict | None) -> dict | None:
    """The parsed rollout annotation of an object, or None."""
    raw = ((obj or {}).get("metadata") or {}).get("annotations", {}).get(ROLLOUT_ANNOTATION)
    if not raw:
        return None
    try:
        state = json.loads(raw)
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def rollout_overlay(desired: dict, live: dict | None) -> dict:
    """`desired` with the steered rule's routes taken from `live` while a rollout is active."""
    if desired.get("kind") != "VirtualService" or live is None:
        return desired
    state = rollout_state(live)
    if not state or state.get("phase") not in ACTIVE_PHASES:
        return desired
    rule_name = state.get("rule", DEFAULT_RULE)
    live_rules = {rule.get("name"): rule for rule in (live.get("spec") or {}).get("http") or []}
    if rule_name not in live_rules:
        return desired
    overlaid = copy.deepcopy(desired)
    for rule in (overlaid.get("spec") or {}).get("http") or []:
        if rule.get("name") == rule_name:
            rule["route"] = copy.deepcopy(live_rules[rule_name].get("route") or [])
    annotations = overlaid.setdefault("metadata", {}).setdefault("annotations", {})
    annotations[ROLLOUT_ANNOTATION] = live["metadata"]["annotations"][ROLLOUT_ANNOTATION]
    return overlaid
