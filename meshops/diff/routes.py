"""Route-level summary of VirtualService changes: `reviews: v1 90→75, v2 10→25`.

Reviewers of a mesh change care about where traffic goes, not about YAML lines. For every
VirtualService in a plan this compares the weight each destination gets in each HTTP rule.
"""
from __future__ import annotations

from .plan import Action, Change

MISSING = "–"
# The rule our templates name `default` carries the service's stable/canary split.
DEFAULT_RULE = "default"


def _weights(vs: dict | None) -> dict[str, dict[str, int]]:
    """rule name (or index) -> destination label -> weight (a lone destination gets 100)."""
    rules: dict[str, dict[str, int]] = {}
    for index, rule in enumerate(((vs or {}).get("spec") or {}).get("http") or []):
        destinations = rule.get("route") or []
        weights: dict[str, int] = {}
        for destination in destinations:
            target = destination.get("destination") or {}
            label = target.get("subset") or target.get("host") or "?"
            weight = destination.get("weight")
            weights[label] = int(weight) if weight is not None else (100 if len(destinations) == 1 else 0)
        rules[str(rule.get("name") or index)] = weights
    return rules


def route_changes(change: Change) -> list[str]:
    """`name[/rule]: subset before→after, …` lines for one VirtualService change (empty if none)."""
    if change.key.kind != "VirtualService" or change.action not in (Action.CREATE, Action.UPDATE, Action.PRUNE):
        return []
    before = _weights(change.live_normalized)
    after = _weights(change.desired_normalized)
    lines = []
    for rule in sorted(set(before) | set(after), key=lambda r: (r not in after, r)):
        old, new = before.get(rule, {}), after.get(rule, {})
        if old == new:
            continue
        parts = []
        for label in sorted(set(old) | set(new)):
            a, b = old.get(label), new.get(label)
            if a != b:
                parts.append(f"{label} {MISSING if a is None else a}→{MISSING if b is None else b}")
        if parts:
            single = len(after) <= 1 and len(before) <= 1
            name = change.key.name if single or rule == DEFAULT_RULE else f"{change.key.name}/{rule}"
            lines.append(f"{name}: {', '.join(parts)}")
    return lines
