"""MSH2xx route rules inside one VirtualService: weights, unreachable rules, JWT-claim matches, and
whether a version change can be rolled out step by step.

Istio evaluates `http` rules in order and the first match wins, so a rule after a catch-all (no
`match`, or conditions that cover it) never runs — the canary header route written after the
default route is the classic case. Weights must be non-negative and not all zero; since Istio 1.15
a sum other than 100 is normalized, which is legal but rarely what the author meant. With the
cluster's objects at hand, a change of the version rules route to is checked the way the rollout
overlay reads it (`model.steering`): one that cannot be one rollout is an error (apply refuses it
before any write), a TCP/TLS version change a warning (it is switched at once).
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterator

from ...model.steering import AMBIGUOUS, HTTP_ROUTE, VIRTUAL_SERVICE, plan_steering
from ...yamlio.documents import Path
from ..findings import Finding, Rule, Severity
from ..index import GATEWAY_API, NETWORKING, mapping, sequence, text
from .. import hosts
from .context import Context
from .references import ROUTE_SECTIONS

RULES = (
    Rule("MSH213", Severity.ERROR, "Route weights are negative or all zero"),
    Rule("MSH214", Severity.WARNING, "Route weights do not sum to 100 (Istio normalizes them)"),
    Rule("MSH215", Severity.WARNING, "HTTP rule can never match: an earlier rule catches its requests",
         "IST0130 VirtualServiceUnreachableRule"),
    Rule("MSH216", Severity.WARNING, "HTTP rule repeats the match of an earlier rule", "IST0131 VirtualServiceIneffectiveMatch"),
    Rule("MSH217", Severity.WARNING, "Route matches JWT claims where none are set (not on a gateway, or no RequestAuthentication)",
         "IST0149 JwtClaimBasedRoutingWithoutRequestAuthN"),
    Rule("MSH250", Severity.ERROR, "Version change cannot be rolled out step by step (ambiguous steered routes)"),
    Rule("MSH251", Severity.WARNING, "Version change of a TCP/TLS route is switched at once, not rolled out"),
)

CLAIM_HEADER_PREFIX = "@request.auth.claims"
# Match keys that label or tune a condition rather than restrict it.
NON_CONDITIONS = {"name", "statPrefix"}
# Every request path starts with "/": this uri condition restricts nothing.
EVERY_PATH = {"prefix": "/"}


def _weight(route: Any) -> int | None:
    weight = mapping(route).get("weight")
    return weight if isinstance(weight, int) and not isinstance(weight, bool) else None


def check_weights(context: Context) -> Iterator[Finding]:
    """MSH213/MSH214 for every route list with weights."""
    for entry in context.index.of_kind(NETWORKING, "VirtualService"):
        for section in ROUTE_SECTIONS:
            for rule_index, rule in enumerate(sequence(entry.spec.get(section))):
                routes = sequence(mapping(rule).get("route"))
                path: Path = ("spec", section, rule_index, "route")
                weights = [_weight(route) for route in routes]
                if any(w is None and mapping(r).get("weight") is not None for w, r in zip(weights, routes)):
                    continue  # a weight that is not a number: the schema checks report it
                negative = [i for i, w in enumerate(weights) if w is not None and w < 0]
                for route_index in negative:
                    yield context.finding(
                        "MSH213", entry, path + (route_index, "weight"),
                        f"weight {weights[route_index]} is negative: use 0 to send no traffic to this destination",
                    )
                if len(routes) < 2 or negative:
                    continue
                total = sum(w or 0 for w in weights)
                if total == 0:
                    yield context.finding(
                        "MSH213", entry, path,
                        f"none of the {len(routes)} destinations has a positive weight, so the route sends traffic "
                        "nowhere: give the destinations weights that sum to 100",
                    )
                elif total != 100:
                    shown = ", ".join(str(w or 0) for w in weights)
                    yield context.finding(
                        "MSH214", entry, path,
                        f"weights {shown} sum to {total}, not 100: Istio scales them to 100, "
                        "write the intended percentages so the split is what it reads",
                    )


# -- when does one match condition cover another ---------------------------------------------------


def _string_covers(general: Any, specific: Any) -> bool:
    """Whether StringMatch `general` matches every string `specific` matches."""
    general, specific = mapping(general), mapping(specific)
    if not general:
        return True  # no constraint (for headers: presence, which any value implies)
    if len(general) != 1 or len(specific) != 1:
        return general == specific
    (g_kind, g_value), (s_kind, s_value) = next(iter(general.items())), next(iter(specific.items()))
    if not isinstance(g_value, str) or not isinstance(s_value, str):
        return False
    if g_kind == "prefix":
        return s_kind in ("exact", "prefix") and s_value.startswith(g_value)
    if g_kind == "regex":
        if g_value in (".*", "^.*$"):
            return True
        if s_kind == "exact":
            try:
                return re.fullmatch(g_value, s_value) is not None
            except re.error:
                return False
    return g_kind == s_kind and g_value == s_value


def _map_covers(general: Any, specific: Any) -> bool:
    specific = mapping(specific)
    return all(name in specific and _string_covers(value, specific[name]) for name, value in mapping(general).items())


def _labels_cover(general: Any, specific: Any) -> bool:
    return mapping(general).items() <= mapping(specific).items()


def _list_covers(general: Any, specific: Any) -> bool:
    return bool(sequence(specific)) and set(map(str, sequence(specific))) <= set(map(str, sequence(general)))


# How each HTTPMatchRequest field of a general condition must relate to the specific one.
_FIELD_COVERS: dict[str, Callable[[Any, Any], bool]] = {
    "uri": _string_covers,
    "scheme": _string_covers,
    "method": _string_covers,
    "authority": _string_covers,
    "headers": _map_covers,
    "queryParams": _map_covers,
    "sourceLabels": _labels_cover,
    "gateways": _list_covers,
    "withoutHeaders": lambda general, specific: mapping(general) == mapping(specific) or not mapping(general),
    "port": lambda general, specific: general == specific,
    "sourceNamespace": lambda general, specific: general == specific,
}


def _condition_covers(general: dict, specific: dict) -> bool:
    if bool(general.get("ignoreUriCase")) != bool(specific.get("ignoreUriCase")) and "uri" in general:
        return False
    for field, value in general.items():
        if field in NON_CONDITIONS or field == "ignoreUriCase" or (field == "uri" and value == EVERY_PATH):
            continue
        covers = _FIELD_COVERS.get(field)
        # A field the specific condition leaves open is covered only by a constraint that is no constraint.
        if covers is None or not covers(value, specific.get(field)):
            return False
    return True


def _conditions(rule: Any) -> list[dict]:
    return [mapping(condition) for condition in sequence(mapping(rule).get("match"))]


def _is_catch_all(conditions: list[dict]) -> bool:
    return not conditions or any(_condition_covers(condition, {}) for condition in conditions)


def _canonical(conditions: list[dict]) -> str:
    stripped = [{k: v for k, v in c.items() if k not in NON_CONDITIONS} for c in conditions]
    return json.dumps(stripped, sort_keys=True, default=str)


def _rule_label(rules: list, index: int) -> str:
    name = text(mapping(rules[index]).get("name"))
    return f"http[{index}]" + (f" ({name})" if name else "")


def check_shadowed_rules(context: Context) -> Iterator[Finding]:
    """MSH215/MSH216: rules that an earlier catch-all, superset or identical match makes unreachable."""
    for entry in context.index.of_kind(NETWORKING, "VirtualService"):
        rules = sequence(entry.spec.get("http"))
        seen_matches: dict[str, int] = {}
        earlier: list[tuple[int, dict]] = []
        catch_all: int | None = None
        for rule_index, rule in enumerate(rules):
            conditions = _conditions(rule)
            path: Path = ("spec", "http", rule_index)
            if catch_all is not None:
                yield context.finding(
                    "MSH215", entry, path,
                    f"{_rule_label(rules, rule_index)} can never match: {_rule_label(rules, catch_all)} before it "
                    "matches every request; move this rule above it, or give that rule a `match`",
                )
                continue
            canonical = _canonical(conditions)
            if conditions and canonical in seen_matches:
                yield context.finding(
                    "MSH216", entry, path,
                    f"{_rule_label(rules, rule_index)} has the same match as {_rule_label(rules, seen_matches[canonical])}, "
                    "which wins: merge the two rules or change one match",
                )
            elif conditions and all(any(_condition_covers(g, c) for _, g in earlier) for c in conditions):
                covering = sorted({i for c in conditions for i, g in earlier if _condition_covers(g, c)})
                yield context.finding(
                    "MSH215", entry, path,
                    f"{_rule_label(rules, rule_index)} can never match: every request it matches is already matched by "
                    f"{', '.join(_rule_label(rules, i) for i in covering)}; move it above them or narrow them",
                )
            seen_matches.setdefault(canonical, rule_index)
            earlier.extend((rule_index, condition) for condition in conditions)
            if _is_catch_all(conditions):
                catch_all = rule_index


def _claim_matches(spec: dict) -> Iterator[tuple[Path, str]]:
    for rule_index, rule in enumerate(sequence(spec.get("http"))):
        for match_index, condition in enumerate(_conditions(rule)):
            for field in ("headers", "withoutHeaders"):
                for header in mapping(condition.get(field)):
                    if str(header).startswith(CLAIM_HEADER_PREFIX):
                        yield ("spec", "http", rule_index, "match", match_index, field, header), str(header)


def check_claim_routing(context: Context) -> Iterator[Finding]:
    """MSH217: `@request.auth.claims.*` matches work only on ingress gateways whose workload has a
    RequestAuthentication (Istio's JWT claim based routing); elsewhere the rule never matches."""
    index = context.index
    for entry in index.of_kind(NETWORKING, "VirtualService"):
        claims = list(_claim_matches(entry.spec))
        if not claims:
            continue
        gateway_namespaces = {
            resolved[0]
            for ref in sequence(entry.spec.get("gateways"))
            if text(ref) and (resolved := hosts.gateway_ref(ref, entry.namespace))
        }
        if not gateway_namespaces:
            problem = (
                "JWT claims are available for routing only on an ingress gateway; on sidecars (mesh) this match "
                "never succeeds: bind the VirtualService to the Gateway that validates the token"
            )
        elif ({hosts.ROOT_NAMESPACE} | gateway_namespaces) & index.request_authentication_namespaces:
            continue
        else:
            problem = (
                f"no RequestAuthentication validates tokens for the gateway workload (namespace "
                f"{', '.join(sorted(gateway_namespaces))} or {hosts.ROOT_NAMESPACE}), so the claim is never set "
                "and the rule never matches: add one selecting the gateway pods"
            )
        for path, header in claims:
            yield context.finding("MSH217", entry, path, f"matching on {header!r}: {problem}")


def check_version_changes(context: Context) -> Iterator[Finding]:
    """MSH250/MSH251 (live objects only): the rules a version change moves must make one rollout
    (VirtualServices and HTTPRoutes alike: both are rolled out)."""
    counterparts = context.index.live_counterparts
    routed = [(entry, VIRTUAL_SERVICE) for entry in context.index.of_kind(NETWORKING, "VirtualService")]
    routed += [(entry, HTTP_ROUTE) for entry in context.index.of_kind(GATEWAY_API, "HTTPRoute")]
    for entry, layout in routed:
        live = counterparts.get(entry.manifest.key) if entry.manifest else None
        if live is None:
            continue
        _, problems = plan_steering(entry.obj, live, layout)
        for problem in problems:
            code = "MSH250" if problem.kind == AMBIGUOUS else "MSH251"
            hint = ("; change one service's version per commit, or write the weights explicitly (git then owns them)"
                    if code == "MSH250" else "; write the split explicitly in git to move it in steps yourself")
            yield context.finding(code, entry, problem.path, problem.message + hint)


CHECKS = (check_weights, check_shadowed_rules, check_claim_routing, check_version_changes)
