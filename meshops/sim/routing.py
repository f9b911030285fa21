"""Envoy's part in the synthetic mesh: where each kind of request goes under a live route object.

`WeightFollower` hands the simulator one split per service; this module computes it the way
Istio's proxies would route: requests come in classes (`RequestClass`: a share of the service's
traffic and the headers it carries, e.g. 5 % with `x-canary: insider`), and each class takes the
first rule that matches it — VirtualService `http` rules in order; HTTPRoute rules by the Gateway
API's precedence (exact path, longest prefix, method, most headers, most query parameters, then
order) — and is split by that rule's weights. A rule's mirror (VirtualService `mirror` +
`mirrorPercentage`, HTTPRoute `RequestMirror` filter) copies its share of requests to another
version on top. Requests are `GET /`; a condition the rig does not model (query parameters,
source labels, …) does not match, so nothing is ever routed by accident.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..model.steering import Layout, route_weights

REQUEST_PATH = "/"
REQUEST_METHOD = "GET"
# VirtualService match keys that only name or tune a condition.
VS_NON_CONDITIONS = {"name", "ignoreUriCase"}


@dataclass(frozen=True)
class RequestClass:
    """A share of a service's requests (0..1) carrying these headers (lower-case names)."""

    share: float
    headers: Mapping[str, str] = field(default_factory=dict)


EVERYONE = (RequestClass(1.0),)


@dataclass(frozen=True)
class Split:
    """Percent of a service's requests each version serves, and percent copied to each (mirrors)."""

    weights: dict[str, float]
    mirrors: dict[str, float]


def _string_match(condition: Any, value: str | None) -> bool:
    """Istio StringMatch: exact, prefix or regex (RE2, full match)."""
    if not isinstance(condition, dict) or value is None:
        return False
    if "exact" in condition:
        return value == condition["exact"]
    if "prefix" in condition:
        return value.startswith(str(condition["prefix"]))
    if "regex" in condition:
        return re.fullmatch(str(condition["regex"]), value) is not None
    return False


def _vs_matches(match: Any, request: RequestClass) -> bool:
    if not isinstance(match, dict):
        return False
    for key, condition in match.items():
        if key in VS_NON_CONDITIONS:
            continue
        if key == "headers":
            if not all(_string_match(cond, request.headers.get(name.lower())) for name, cond in (condition or {}).items()):
                return False
        elif key == "uri":
            if not _string_match(condition, REQUEST_PATH):
                return False
        elif key == "method":
            if not _string_match(condition, REQUEST_METHOD):
                return False
        else:
            return False
    return True


def _gateway_matches(match: Any, request: RequestClass) -> bool:
    if not isinstance(match, dict):
        return False
    path = match.get("path") or {"type": "PathPrefix", "value": "/"}
    kind, value = path.get("type", "PathPrefix"), str(path.get("value", "/"))
    if kind == "Exact" and value != REQUEST_PATH:
        return False
    if kind == "PathPrefix" and not (REQUEST_PATH == value or REQUEST_PATH.startswith(value.rstrip("/") + "/")):
        return False
    if kind == "RegularExpression" and re.fullmatch(value, REQUEST_PATH) is None:
        return False
    if match.get("method") not in (None, REQUEST_METHOD) or match.get("queryParams"):
        return False
    for header in match.get("headers") or []:
        got = request.headers.get(str(header.get("name", "")).lower())
        if got is None:
            return False
        wanted = str(header.get("value", ""))
        if header.get("type", "Exact") == "RegularExpression":
            if re.fullmatch(wanted, got) is None:
                return False
        elif got != wanted:
            return False
    return True


def _precedence(match: dict) -> tuple:
    """Gateway API rule precedence, most specific first (a smaller tuple wins)."""
    path = match.get("path") or {"type": "PathPrefix", "value": "/"}
    exact = 0 if path.get("type") == "Exact" else 1
    return (exact, -len(str(path.get("value", "/"))), 0 if match.get("method") else 1,
            -len(match.get("headers") or []), -len(match.get("queryParams") or []))


def _candidates(obj: dict, layout: Layout) -> list[tuple[dict, Any]]:
    """(rule, one of its matches) in the order the proxy tries them."""
    rules = [rule for rule in ((obj.get("spec") or {}).get(layout.section) or []) if isinstance(rule, dict)]
    if layout.kind == "HTTPRoute":
        pairs = [(rule, match) for rule in rules for match in (rule.get("matches") or [{}])]
        return sorted(pairs, key=lambda pair: _precedence(pair[1]))  # stable: ties keep the rules' order
    return [(rule, match) for rule in rules for match in (rule.get("match") or [{}])]


def _mirror(rule: dict, layout: Layout) -> tuple[str, float] | None:
    if layout.kind == "HTTPRoute":
        for entry in rule.get("filters") or []:
            mirror = entry.get("requestMirror") or {}
            if entry.get("type") == "RequestMirror" and mirror.get("backendRef", {}).get("name"):
                return mirror["backendRef"]["name"], float(mirror.get("percent", 100))
        return None
    mirror = rule.get("mirror")
    if not isinstance(mirror, dict):
        return None
    percent = (rule.get("mirrorPercentage") or {}).get("value", 100)
    return mirror.get("subset") or mirror.get("host"), float(percent)


def route_split(obj: dict, layout: Layout, requests: Sequence[RequestClass] = EVERYONE) -> Split:
    """How `requests` are served under `obj` (see the module docstring)."""
    matches = _gateway_matches if layout.kind == "HTTPRoute" else _vs_matches
    weights: dict[str, float] = {}
    mirrors: dict[str, float] = {}
    candidates = _candidates(obj, layout)
    for request in requests:
        rule = next((rule for rule, match in candidates if matches(match, request)), None)
        if rule is None:
            continue  # a 404 from the proxy: nobody serves it
        split = route_weights(rule.get(layout.routes_key), layout)
        total = sum(split.values())
        for version, weight in split.items():
            share = 100 * request.share * weight / total if total else 0.0
            weights[version] = weights.get(version, 0.0) + share
        mirror = _mirror(rule, layout)
        if mirror is not None:
            mirrors[mirror[0]] = mirrors.get(mirror[0], 0.0) + request.share * mirror[1]
    return Split(weights=weights, mirrors=mirrors)
