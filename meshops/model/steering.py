"""Which HTTP rules of a route object a rollout steers: read from git's object and the cluster's.

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

Two kinds of object are read, each through its `Layout`: an Istio VirtualService (`spec.http[].route`,
a version is a subset of one host — or, when its rollout policy names stableService/canaryService
(`VIRTUAL_SERVICE_HOSTS`), a host: one Service per version) and a Gateway API HTTPRoute (`spec.rules[].backendRefs`, a version is a backend Service). Rules whose
name starts with `STAGE_RULE_PREFIX` are a running rollout's own A/B rules: they are invisible here,
so rule ids (`#<index>`) and version changes read the same with or without them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

TOTAL_WEIGHT = 100
# Route sections Istio has besides `http`: meshops does not step their weights.
OTHER_SECTIONS = ("tcp", "tls")
AMBIGUOUS = "ambiguous"  # an error: the change cannot be one rollout
NOT_STEPPED = "not-stepped"  # a warning: the change is applied at once
# Names of the rules a rollout inserts for an A/B stage (`meshops-ab-0` …); git never renders them.
STAGE_RULE_PREFIX = "meshops-ab-"
# How a route list splits traffic between versions: subsets of one host, or one Service per version.
BY_SUBSET = "subset"
BY_SERVICE = "service"


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Layout:
    """Where one kind keeps its HTTP rules and their destinations, and how it names a version."""

    kind: str
    section: str  # the list of HTTP rules under `spec`
    routes_key: str  # the destinations of one rule
    other_sections: tuple[str, ...] = ()
    default_weight: int = 0  # weight of a destination without one, among several
    # Whether destinations without subsets, one Service per version, are a split a rollout steers.
    # A VirtualService's are only when its rollout policy says so (stableService/canaryService):
    # otherwise a route moved to another host is git's plain edit, as it always was.
    by_service: bool = False

    def host(self, route: Any) -> str | None:
        """The Service a destination names (a VirtualService host, an HTTPRoute backend's name)."""
        if self.kind == "HTTPRoute":
            ref = _mapping(route)
            if ref.get("kind", "Service") != "Service" or ref.get("group", "") not in ("", "core"):
                return None
            name = ref.get("name")
        else:
            name = _mapping(_mapping(route).get("destination")).get("host")
        return name if isinstance(name, str) and name else None

    def subset(self, route: Any) -> str | None:
        if self.kind == "HTTPRoute":
            return None
        subset = _mapping(_mapping(route).get("destination")).get("subset")
        return subset if isinstance(subset, str) and subset else None

    def split_of(self, routes: Any) -> tuple[str, str] | None:
        """(BY_SUBSET, host) or (BY_SERVICE, "") when `routes` can be steered, else None."""
        if not isinstance(routes, list) or not routes:
            return None
        hosts = [self.host(route) for route in routes]
        subsets = [self.subset(route) for route in routes]
        if None in hosts:
            return None
        if all(subsets) and len(set(hosts)) == 1:
            return BY_SUBSET, hosts[0]
        if self.by_service and not any(subsets) and len(set(hosts)) == len(hosts):
            return BY_SERVICE, ""
        return None

    def version(self, route: Any) -> str | None:
        """What a destination names as a version: its subset, else its Service."""
        return self.subset(route) or self.host(route)


VIRTUAL_SERVICE = Layout(kind="VirtualService", section="http", routes_key="route", other_sections=OTHER_SECTIONS)
# A VirtualService whose rollout policy names stableService/canaryService: hosts are versions too.
VIRTUAL_SERVICE_HOSTS = Layout(kind="VirtualService", section="http", routes_key="route",
                               other_sections=OTHER_SECTIONS, by_service=True)
# Gateway API weights are relative and default to 1 (rollouts write weights that sum to 100).
HTTP_ROUTE = Layout(kind="HTTPRoute", section="rules", routes_key="backendRefs", default_weight=1, by_service=True)
LAYOUTS = {layout.kind: layout for layout in (VIRTUAL_SERVICE, HTTP_ROUTE)}


def is_stage_rule(rule: Any) -> bool:
    """Whether an HTTP rule is one a running rollout inserted (an A/B rule), not git's."""
    name = _mapping(rule).get("name")
    return isinstance(name, str) and name.startswith(STAGE_RULE_PREFIX)


def _all_rules(obj: dict | None, section: str) -> list:
    rules = _mapping(_mapping(obj).get("spec")).get(section)
    return rules if isinstance(rules, list) else []


def _indexed(obj: dict | None, layout: Layout) -> Iterator[tuple[int, int, Any]]:
    """(position in the list, position among git's rules, rule) for every rule that is not a stage rule."""
    logical = 0
    for position, rule in enumerate(_all_rules(obj, layout.section)):
        if is_stage_rule(rule):
            continue
        yield position, logical, rule
        logical += 1


def _rules(obj: dict | None, layout: Layout = VIRTUAL_SERVICE, section: str | None = None) -> list:
    if section is not None:
        return _all_rules(obj, section)
    return [rule for _, _, rule in _indexed(obj, layout)]


def rule_id(rule: Any, index: int) -> str:
    """How a rollout names an HTTP rule: its `name`, or `#<index>` when it has none."""
    name = _mapping(rule).get("name")
    return name if isinstance(name, str) and name else f"#{index}"


def rule_index(obj: dict | None, rule: str, layout: Layout = VIRTUAL_SERVICE) -> int | None:
    """Position in the rule list of the HTTP rule `rule` (a name, or `#<index>` among git's rules), or None."""
    for position, logical, candidate in _indexed(obj, layout):
        if isinstance(candidate, dict) and rule_id(candidate, logical) == rule:
            return position
    return None


def rule_routes(obj: dict | None, rule: str, layout: Layout = VIRTUAL_SERVICE) -> list[dict] | None:
    """The destinations of HTTP rule `rule`, or None when there is no such rule."""
    index = rule_index(obj, rule, layout)
    if index is None:
        return None
    routes = obj["spec"][layout.section][index].get(layout.routes_key)
    return routes if isinstance(routes, list) else []


def subset_of(route: Any) -> str | None:
    return VIRTUAL_SERVICE.subset(route)


def host_of(route: Any) -> str | None:
    return VIRTUAL_SERVICE.host(route)


def route_weights(routes: list[dict] | None, layout: Layout = VIRTUAL_SERVICE) -> dict[str, int]:
    """version -> weight, in route order; a lone destination without a weight gets 100 (Istio's rule;
    a lone backendRef gets every request whatever its weight)."""
    weights: dict[str, int] = {}
    listed = routes or []
    for route in listed:
        version = layout.version(route)
        if version is None:
            continue
        weight = _mapping(route).get("weight", layout.default_weight)
        weights[version] = weights.get(version, 0) + (int(weight) if isinstance(weight, (int, float)) else 0)
    if len(listed) == 1 and (layout.kind == "HTTPRoute" or not _mapping(listed[0]).get("weight")):
        return {version: TOTAL_WEIGHT for version in weights}
    return weights


def first_version(routes: list[dict] | None, layout: Layout = VIRTUAL_SERVICE) -> str | None:
    """The version of the first destination: the stable version in what templates and rollouts write."""
    for route in routes or []:
        version = layout.version(route)
        if version is not None:
            return version
    return None


def subset_host(routes: Any) -> str | None:
    """The one host `routes` send to when every destination names a subset of it, else None."""
    split = VIRTUAL_SERVICE.split_of(routes)
    return split[1] if split and split[0] == BY_SUBSET else None


def named_version(routes: list[dict] | None, layout: Layout = VIRTUAL_SERVICE) -> str | None:
    """The version routes ask for: a lone destination, or a second one at weight 0 (a canary to roll out).

    None for an explicit split (a canary with a weight): git then holds the weights by hand.
    """
    weights = route_weights(routes, layout)
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
    split: str = BY_SUBSET

    def describe(self) -> str:
        where = f"{self.host}: " if self.host else ""
        return f"{self.rule} ({where}{self.stable} -> {self.target})"


@dataclass(frozen=True)
class Steering:
    """What one rollout steers: these rules, from `stable` to `target`, together.

    `split` says what a version is: a subset of `host` (BY_SUBSET), or a Service (BY_SERVICE, `host` "")."""

    rules: tuple[str, ...]
    host: str
    stable: str
    target: str
    split: str = BY_SUBSET


@dataclass(frozen=True)
class SteeringProblem:
    """A version change that cannot be rolled out step by step (see the module docstring)."""

    kind: str  # AMBIGUOUS or NOT_STEPPED
    message: str
    path: tuple  # JSON path in git's object (for the finding's file:line)


def version_changes(desired: dict, live: dict, layout: Layout = VIRTUAL_SERVICE
                    ) -> tuple[list[VersionChange], list[SteeringProblem]]:
    """Every HTTP rule git moves to another version, and the problems reading them raised."""
    changes: list[VersionChange] = []
    problems: list[SteeringProblem] = []
    live_rules = _rules(live, layout)
    desired_rules = list(_indexed(desired, layout))
    # Live rules by git's rule ids; when the count changed, positions moved and `#<index>` ids name other rules.
    same_shape = len(live_rules) == len(desired_rules)
    live_by_id = {rule_id(rule, index): rule for index, rule in enumerate(live_rules)}
    if not same_shape:
        live_by_id = {key: rule for key, rule in live_by_id.items() if not key.startswith("#")}
    live_versions: set | None = None  # what the cluster routes to, read only when a rule has no counterpart
    for position, index, rule in desired_rules:
        ident = rule_id(rule, index)
        routes = _mapping(rule).get(layout.routes_key)
        split = layout.split_of(routes)
        target = named_version(routes if isinstance(routes, list) else None, layout)
        if split is None or target is None:
            continue
        counterpart = live_by_id.get(ident)
        if counterpart is None:
            if ident.startswith("#") and not same_shape:
                if live_versions is None:
                    live_versions = {first_version(_mapping(live_rule).get(layout.routes_key), layout)
                                     for live_rule in live_rules}
                if target not in live_versions:
                    problems.append(SteeringProblem(AMBIGUOUS, (
                        f"HTTP rules without names changed places ({len(live_rules)} -> {len(desired_rules)} rules) "
                        f"while rule {ident} names version {target}, which nothing routes to yet: meshops cannot "
                        "tell which rule carried the traffic it would roll out"),
                        ("spec", layout.section, position)))
            continue
        live_routes = _mapping(counterpart).get(layout.routes_key)
        stable = first_version(live_routes if isinstance(live_routes, list) else None, layout)
        if stable is None or target == stable or layout.split_of(live_routes) != split:
            continue
        changes.append(VersionChange(rule=ident, index=position, host=split[1], stable=stable, target=target,
                                     split=split[0]))
    return changes, problems


def _other_section_problems(desired: dict, live: dict, layout: Layout) -> list[SteeringProblem]:
    problems = []
    for section in layout.other_sections:
        live_rules = _rules(live, section=section)
        for index, rule in enumerate(_rules(desired, section=section)):
            if index >= len(live_rules):
                break
            target = named_version(_mapping(rule).get("route"))
            stable = first_version(_mapping(live_rules[index]).get("route"))
            if target and stable and target != stable and subset_host(_mapping(rule).get("route")):
                problems.append(SteeringProblem(NOT_STEPPED, (
                    f"{section} rule {index} moves from {stable} to {target} at once: meshops rolls out HTTP routes "
                    "step by step, TCP and TLS routes are switched in one write"), ("spec", section, index, "route")))
    return problems


def plan_steering(desired: dict, live: dict | None, layout: Layout = VIRTUAL_SERVICE
                  ) -> tuple[Steering | None, list[SteeringProblem]]:
    """The rollout git's change of `live` into `desired` asks for (None: no version change), and its problems."""
    if not isinstance(live, dict):
        return None, []
    changes, problems = version_changes(desired, live, layout)
    problems += _other_section_problems(desired, live, layout)
    if not changes:
        return None, problems
    pairs = {(change.split, change.host, change.stable, change.target) for change in changes}
    if len(pairs) > 1:
        listed = ", ".join(change.describe() for change in changes)
        problems.append(SteeringProblem(AMBIGUOUS, (
            f"HTTP rules change to different versions at once: {listed}; one rollout moves one host from one "
            "version to one other"), ("spec", layout.section, changes[0].index)))
        return None, problems
    split, host, stable, target = pairs.pop()
    return Steering(rules=tuple(change.rule for change in changes), host=host, stable=stable, target=target,
                    split=split), problems


def steered_target(desired: dict, rules: tuple[str, ...], layout: Layout = VIRTUAL_SERVICE) -> tuple[str | None, bool]:
    """The version git names on the steered `rules` (None: an explicit split), and whether they agree."""
    targets = {named_version(rule_routes(desired, rule, layout), layout) for rule in rules}
    if len(targets) > 1:
        return None, False
    return targets.pop(), True
