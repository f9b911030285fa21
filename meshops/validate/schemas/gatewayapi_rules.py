"""The CEL rules of the Gateway API kinds (standard channel), as named Python checks.

Same contract as `cel_rules.py` (which gathers these rows into the one registry): the CEL text and
message are what the upstream CRDs say, so a cluster's own CRD rule with that message is evaluated by
the same function; the function gets the value at the rule's node (`self`) and returns True when it
is fine. The API server evaluates these rules *after* filling in schema defaults, so the functions
read a missing field as its default (a backendRef without `kind` is a Service; a path match without
`type` is a PathPrefix; a listener TLS without `mode` terminates).

Families of rules that differ only in a name (the seven filter types, the forbidden path parts) are
made by small factories, so each reads once.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from ...model.durations import go_duration_seconds
from .rulecheck import RuleCheck

GATEWAY_GROUP = "gateway.networking.k8s.io"
# Defaults the API server fills in before evaluating the rules (and that the schemas declare).
DEFAULT_PARENT_KIND = "Gateway"
DEFAULT_BACKEND_KIND = "Service"
DEFAULT_TLS_MODE = "Terminate"
DEFAULT_PATH = {"type": "PathPrefix", "value": "/"}
DEFAULT_MIRROR_DENOMINATOR = 100
# Path match types whose value is a literal path (RegularExpression values are not checked).
LITERAL_PATH_TYPES = ("Exact", "PathPrefix")

_HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$"
)
_PATH_CHARACTERS = re.compile(r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$")
_GRPC_SERVICE = re.compile(r"^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$", re.IGNORECASE)
_GRPC_METHOD = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")
MAX_ROUTE_MATCHES = 128
# A DNS subdomain is at most 253 characters; CEL counts `size() < 253` on the prefix.
MAX_PREFIX_LENGTH = 253


def _dicts(value: Any) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _unique(values: list) -> bool:
    return len(values) == len(set(values))


# -- Gateway ---------------------------------------------------------------------------------------


def _unique_address_values(address_type: str) -> Callable[[Any], bool]:
    def holds(addresses: Any) -> bool:
        values = [a["value"] for a in _dicts(addresses) if a.get("type", "IPAddress") == address_type and "value" in a]
        return _unique(values)

    return holds


def _hostname_address(address: dict) -> bool:
    if address.get("type", "IPAddress") != "Hostname" or "value" not in address:
        return True
    return isinstance(address["value"], str) and bool(_HOSTNAME.match(address["value"]))


def _qualified_keys(values: dict) -> bool:
    return all(_QUALIFIED_KEY.match(str(key)) for key in values)


def _short_prefixes(values: dict) -> bool:
    return all(len(str(key).split("/")[0]) < MAX_PREFIX_LENGTH for key in values)


def _listener_tls(listener: dict) -> dict:
    tls = listener.get("tls")
    return tls if isinstance(tls, dict) else {}


def _no_tls_for_plain_protocols(listeners: Any) -> bool:
    return all("tls" not in l for l in _dicts(listeners) if l.get("protocol") in ("HTTP", "TCP", "UDP"))


def _https_terminates(listeners: Any) -> bool:
    return all(
        _listener_tls(l).get("mode", DEFAULT_TLS_MODE) in ("", DEFAULT_TLS_MODE)
        for l in _dicts(listeners) if l.get("protocol") == "HTTPS" and "tls" in l
    )


def _tls_has_mode(listeners: Any) -> bool:
    return all("tls" in l and _listener_tls(l).get("mode", DEFAULT_TLS_MODE) != ""
               for l in _dicts(listeners) if l.get("protocol") == "TLS")


def _no_hostname_for_l4(listeners: Any) -> bool:
    return all(not l.get("hostname") for l in _dicts(listeners) if l.get("protocol") in ("TCP", "UDP"))


def _unique_listener_names(listeners: Any) -> bool:
    return _unique([l.get("name") for l in _dicts(listeners)])


def _unique_listener_endpoints(listeners: Any) -> bool:
    return _unique([(l.get("port"), l.get("protocol"), l.get("hostname")) for l in _dicts(listeners)])


def _terminate_has_certificates(tls: dict) -> bool:
    if tls.get("mode", DEFAULT_TLS_MODE) != DEFAULT_TLS_MODE:
        return True
    return bool(tls.get("certificateRefs")) or bool(tls.get("options"))


def _unique_tls_ports(per_port: Any) -> bool:
    return _unique([entry.get("port") for entry in _dicts(per_port)])


# -- routes: parents, rules, backends ------------------------------------------------------------------


def _parent_key(ref: dict) -> tuple:
    return (ref.get("group", GATEWAY_GROUP), ref.get("kind", DEFAULT_PARENT_KIND), ref.get("name"),
            ref.get("namespace") or "")


def _section_names_all_or_none(parents: Any) -> bool:
    seen: dict[tuple, bool] = {}
    for ref in _dicts(parents):
        named = bool(ref.get("sectionName"))
        if seen.setdefault(_parent_key(ref), named) != named:
            return False
    return True


def _section_names_unique(parents: Any) -> bool:
    return _unique([_parent_key(ref) + (ref.get("sectionName") or "",) for ref in _dicts(parents)])


def _match_count(rules: Any, *, missing: int) -> bool:
    return sum(len(rule["matches"]) if isinstance(rule.get("matches"), list) else missing
               for rule in _dicts(rules)) <= MAX_ROUTE_MATCHES


def _filters(owner: dict) -> list[dict]:
    return _dicts(owner.get("filters"))


def _redirect_without_backends(rule: dict) -> bool:
    if not rule.get("backendRefs"):
        return True
    return all("requestRedirect" not in f for f in _filters(rule))


def _replaces_prefix(filters: list[dict], field: str) -> int:
    count = 0
    for f in filters:
        path = f.get(field, {}).get("path") if isinstance(f.get(field), dict) else None
        if isinstance(path, dict) and path.get("type") == "ReplacePrefixMatch" and "replacePrefixMatch" in path:
            count += 1
    return count


def _one_prefix_match(rule: dict) -> bool:
    matches = rule.get("matches", [{"path": dict(DEFAULT_PATH)}])
    if not isinstance(matches, list) or len(matches) != 1 or not isinstance(matches[0], dict):
        return False
    path = matches[0].get("path", DEFAULT_PATH)
    return isinstance(path, dict) and path.get("type", DEFAULT_PATH["type"]) == "PathPrefix"


def _prefix_rewrite_needs_one_prefix_match(field: str) -> Callable[[Any], bool]:
    def holds(rule: dict) -> bool:
        return _replaces_prefix(_filters(rule), field) != 1 or _one_prefix_match(rule)

    return holds


def _backend_prefix_rewrite_needs_one_prefix_match(field: str) -> Callable[[Any], bool]:
    def holds(rule: dict) -> bool:
        backends = [b for b in _dicts(rule.get("backendRefs")) if _replaces_prefix(_filters(b), field) == 1]
        return len(backends) != 1 or _one_prefix_match(rule)

    return holds


def _service_ref_has_port(ref: dict) -> bool:
    is_service = ref.get("group", "") == "" and ref.get("kind", DEFAULT_BACKEND_KIND) == DEFAULT_BACKEND_KIND
    return not is_service or "port" in ref


def _filter_count(filter_type: str, most: int = 1) -> Callable[[Any], bool]:
    return lambda filters: sum(1 for f in _dicts(filters) if f.get("type") == filter_type) <= most


def _redirect_or_rewrite(filters: Any) -> bool:
    types = {f.get("type") for f in _dicts(filters)}
    return not {"RequestRedirect", "URLRewrite"} <= types


def _wildcard_alone(values: Any) -> bool:
    return not ("*" in values and len(values) > 1)


def _percent_or_fraction(mirror: dict) -> bool:
    return not ("percent" in mirror and "fraction" in mirror)


def _fraction_at_most_one(fraction: dict) -> bool:
    numerator = fraction.get("numerator")
    denominator = fraction.get("denominator", DEFAULT_MIRROR_DENOMINATOR)
    return not (isinstance(numerator, int) and isinstance(denominator, int)) or numerator <= denominator


def _backend_timeout_within_request(timeouts: dict) -> bool:
    request = go_duration_seconds(timeouts.get("request"))
    backend = go_duration_seconds(timeouts.get("backendRequest"))
    return request is None or backend is None or request == 0 or backend <= request


# -- path matches and gRPC methods -----------------------------------------------------------------------


def _literal_path(path: dict) -> str | None:
    """The value of an Exact/PathPrefix match (defaults filled in), else None: nothing to check."""
    if path.get("type", DEFAULT_PATH["type"]) not in LITERAL_PATH_TYPES:
        return None
    value = path.get("value", DEFAULT_PATH["value"])
    return value if isinstance(value, str) else None


def _path_rule(test: Callable[[str], bool]) -> Callable[[Any], bool]:
    def holds(path: dict) -> bool:
        value = _literal_path(path)
        return value is None or test(value)

    return holds


def _grpc_method_named(method: dict) -> bool:
    return "service" in method or "method" in method


def _grpc_exact_matches(field: str, pattern: re.Pattern) -> Callable[[Any], bool]:
    def holds(method: dict) -> bool:
        if method.get("type", "Exact") != "Exact" or field not in method:
            return True
        return isinstance(method[field], str) and bool(pattern.match(method[field]))

    return holds


# -- the rows ----------------------------------------------------------------------------------------------

_EXACT_OR_PREFIX = "['Exact', 'PathPrefix']"
_EXACT_OR_PREFIX_CEL = "(self.type in ['Exact','PathPrefix'])"
_HOSTNAME_TEXT = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_QUALIFIED_KEY_TEXT = _QUALIFIED_KEY.pattern
_PARENT_SAME = (
    "p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && (((!has(p1.__namespace__) || "
    "p1.__namespace__ == '') && (!has(p2.__namespace__) || p2.__namespace__ == '')) || (has(p1.__namespace__) && "
    "has(p2.__namespace__) && p1.__namespace__ == p2.__namespace__ ))"
)
_REWRITE_TYPES = ("requestRedirect", "urlRewrite")


def _filter_field_rows() -> tuple[RuleCheck, ...]:
    """A filter carries the field of its type and no other (seven types, two rules each)."""
    rows = []
    for field, filter_type in (("cors", "CORS"), ("requestHeaderModifier", "RequestHeaderModifier"),
                               ("responseHeaderModifier", "ResponseHeaderModifier"),
                               ("requestMirror", "RequestMirror"), ("requestRedirect", "RequestRedirect"),
                               ("urlRewrite", "URLRewrite"), ("extensionRef", "ExtensionRef")):
        rows.append(RuleCheck(
            f"filter_{field}_only_for_type", f"filter.{field} must be nil if the filter.type is not {filter_type}",
            f"!(has(self.{field}) && self.type != '{filter_type}')",
            lambda f, field=field, filter_type=filter_type: not (field in f and f.get("type") != filter_type), dict))
        rows.append(RuleCheck(
            f"filter_{field}_for_type", f"filter.{field} must be specified for {filter_type} filter.type",
            f"!(!has(self.{field}) && self.type == '{filter_type}')",
            lambda f, field=field, filter_type=filter_type: not (field not in f and f.get("type") == filter_type), dict))
    return tuple(rows)


def _repeat_rows() -> tuple[RuleCheck, ...]:
    return tuple(
        RuleCheck(f"filter_{filter_type}_once", f"{filter_type} filter cannot be repeated",
                  f"self.filter(f, f.type == '{filter_type}').size() <= 1", _filter_count(filter_type), list)
        for filter_type in ("CORS", "RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite")
    )


def _path_modifier_rows() -> tuple[RuleCheck, ...]:
    """`type` and the replacement it names go together (redirect and rewrite paths)."""
    rows = []
    for field, path_type in (("replaceFullPath", "ReplaceFullPath"), ("replacePrefixMatch", "ReplacePrefixMatch")):
        rows.append(RuleCheck(
            f"path_{field}_for_type", f"{field} must be specified when type is set to '{path_type}'",
            f"self.type == '{path_type}' ? has(self.{field}) : true",
            lambda p, field=field, path_type=path_type: p.get("type") != path_type or field in p, dict))
        rows.append(RuleCheck(
            f"path_type_for_{field}", f"type must be '{path_type}' when {field} is set",
            f"has(self.{field}) ? self.type == '{path_type}' : true",
            lambda p, field=field, path_type=path_type: field not in p or p.get("type") == path_type, dict))
    return tuple(rows)


def _prefix_rewrite_rows() -> tuple[RuleCheck, ...]:
    rows = []
    names = {"requestRedirect": "RequestRedirect", "urlRewrite": "URLRewrite"}
    for field in _REWRITE_TYPES:
        filter_name = names[field]
        uses = (f"has(f.{field}) && has(f.{field}.path) && f.{field}.path.type == 'ReplacePrefixMatch' && "
                f"has(f.{field}.path.replacePrefixMatch)")
        then = ("((size(self.matches) != 1 || !has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') "
                "? false : true) : true")
        rows.append(RuleCheck(
            f"{field}_prefix_needs_one_prefix_match",
            f"When using {filter_name} filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
            f"(has(self.filters) && self.filters.exists_one(f, {uses})) ? {then}",
            _prefix_rewrite_needs_one_prefix_match(field), dict))
        within = "when" if field == "requestRedirect" else "When"  # upstream's own capitalisation
        rows.append(RuleCheck(
            f"backend_{field}_prefix_needs_one_prefix_match",
            f"Within backendRefs, {within} using {filter_name} filter with path.replacePrefixMatch, exactly one "
            "PathPrefix match must be specified",
            f"(has(self.backendRefs) && self.backendRefs.exists_one(b, (has(b.filters) && b.filters.exists_one(f, "
            f"{uses})) )) ? {then}",
            _backend_prefix_rewrite_needs_one_prefix_match(field), dict))
    return tuple(rows)


def _path_value_rows() -> tuple[RuleCheck, ...]:
    rows = [RuleCheck(
        "path_absolute", f"value must be an absolute path and start with '/' when type one of {_EXACT_OR_PREFIX}",
        f"{_EXACT_OR_PREFIX_CEL} ? self.value.startsWith('/') : true", _path_rule(lambda v: v.startswith("/")), dict)]
    for part in ("//", "/./", "/../", "%2f", "%2F", "#"):
        rows.append(RuleCheck(
            f"path_without_{part}", f"must not contain '{part}' when type one of {_EXACT_OR_PREFIX}",
            f"{_EXACT_OR_PREFIX_CEL} ? !self.value.contains('{part}') : true",
            _path_rule(lambda v, part=part: part not in v), dict))
    for end in ("/..", "/."):
        rows.append(RuleCheck(
            f"path_not_ending_{end}", f"must not end with '{end}' when type one of {_EXACT_OR_PREFIX}",
            f"{_EXACT_OR_PREFIX_CEL} ? !self.value.endsWith('{end}') : true",
            _path_rule(lambda v, end=end: not v.endswith(end)), dict))
    rows.append(RuleCheck(
        "path_type", "type must be one of ['Exact', 'PathPrefix', 'RegularExpression']",
        "self.type in ['Exact','PathPrefix'] || self.type == 'RegularExpression'",
        lambda p: p.get("type", DEFAULT_PATH["type"]) in (*LITERAL_PATH_TYPES, "RegularExpression"), dict))
    rows.append(RuleCheck(
        "path_characters",
        f"must only contain valid characters (matching {_PATH_CHARACTERS.pattern}) for types {_EXACT_OR_PREFIX}",
        f'{_EXACT_OR_PREFIX_CEL} ? self.value.matches(r"""{_PATH_CHARACTERS.pattern}""") : true',
        _path_rule(lambda v: bool(_PATH_CHARACTERS.match(v))), dict))
    return tuple(rows)


def _match_count_cel(*, guarded: bool) -> str:
    """The upstream rule spells the sum out for each of the 16 rules (GRPCRoute guards missing matches)."""
    terms = [
        f"(self.size() > {i} ? (has(self[{i}].matches) ? self[{i}].matches.size() : 0) : 0)" if guarded
        else f"(self.size() > {i} ? self[{i}].matches.size() : 0)"
        for i in range(16)
    ]
    return " + ".join(terms) + f" <= {MAX_ROUTE_MATCHES}"


_MATCH_COUNT_MESSAGE = ("While 16 rules and 64 matches per rule are allowed, the total number of matches across all "
                        "rules in a route must be less than 128")

GATEWAY_API_CHECKS: tuple[RuleCheck, ...] = (
    RuleCheck("immutable", "field is immutable", "self == oldSelf",
              lambda value: True),  # a transition rule: only the API server sees the old object
    RuleCheck("unique_ip_addresses", "IPAddress values must be unique",
              "self.all(a1, a1.type == 'IPAddress' && has(a1.value) ? self.exists_one(a2, a2.type == a1.type && "
              "has(a2.value) && a2.value == a1.value) : true )", _unique_address_values("IPAddress"), list),
    RuleCheck("unique_hostname_addresses", "Hostname values must be unique",
              "self.all(a1, a1.type == 'Hostname'  && has(a1.value) ? self.exists_one(a2, a2.type == a1.type && "
              "has(a2.value) && a2.value == a1.value) : true )", _unique_address_values("Hostname"), list),
    RuleCheck("hostname_address",
              f"Hostname value must be empty or contain only valid characters (matching {_HOSTNAME_TEXT})",
              f"self.type == 'Hostname' ? (!has(self.value) || self.value.matches(r\"\"\"{_HOSTNAME_TEXT}\"\"\")): true",
              _hostname_address, dict),
    RuleCheck("annotation_keys", "Annotation keys must be in the form of an optional DNS subdomain prefix followed by "
              "a required name segment of up to 63 characters.",
              f'self.all(key, key.matches(r"""{_QUALIFIED_KEY_TEXT}"""))', _qualified_keys, dict),
    RuleCheck("annotation_key_prefix", "If specified, the annotation key's prefix must be a DNS subdomain not longer "
              "than 253 characters in total.", 'self.all(key, key.split("/")[0].size() < 253)', _short_prefixes, dict),
    RuleCheck("label_keys", "Label keys must be in the form of an optional DNS subdomain prefix followed by a "
              "required name segment of up to 63 characters.",
              f'self.all(key, key.matches(r"""{_QUALIFIED_KEY_TEXT}"""))', _qualified_keys, dict),
    RuleCheck("label_key_prefix", "If specified, the label key's prefix must be a DNS subdomain not longer than 253 "
              "characters in total.", 'self.all(key, key.split("/")[0].size() < 253)', _short_prefixes, dict),
    RuleCheck("no_tls_for_plain_protocols", "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']",
              "self.all(l, l.protocol in ['HTTP', 'TCP', 'UDP'] ? !has(l.tls) : true)", _no_tls_for_plain_protocols, list),
    RuleCheck("https_terminates", "tls mode must be Terminate for protocol HTTPS",
              "self.all(l, (l.protocol == 'HTTPS' && has(l.tls)) ? (l.tls.mode == '' || l.tls.mode == 'Terminate') "
              ": true)", _https_terminates, list),
    RuleCheck("tls_has_mode", "tls mode must be set for protocol TLS",
              "self.all(l, (l.protocol == 'TLS' ? has(l.tls) && has(l.tls.mode) && l.tls.mode != '' : true))",
              _tls_has_mode, list),
    RuleCheck("no_hostname_for_l4", "hostname must not be specified for protocols ['TCP', 'UDP']",
              "self.all(l, l.protocol in ['TCP', 'UDP']  ? (!has(l.hostname) || l.hostname == '') : true)",
              _no_hostname_for_l4, list),
    RuleCheck("unique_listener_names", "Listener name must be unique within the Gateway",
              "self.all(l1, self.exists_one(l2, l1.name == l2.name))", _unique_listener_names, list),
    RuleCheck("unique_listener_endpoints", "Combination of port, protocol and hostname must be unique for each listener",
              "self.all(l1, self.exists_one(l2, l1.port == l2.port && l1.protocol == l2.protocol && (has(l1.hostname) "
              "&& has(l2.hostname) ? l1.hostname == l2.hostname : !has(l1.hostname) && !has(l2.hostname))))",
              _unique_listener_endpoints, list),
    RuleCheck("terminate_has_certificates", "certificateRefs or options must be specified when mode is Terminate",
              "self.mode == 'Terminate' ? size(self.certificateRefs) > 0 || size(self.options) > 0 : true",
              _terminate_has_certificates, dict),
    RuleCheck("unique_tls_ports", "Port for TLS configuration must be unique within the Gateway",
              "self.all(t1, self.exists_one(t2, t1.port == t2.port))", _unique_tls_ports, list),
    RuleCheck("section_names_all_or_none",
              "sectionName must be specified when parentRefs includes 2 or more references to the same parent",
              f"self.all(p1, self.all(p2, {_PARENT_SAME} ? ((!has(p1.sectionName) || p1.sectionName == '') == "
              "(!has(p2.sectionName) || p2.sectionName == '')) : true))", _section_names_all_or_none, list),
    RuleCheck("section_names_unique",
              "sectionName must be unique when parentRefs includes 2 or more references to the same parent",
              f"self.all(p1, self.exists_one(p2, {_PARENT_SAME} && (((!has(p1.sectionName) || p1.sectionName == '') && "
              "(!has(p2.sectionName) || p2.sectionName == '')) || (has(p1.sectionName) && has(p2.sectionName) && "
              "p1.sectionName == p2.sectionName))))", _section_names_unique, list),
    RuleCheck("http_match_count", _MATCH_COUNT_MESSAGE, _match_count_cel(guarded=False),
              lambda rules: _match_count(rules, missing=1), list),  # HTTPRoute: missing matches default to one
    RuleCheck("grpc_match_count", _MATCH_COUNT_MESSAGE, _match_count_cel(guarded=True),
              lambda rules: _match_count(rules, missing=0), list),
    RuleCheck("redirect_without_backends", "RequestRedirect filter must not be used together with backendRefs",
              "(has(self.backendRefs) && size(self.backendRefs) > 0) ? (!has(self.filters) || self.filters.all(f, "
              "!has(f.requestRedirect))): true", _redirect_without_backends, dict),
    *_prefix_rewrite_rows(),
    RuleCheck("service_ref_port", "Must have port for Service reference",
              "(size(self.group) == 0 && self.kind == 'Service') ? has(self.port) : true", _service_ref_has_port, dict),
    RuleCheck("redirect_or_rewrite",
              "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both",
              "!(self.exists(f, f.type == 'RequestRedirect') && self.exists(f, f.type == 'URLRewrite'))",
              _redirect_or_rewrite, list),
    *_repeat_rows(),
    *_filter_field_rows(),
    RuleCheck("cors_headers_wildcard", "AllowHeaders cannot contain '*' alongside other methods",
              "!('*' in self && self.size() > 1)", _wildcard_alone, list),
    RuleCheck("cors_methods_wildcard", "AllowMethods cannot contain '*' alongside other methods",
              "!('*' in self && self.size() > 1)", _wildcard_alone, list),
    RuleCheck("cors_origins_wildcard", "AllowOrigins cannot contain '*' alongside other origins",
              "!('*' in self && self.size() > 1)", _wildcard_alone, list),
    RuleCheck("mirror_percent_or_fraction", "Only one of percent or fraction may be specified in HTTPRequestMirrorFilter",
              "!(has(self.percent) && has(self.fraction))", _percent_or_fraction, dict),
    RuleCheck("fraction_at_most_one", "numerator must be less than or equal to denominator",
              "self.numerator <= self.denominator", _fraction_at_most_one, dict),
    *_path_modifier_rows(),
    *_path_value_rows(),
    RuleCheck("backend_timeout_within_request", "backendRequest timeout cannot be longer than request timeout",
              "!(has(self.request) && has(self.backendRequest) && duration(self.request) != duration('0s') && "
              "duration(self.backendRequest) > duration(self.request))", _backend_timeout_within_request, dict),
    RuleCheck("grpc_method_named", "One or both of 'service' or 'method' must be specified",
              "has(self.type) ? has(self.service) || has(self.method) : true", _grpc_method_named, dict),
    RuleCheck("grpc_service_characters",
              r"service must only contain valid characters (matching ^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$)",
              r'(!has(self.type) || self.type == ' "'Exact'" r') && has(self.service) ? self.service.matches(r"""^(?i)\.?'
              r'[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$"""): true',
              _grpc_exact_matches("service", _GRPC_SERVICE), dict),
    RuleCheck("grpc_method_characters", "method must only contain valid characters (matching ^[A-Za-z_][A-Za-z_0-9]*$)",
              "(!has(self.type) || self.type == 'Exact') && has(self.method) ? self.method.matches("
              'r"""^[A-Za-z_][A-Za-z_0-9]*$"""): true', _grpc_exact_matches("method", _GRPC_METHOD), dict),
)
