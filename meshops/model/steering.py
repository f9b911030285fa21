"""Which HTTP rules of a VirtualService a rollout steers: read from git's object and the cluster's.

A version change in git is a change of the subset one or more HTTP rules route to. The rules a
rollout steers are exactly the ones git moves from the version the cluster routes now (the stable)
to another (the canary): a rule routing to one subset alone, or to a second subset at weight 0,
"names" that version. Whatever their names and however many there are — one unnamed rule, a
`default` rule after header-matched test routes, several URI rules that all carry the stable —
they are steered together, with the same weights. Rules are identified by name, or by position
(`#2`) when unnamed.

A change meshops cannot turn into one rollout is a `SteeringProblem`, never a silent cut-over:
rules moving to different versions (or from different stables, or of different hosts) at once,
unnamed rules that moved while a new version appears, and TCP/TLS routes whose version changes
(meshops steps HTTP routes only). Validation reports them (MSH250/MSH251) and the rollout overlay
refuses the ambiguous ones before any write. Pure functions over dicts: validate and rollout share
them, so the finding and the refusal can never disagree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TOTAL_WEIGHT = 100
# Route sections Istio has besides `http`: meshops does not step their weights.
OTHER_SECTIONS = ("tcp", "tls")
AMBIGUOUS = "ambiguous"  # an error: the change cannot be one rollout
NOT_STEPPED = "not-stepped"  # a warning: the change is applied at once


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _rules(vs: dict | None, section: str = "http") -> list:
    rules = _mapping(_mapping(vs).get("spec")).get(section)
    return rules if isinstance(rules, list) else []


def rule_id(rule: Any, index: int) -> str:
    """How a rollout names an HTTP rule: its `name`, or `#<index>` when it has none."""
    name = _mapping(rule).get("name")
    return name if isinstance(name, str) and name else f"#{index}"


def rule_index(vs: dict | None, rule: str) -> int | None:
    """Position of the HTTP rule `rule` (a name, or `#<index>`) in `spec.http`, or None."""
    for index, candidate in enumerate(_rules(vs)):
        if isinstance(candidate, dict) and rule_id(candidate, index) == rule:
            return index
    return None


def rule_routes(vs: dict | None, rule: str) -> list[dict] | None:
    """The `route` list of HTTP rule `rule`, or None when there is no such rule."""
    index = rule_index(vs, rule)
    if index is None:
        return None
    routes = vs["spec"]["http"][index].get("route")
    return routes if isinstance(routes, list) else []


def subset_of(route: Any) -> str | None:
    destination = _mapping(route).get("destination")
    subset = _mapping(destination).get("subset")
    return subset if isinstance(subset, str) else None


def host_of(route: Any) -> str | None:
    host = _mapping(_mapping(route).get("destination")).get("host")
    return host if isinstance(host, str) else None


def route_weights(routes: list[dict] | None) -> dict[str, int]:
    """subset -> weight, in route order; a lone destination without a weight gets 100 (Istio's rule)."""
    weights: dict[str, int] = {}
    for route in routes or []:
        subset = subset_of(route)
        if subset is None:
            continue
        weight = _mapping(route).get("weight")
        weights[subset] = weights.get(subset, 0) + (int(weight) if isinstance(weight, (int, float)) else 0)
    if len(routes or []) == 1 and not _mapping((routes or [{}])[0]).get("weight"):
        return {subset: TOTAL_WEIGHT for subset in weights}
    return weights


def first_subset(routes: list[dict] | None) -> str | None:
    """The subset of the first route: the stable version in what templates and rollouts write."""
    for route in routes or []:
        subset = subset_of(route)
        if subset is not None:
            return subset
    return None


def subset_host(routes: Any) -> str | None:
    """The one host `routes` send to when every destination names a subset of it (steerable), else None."""
    if not isinstance(routes, list) or not routes:
        return None
    hosts = {host_of(route) for route in routes}
    if len(hosts) != 1 or None in hosts or any(subset_of(route) is None for route in routes):
        return None
    return hosts.pop()


def named_version(routes: list[dict] | None) -> str | None:
    """The version routes ask for: a lone subset, or a second subset at weight 0 (a canary to roll out).

    None for an explicit split (a canary with a weight): git then holds the weights by hand.
    """
    weights = route_weights(routes)
    if len(weights) == 1:
        return next(iter(weights))
    if len(weights) == 2 and list(weights.values())[1] == 0:
        return list(weights)[1]
    return None


@dataclass(frozen=True)
class VersionChange:
    """One rule git moves from the version the cluster routes (stable) to another (target)."""

    rule: str
    index: int  # in git's object
    host: str
    stable: str
    target: str

    def describe(self) -> str:
        return f"{self.rule} ({self.host}: {self.stable} -> {self.target})"


@dataclass(frozen=True)
class Steering:
    """What one rollout steers: these rules of one host, from `stable` to `target`, together."""

    rules: tuple[str, ...]
    host: str
    stable: str
    target: str


@dataclass(frozen=True)
class SteeringProblem:
    """A version change that cannot be rolled out step by step (see the module docstring)."""

    kind: str  # AMBIGUOUS or NOT_STEPPED
    message: str
    path: tuple  # JSON path in git's object (for the finding's file:line)


def _counterparts(desired: dict, live: dict) -> tuple[dict[str, dict], bool]:
    """Live rules by git's rule ids, and whether unnamed rules could be matched by position."""
    live_rules = _rules(live)
    by_name = {rule_id(rule, index): rule for index, rule in enumerate(live_rules)}
    same_shape = len(live_rules) == len(_rules(desired))
    if not same_shape:  # positions moved: `#<index>` ids name different rules now
        by_name = {key: rule for key, rule in by_name.items() if not key.startswith("#")}
    return by_name, same_shape


def version_changes(desired: dict, live: dict) -> tuple[list[VersionChange], list[SteeringProblem]]:
    """Every HTTP rule git moves to another version, and the problems reading them raised."""
    changes: list[VersionChange] = []
    problems: list[SteeringProblem] = []
    live_by_id, same_shape = _counterparts(desired, live)
    live_versions = {first_subset(_mapping(rule).get("route")) for rule in _rules(live)}
    for index, rule in enumerate(_rules(desired)):
        ident = rule_id(rule, index)
        routes = _mapping(rule).get("route")
        host, target = subset_host(routes), named_version(routes if isinstance(routes, list) else None)
        if host is None or target is None:
            continue
        counterpart = live_by_id.get(ident)
        if counterpart is None:
            if ident.startswith("#") and not same_shape and target not in live_versions:
                problems.append(SteeringProblem(AMBIGUOUS, (
                    f"HTTP rules without names changed places ({len(_rules(live))} -> {len(_rules(desired))} rules) "
                    f"while rule {ident} names version {target}, which nothing routes to yet: meshops cannot tell "
                    "which rule carried the traffic it would roll out"), ("spec", "http", index)))
            continue
        live_routes = _mapping(counterpart).get("route")
        stable = first_subset(live_routes if isinstance(live_routes, list) else None)
        if stable is None or subset_host(live_routes) != host or target == stable:
            continue
        changes.append(VersionChange(rule=ident, index=index, host=host, stable=stable, target=target))
    return changes, problems


def _other_section_problems(desired: dict, live: dict) -> list[SteeringProblem]:
    problems = []
    for section in OTHER_SECTIONS:
        live_rules = _rules(live, section)
        for index, rule in enumerate(_rules(desired, section)):
            if index >= len(live_rules):
                break
            target = named_version(_mapping(rule).get("route"))
            stable = first_subset(_mapping(live_rules[index]).get("route"))
            if target and stable and target != stable and subset_host(_mapping(rule).get("route")):
                problems.append(SteeringProblem(NOT_STEPPED, (
                    f"{section} rule {index} moves from {stable} to {target} at once: meshops rolls out HTTP routes "
                    "step by step, TCP and TLS routes are switched in one write"), ("spec", section, index, "route")))
    return problems


def plan_steering(desired: dict, live: dict | None) -> tuple[Steering | None, list[SteeringProblem]]:
    """The rollout git's change of `live` into `desired` asks for (None: no version change), and its problems."""
    if not isinstance(live, dict):
        return None, []
    changes, problems = version_changes(desired, live)
    problems += _other_section_problems(desired, live)
    if not changes:
        return None, problems
    pairs = {(change.host, change.stable, change.target) for change in changes}
    if len(pairs) > 1:
        listed = ", ".join(change.describe() for change in changes)
        problems.append(SteeringProblem(AMBIGUOUS, (
            f"HTTP rules change to different versions at once: {listed}; one rollout moves one host from one "
            "version to one other"), ("spec", "http", changes[0].index)))
        return None, problems
    host, stable, target = pairs.pop()
    return Steering(rules=tuple(change.rule for change in changes), host=host, stable=stable, target=target), problems


def steered_target(desired: dict, rules: tuple[str, ...]) -> tuple[str | None, bool]:
    """The version git names on the steered `rules` (None: an explicit split), and whether they agree."""
    targets = {named_version(rule_routes(desired, rule)) for rule in rules}
    if len(targets) > 1:
        return None, False
    return targets.pop(), True
