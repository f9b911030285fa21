"""Named rule checks: the `x-kubernetes-validations` (CEL) rules of the shipped schemas, in Python.

A structural schema cannot say "a duration of at least 1ms" or "portLevelMtls needs a selector";
the CRDs say it with CEL rules, which the API server evaluates and jsonschema cannot. Each row of
`CHECKS` is one such rule: the CEL text we export with the shipped CRDs (so a real API server, or
the sandbox, enforces the same thing), the message (the key: a cluster's or a `--crds` file's rule
with the same message is evaluated with the same Python function), and the function itself, which
gets the value at the rule's node (`self` in CEL) and returns True when the value is fine.

Rows marked `stricter=True` go beyond the upstream CRDs: they mirror what istiod's validating
webhook rejects (weights and percentages outside 0-100, ports outside 1-65535 in destinations), so
a mistake is caught in the pull request rather than at `kubectl apply` time.

The Gateway API kinds' rows live in `gatewayapi_rules.py` and join `CHECKS` here, so one registry
answers `for_rule` and `validation_rule` for every shipped kind.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable
from urllib.parse import urlsplit

from ...model.durations import go_duration_seconds
from .gatewayapi_rules import GATEWAY_API_CHECKS
from .rulecheck import RuleCheck


def _duration_at_least_1ms(value: Any) -> bool:
    seconds = go_duration_seconds(value)
    return seconds is not None and seconds >= 1e-3


def _duration_not_negative(value: Any) -> bool:
    seconds = go_duration_seconds(value)
    return seconds is not None and seconds >= 0


def _has(value: Any, *names: str) -> int:
    return sum(1 for name in names if isinstance(value, dict) and name in value)


def _at_most_one(*names: str) -> Callable[[Any], bool]:
    return lambda value: _has(value, *names) <= 1


def _port(value: Any) -> bool:
    return isinstance(value, int) and 0 < value <= 65535


def _port_keys(value: Any) -> bool:
    return all(str(key).isdigit() and 0 < int(key) <= 65535 for key in value)


def _between_0_and_100(value: Any) -> bool:
    return isinstance(value, (int, float)) and 0 <= value <= 100


def _url_scheme_http(value: Any) -> bool:
    return isinstance(value, str) and urlsplit(value).scheme in ("http", "https")


def _port_level_mtls_has_selector(spec: Any) -> bool:
    if "portLevelMtls" not in spec:
        return True
    selector = spec.get("selector") if isinstance(spec.get("selector"), dict) else {}
    return bool(selector.get("matchLabels"))


def _is_cidr(text: Any) -> bool:
    return isinstance(text, str) and "/" in text


def _cidr_only_without_dns(spec: Any) -> bool:
    addresses = spec.get("addresses") if isinstance(spec.get("addresses"), list) else []
    return not (any(_is_cidr(a) for a in addresses) and spec.get("resolution", "NONE") not in ("STATIC", "NONE"))


def _round_robin_single_endpoint(spec: Any) -> bool:
    endpoints = spec.get("endpoints") if isinstance(spec.get("endpoints"), list) else []
    return spec.get("resolution") != "DNS_ROUND_ROBIN" or len(endpoints) <= 1


def _none_without_endpoints(spec: Any) -> bool:
    return spec.get("resolution", "NONE") != "NONE" or "endpoints" not in spec


def _unix_address(value: Any) -> str:
    address = value.get("address") if isinstance(value, dict) else value
    return address if isinstance(address, str) and address.startswith("unix://") else ""


_PORT_NAME = re.compile(r"^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$")


def _unique_port_numbers(ports: Any) -> bool:
    numbers = [p.get("number") for p in ports if isinstance(p, dict)]
    return len(numbers) == len(set(numbers))


def _service_accounts_alone(source: Any) -> bool:
    if not _has(source, "serviceAccounts", "notServiceAccounts"):
        return True
    return not _has(source, "principals", "notPrincipals", "namespaces", "notNamespaces")


def _tag_value_for_upsert(tag: Any) -> bool:
    return tag.get("operation") != "UPSERT" or tag.get("value", "") != ""


def _no_tag_value_for_remove(tag: Any) -> bool:
    return tag.get("operation") != "REMOVE" or "value" not in tag


def _waypoint_match_context(match: Any) -> bool:
    return (match.get("context") == "WAYPOINT") == ("waypoint" in match)


# Schemes a Wasm module may be fetched with; a URL without one (`ghcr.io/acme/filter:v1`) is an OCI image.
_WASM_SCHEMES = {"", "http", "https", "oci", "file"}


def _wasm_url_scheme(url: Any) -> bool:
    return isinstance(url, str) and ("://" not in url or urlsplit(url).scheme in _WASM_SCHEMES)


def _env_value_only_inline(env: Any) -> bool:
    return env.get("valueFrom", "") != "HOST" or "value" not in env


def _valid_ip_or_cidr(value: Any) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except (TypeError, ValueError):
        return False
    return True


CHECKS: tuple[RuleCheck, ...] = (
    RuleCheck("duration", "must be a valid duration greater than 1ms", "duration(self) >= duration('1ms')",
              _duration_at_least_1ms, str),
    RuleCheck("port", "port must be between 1-65535", "0 < self && self <= 65535", _port, int),
    # The stricter twins of `port` and `duration` share their message; their CEL text (same meaning,
    # other spelling) tells them apart when a schema is read back.
    RuleCheck("webhook_port", "port must be between 1-65535", "self >= 1 && self <= 65535", _port, int,
              stricter=True),
    RuleCheck("webhook_duration", "must be a valid duration greater than 1ms", "!(duration(self) < duration('1ms'))",
              _duration_at_least_1ms, str, stricter=True),
    # A cookie TTL of 0s is meaningful (Envoy then issues a session cookie), so only malformed ones fail.
    RuleCheck("webhook_duration_or_zero", "must be a valid duration", "duration(self) >= duration('0s')",
              _duration_not_negative, str, stricter=True),
    RuleCheck("port_keys", "port must be between 1-65535", "self.all(key, 0 < int(key) && int(key) <= 65535)",
              _port_keys, dict),
    RuleCheck("weight", "weight must be between 0 and 100", "0 <= self && self <= 100", _between_0_and_100,
              (int, float), stricter=True),
    RuleCheck("percentage", "percentage must be between 0 and 100", "0.0 <= self && self <= 100.0",
              _between_0_and_100, (int, float), stricter=True),
    RuleCheck("label_keys_not_empty", "key must not be empty", "self.all(key, key.size() != 0)",
              lambda labels: all(key != "" for key in labels), dict),
    RuleCheck("label_keys_no_wildcard", "wildcard not allowed in label key match", 'self.all(key, !key.contains("*"))',
              lambda labels: all("*" not in str(key) for key in labels), dict),
    RuleCheck("label_value_no_wildcard", "wildcard not allowed in label value match", '!self.contains("*")',
              lambda value: "*" not in value, str),
    RuleCheck("selector_value_no_wildcard", "wildcard is not supported in selector", '!self.contains("*")',
              lambda value: "*" not in value, str),
    RuleCheck("same_namespace_ref", "cross namespace referencing is not currently supported", "self.size() == 0",
              lambda value: value == "", str),
    RuleCheck("target_or_selector", "only one of targetRefs or selector can be set",
              "(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1",
              _at_most_one("selector", "targetRef", "targetRefs"), dict),
    RuleCheck("port_level_mtls_selector", "portLevelMtls requires selector",
              "has(self.portLevelMtls) ? (((has(self.selector) && has(self.selector.matchLabels)) ? "
              "self.selector.matchLabels : {}).size() > 0) : true",
              _port_level_mtls_has_selector, dict),
    RuleCheck("one_jwks_source", "only one of jwks or jwksUri can be set",
              "(has(self.jwksUri) ? 1 : 0) + (has(self.jwks_uri) ? 1 : 0) + (has(self.jwks) ? 1 : 0) <= 1",
              _at_most_one("jwksUri", "jwks_uri", "jwks"), dict),
    RuleCheck("http_url", "url must have scheme http:// or https://", 'url(self).getScheme() in ["http", "https"]',
              _url_scheme_http, str),
    RuleCheck("cidr_needs_static", "CIDR addresses are allowed only for NONE/STATIC resolution types",
              '!((has(self.addresses) ? self.addresses : []).exists(k, k.contains("/")) && '
              '!((has(self.resolution) ? self.resolution : "NONE") in ["STATIC", "NONE"]))',
              _cidr_only_without_dns, dict),
    RuleCheck("round_robin_one_endpoint", "DNS_ROUND_ROBIN mode cannot have multiple endpoints",
              '((has(self.resolution) ? self.resolution : "") == "DNS_ROUND_ROBIN") ? '
              "((has(self.endpoints) ? self.endpoints : []).size() <= 1) : true",
              _round_robin_single_endpoint, dict),
    RuleCheck("none_without_endpoints", "NONE mode cannot set endpoints",
              '((has(self.resolution) ? self.resolution : "NONE") == "NONE") ? !has(self.endpoints) : true',
              _none_without_endpoints, dict),
    RuleCheck("selector_or_endpoints", "only one of WorkloadSelector or Endpoints can be set",
              "(has(self.workloadSelector) ? 1 : 0) + (has(self.endpoints) ? 1 : 0) <= 1",
              _at_most_one("workloadSelector", "endpoints"), dict),
    RuleCheck("address_or_network", "Address is required", "has(self.address) || has(self.network)",
              lambda workload: _has(workload, "address", "network") > 0, dict),
    RuleCheck("uds_without_ports", "UDS may not include ports",
              '(has(self.address) ? self.address : "").startsWith("unix://") ? !has(self.ports) : true',
              lambda workload: not _unix_address(workload) or "ports" not in workload, dict),
    RuleCheck("uds_not_dir", "UDS may not be a dir", 'self.startsWith("unix://") ? !self.endsWith("/") : true',
              lambda address: not _unix_address(address) or not address.endswith("/"), str),
    RuleCheck("uds_absolute", "UDS must be an absolute path or abstract socket",
              'self.startsWith("unix://") ? (self.substring(7, 8) == "/" || self.substring(7, 8) == "@") : true',
              lambda address: not _unix_address(address) or address[7:8] in ("/", "@"), str),
    RuleCheck("port_names", "port name must be valid",
              'self.all(key, size(key) < 63 && key.matches("^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$"))',
              lambda ports: all(len(str(k)) < 63 and _PORT_NAME.match(str(k)) for k in ports), dict),
    RuleCheck("host_not_wildcard", "hostname cannot be wildcard", 'self != "*"', lambda host: host != "*", str),
    RuleCheck("unique_port_numbers", "port number cannot be duplicated",
              "self.all(l1, self.exists_one(l2, l1.number == l2.number))", _unique_port_numbers, list),
    RuleCheck("one_credential_name", "only one of credentialName or credentialNames can be set",
              "(has(self.credentialName) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1",
              _at_most_one("credentialName", "credentialNames"), dict),
    RuleCheck("credential_name_or_certificates", "only one of credentialName or tlsCertificates can be set",
              "(has(self.credentialName) ? 1 : 0) + (has(self.tlsCertificates) ? 1 : 0) <= 1",
              _at_most_one("credentialName", "tlsCertificates"), dict),
    RuleCheck("credential_names_or_certificates", "only one of credentialNames or tlsCertificates can be set",
              "(has(self.tlsCertificates) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1",
              _at_most_one("credentialNames", "tlsCertificates"), dict),
    RuleCheck("service_accounts_alone", "Cannot set serviceAccounts with namespaces or principals",
              "(has(self.serviceAccounts) || has(self.notServiceAccounts)) ? (!has(self.principals) && "
              "!has(self.notPrincipals) && !has(self.namespaces) && !has(self.notNamespaces)) : true",
              _service_accounts_alone, dict),
    RuleCheck("tag_value_for_upsert", "value must be set when operation is UPSERT",
              '((has(self.operation) ? self.operation : "") == "UPSERT") ? (self.value != "") : true',
              _tag_value_for_upsert, dict),
    RuleCheck("no_tag_value_for_remove", "value must not be set when operation is REMOVE",
              '((has(self.operation) ? self.operation : "") == "REMOVE") ? !has(self.value) : true',
              _no_tag_value_for_remove, dict),
    RuleCheck("target_refs_or_selector", "only one of targetRefs or selector can be set",
              "(has(self.selector) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1",
              _at_most_one("selector", "targetRefs"), dict),
    RuleCheck("target_refs_or_workload_selector", "only one of targetRefs or workloadSelector can be set",
              "(has(self.workloadSelector) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1",
              _at_most_one("workloadSelector", "targetRefs"), dict),
    RuleCheck("waypoint_match_context", "only support waypointMatch when context is WAYPOINT",
              'has(self.context) ? ((self.context == "WAYPOINT") ? has(self.waypoint) : !has(self.waypoint)) : '
              "!has(self.waypoint)",
              _waypoint_match_context, dict),
    RuleCheck("http_scheme", "scheme must be one of [HTTP, HTTPS]", 'self in ["", "HTTP", "HTTPS"]',
              lambda scheme: scheme in ("", "HTTP", "HTTPS"), str),
    RuleCheck("wasm_url_scheme", "url must have schema one of [http, https, file, oci]",
              'isURL(self) ? (url(self).getScheme() in ["", "http", "https", "oci", "file"]) : '
              '(isURL("http://" + self) &&\nurl("http://" + self).getScheme() in ["", "http", "https", "oci", "file"])',
              _wasm_url_scheme, str),
    RuleCheck("env_value_only_inline", "value may only be set when valueFrom is INLINE",
              '(has(self.valueFrom) ? self.valueFrom : "") != "HOST" || !has(self.value)',
              _env_value_only_inline, dict),
    RuleCheck("wasm_or_lua", "exactly one of wasm or lua must be set", "has(self.wasm) != has(self.lua)",
              lambda spec: ("wasm" in spec) != ("lua" in spec), dict),
    RuleCheck("ip_or_cidr", "must be an IP address or CIDR block", "isCIDR(self) || isIP(self)",
              _valid_ip_or_cidr, str, stricter=True),
) + GATEWAY_API_CHECKS

BY_NAME: dict[str, RuleCheck] = {check.name: check for check in CHECKS}

_BY_MESSAGE: dict[str, list[RuleCheck]] = {}
for _check in CHECKS:
    _BY_MESSAGE.setdefault(_check.message, []).append(_check)


def for_rule(message: str, value: Any, rule: str = "") -> RuleCheck | None:
    """The check implementing a CRD rule with this message for a value of this type (None: not ours);
    among checks sharing the message, the one whose CEL text is `rule`, else the first that applies."""
    candidates = [check for check in _BY_MESSAGE.get(message, ()) if isinstance(value, check.applies_to)]
    exact = [check for check in candidates if check.cel == rule]
    return (exact or candidates or [None])[0]


def validation_rule(name: str) -> dict[str, str]:
    """The `x-kubernetes-validations` entry for a named check (what the shipped CRDs carry)."""
    check = BY_NAME[name]
    return {"rule": check.cel, "message": check.message}
