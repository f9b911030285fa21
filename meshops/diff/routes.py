"""Route-level summary of route changes: `reviews: v1 90→75, v2 10→25`.

Reviewers of a mesh change care about where traffic goes, not about YAML lines. For every
VirtualService in a plan this compares the weight each destination (subset, else host) gets in each
HTTP rule; for every HTTPRoute and GRPCRoute, the share of each rule's requests each backendRef
gets, in percent (Gateway API weights are relative and default to 1, so `1, 1` is shown as 50, 50;
the templates' weights that sum to 100 read as written).
"""
from __future__ import annotations

from typing import Callable

from ..model.kinds import GATEWAY_API_GROUP
from .plan import Action, Change

MISSING = "–"
# The rule our templates name `default` carries the service's stable/canary split.
DEFAULT_RULE = "default"
# The Gateway API's weight of a backendRef that names none.
DEFAULT_BACKEND_WEIGHT = 1

Weights = dict[str, dict[str, float]]  # rule name (or index) -> destination label -> weight


def _virtual_service_weights(vs: dict | None) -> Weights:
    """A lone destination without weight gets 100."""
    rules: Weights = {}
    for index, rule in enumerate(((vs or {}).get("spec") or {}).get("http") or []):
        destinations = rule.get("route") or []
        weights: dict[str, float] = {}
        for destination in destinations:
            target = destination.get("destination") or {}
            label = target.get("subset") or target.get("host") or "?"
            weight = destination.get("weight")
            weights[label] = int(weight) if weight is not None else (100 if len(destinations) == 1 else 0)
        rules[str(rule.get("name") or index)] = weights
    return rules


def _share(weight: float, total: float) -> float:
    """`weight` as a percentage of `total`, to one decimal (whole numbers print without one)."""
    return round(weight * 100 / total, 1) if total else 0


def _route_weights(route: dict | None) -> Weights:
    """Each backendRef's share of its rule, in percent (`ns/name` for a backend in another namespace)."""
    rules: Weights = {}
    namespace = ((route or {}).get("metadata") or {}).get("namespace")
    for index, rule in enumerate(((route or {}).get("spec") or {}).get("rules") or []):
        backends = [ref for ref in rule.get("backendRefs") or [] if isinstance(ref, dict)]
        raw = {}
        for ref in backends:
            where = ref.get("namespace")
            label = f"{where}/{ref.get('name')}" if where and where != namespace else str(ref.get("name") or "?")
            weight = ref.get("weight", DEFAULT_BACKEND_WEIGHT)
            raw[label] = raw.get(label, 0) + (weight if isinstance(weight, (int, float)) else 0)
        total = sum(raw.values())
        rules[str(rule.get("name") or index)] = {label: _share(weight, total) for label, weight in raw.items()}
    return rules


# Kinds whose changes get a route summary: (group, kind) -> how to read its weights.
WEIGHT_READERS: dict[tuple[str, str], Callable[[dict | None], Weights]] = {
    ("networking.istio.io", "VirtualService"): _virtual_service_weights,
    (GATEWAY_API_GROUP, "HTTPRoute"): _route_weights,
    (GATEWAY_API_GROUP, "GRPCRoute"): _route_weights,
}


def _shown(weight: float | None) -> str:
    return MISSING if weight is None else f"{weight:g}"


def route_changes(change: Change) -> list[str]:
    """`name[/rule]: destination before→after, …` lines for one route change (empty if none)."""
    weights_of = WEIGHT_READERS.get((change.key.group, change.key.kind))
    if weights_of is None or change.action not in (Action.CREATE, Action.UPDATE, Action.PRUNE):
        return []
    before = weights_of(change.live_normalized)
    after = weights_of(change.desired_normalized)
    lines = []
    for rule in sorted(set(before) | set(after), key=lambda r: (r not in after, r)):
        old, new = before.get(rule, {}), after.get(rule, {})
        if old == new:
            continue
        parts = []
        for label in sorted(set(old) | set(new)):
            a, b = old.get(label), new.get(label)
            if a != b:
                parts.append(f"{label} {_shown(a)}→{_shown(b)}")
        if parts:
            single = len(after) <= 1 and len(before) <= 1
            name = change.key.name if single or rule == DEFAULT_RULE else f"{change.key.name}/{rule}"
            lines.append(f"{name}: {', '.join(parts)}")
    return lines
