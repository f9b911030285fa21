"""A stand-in for istiod's validating admission webhook (`validation.istio.io`).

On a cluster with Istio, every create and update of an Istio config object passes the schema and the
CRD's CEL rules and is then sent to istiod, which denies what its Go validation rejects. This layer
does the same after the sandbox's own checks (also under `dryRun=All`), for the kinds below, with the
checks and messages of Istio's `pkg/config/validation`: VirtualService (hosts — a hostless one only
as a delegate —, routes, destinations, weights, matches, fault percentages, conflicting route
actions), DestinationRule (host, subsets, traffic policies), Gateway (servers, ports, protocols,
TLS), ServiceEntry (hosts, ports), PeerAuthentication and AuthorizationPolicy. A denial is the
apiserver's wrapping of the webhook's answer: HTTP 400 with no reason,
`admission webhook "validation.istio.io" denied the request: configuration is invalid: <errors>`
(several errors in Istio's multierror format). `SandboxServer(istio_webhook=False)` turns it off, so a
test can show which layer refused a write.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from ..model.names import LABEL
from .status import ApiError

WEBHOOK = "validation.istio.io"
ISTIO_GROUPS = frozenset({"networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"})

_DNS1123_LABEL = LABEL.pattern  # the API server's RFC 1123 label (`model.names`)
_WILDCARD_LABEL = re.compile(r"^(\*|(\*|\*-)?[a-z0-9]([-a-z0-9]*[a-z0-9])?)$")
_HEADER_NAME = re.compile(r"^[-_A-Za-z0-9]+$")
_PROTOCOLS = {"HTTP", "HTTPS", "HTTP2", "GRPC", "GRPC-WEB", "MONGO", "REDIS", "MYSQL", "TCP", "TLS", "UDP",
              "HTTP_PROXY"}
_TLS_PROTOCOLS = {"HTTPS", "TLS"}
_HTTP_PROTOCOLS = {"HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY"}

Errors = list[str]


def _labels(domain: str) -> Errors:
    parts = domain.split(".")
    if parts[-1].isdigit():
        return [f'domain name "{domain}" invalid (top level domain "{parts[-1]}" cannot be all-numeric)']
    for index, label in enumerate(parts):
        if index == len(parts) - 1 and label == "":
            return []
        if len(label) > 63 or not _DNS1123_LABEL.match(label):
            return [f'domain name "{domain}" invalid (label "{label}" invalid)']
    return []


def wildcard_domain(domain: str) -> Errors:
    """Istio's ValidateWildcardDomain: a wildcard may only be the first label."""
    if len(domain) > 255:
        return [f'domain name "{domain}" too long (max 255)']
    if not domain:
        return ["empty domain name not allowed"]
    first, _, rest = domain.partition(".")
    if len(first) > 63 or not _WILDCARD_LABEL.match(first):
        return [f'domain name "{domain}" invalid (label "{first}" invalid)']
    return _labels(rest) if rest else []


def port_number(number: Any) -> Errors:
    if isinstance(number, int) and 1 <= number <= 65535:
        return []
    return [f"port number {number} must be in the range 1..65535"]


def _percentage(value: Any) -> Errors:
    if isinstance(value, (int, float)) and not 0 <= value <= 100:
        return [f"percentage {value} is not in range 0..100"]
    return []


def _subset_name(name: Any) -> Errors:
    if not name:
        return ["subset name cannot be empty"]
    return [] if _DNS1123_LABEL.match(str(name)) else [f"subset name is invalid: {name}"]


def _destination(destination: Any) -> Errors:
    if not isinstance(destination, dict):
        return ["destination is required"]
    host = str(destination.get("host") or "")
    errors = [f"invalid destination host {host}"] if host == "*" else wildcard_domain(host)
    if destination.get("subset"):
        errors += _subset_name(destination["subset"])
    port = destination.get("port")
    if isinstance(port, dict):
        errors += port_number(port.get("number"))
    return errors


def _route_destinations(routes: list, *, gateway_semantics: bool = False) -> Errors:
    errors: Errors = []
    total = 0
    for route in routes:
        if not isinstance(route, dict):
            errors.append("weight may not be nil")
            continue
        if "destination" not in route:
            errors.append("destination is required")
        elif not gateway_semantics:
            errors += _destination(route["destination"])
        weight = route.get("weight", 0)
        if isinstance(weight, int) and weight < 0:
            errors.append(f"weight {weight} < 0")
        total += weight if isinstance(weight, int) else 0
    if len(routes) > 1 and total == 0:
        errors.append("total destination weight = 0")
    return errors


def _string_match(match: Any, where: str) -> Errors:
    if not isinstance(match, dict):
        return []
    if "prefix" in match and match["prefix"] == "":
        return [f'"{where}": prefix string match should not be empty']
    if "regex" in match:
        if match["regex"] == "":
            return [f'"{where}": regex string match should not be empty']
        try:
            re.compile(str(match["regex"]))
        except re.error as error:
            return [f'"{where}": error parsing regexp: {error}; Istio uses RE2 style regex-based match '
                    "(https://github.com/google/re2/wiki/Syntax)"]
    return []


def _http_match(match: Any) -> Errors:
    if not isinstance(match, dict):
        return []
    errors: Errors = []
    for field_name in ("uri", "scheme", "method", "authority"):
        errors += _string_match(match.get(field_name), field_name)
    for section in ("headers", "withoutHeaders", "queryParams"):
        for name, header in (match.get(section) or {}).items():
            if header is None:
                errors.append(f"header match {name} cannot be null")
            if section != "queryParams":
                if not name:
                    errors.append("header name cannot be empty")
                elif not _HEADER_NAME.match(name):
                    errors.append(f"header name {name} is not a valid header name")
            errors += _string_match(header, section)
    if match.get("port"):
        errors += port_number(match["port"])
    namespace = match.get("sourceNamespace")
    if namespace and not _DNS1123_LABEL.match(str(namespace)):
        errors.append(f"sourceNamespace match {namespace} is invalid")
    return errors


def _http_route(http: dict[str, Any]) -> Errors:
    errors: Errors = []
    if http.get("redirect") is not None:
        if http.get("route"):
            errors.append("HTTP route cannot contain both route and redirect")
        if http.get("fault") is not None:
            errors.append("HTTP route cannot contain both fault and redirect")
        if http.get("rewrite") is not None:
            errors.append("HTTP route rule cannot contain both rewrite and redirect")
        if http.get("directResponse") is not None:
            errors.append("HTTP route cannot contain both redirect and direct_response")
    elif not http.get("route") and http.get("directResponse") is None and http.get("delegate") is None:
        errors.append("HTTP route, redirect or direct_response is required")
    if http.get("delegate") is not None and http.get("route"):
        errors.append("HTTP route cannot contain both route and delegate")
    for match in http.get("match") or []:
        errors += _http_match(match)
    errors += _route_destinations(http.get("route") or [])
    fault = http.get("fault") or {}
    for kind in ("abort", "delay"):
        errors += _percentage(((fault.get(kind) or {}).get("percentage") or {}).get("value"))
    status = (fault.get("abort") or {}).get("httpStatus")
    if status is not None and not (isinstance(status, int) and 200 <= status <= 599):
        errors.append(f"invalid abort http status {status}")
    mirror = (http.get("mirrorPercentage") or {}).get("value")
    if isinstance(mirror, (int, float)) and mirror > 100:
        errors.append(f"mirror_percentage must have a max value of 100 (it has {float(mirror):f})")
    if http.get("mirror") is not None:
        errors += _destination(http["mirror"])
    attempts = (http.get("retries") or {}).get("attempts")
    if isinstance(attempts, int) and attempts < 0:
        errors.append("attempts cannot be negative")
    return errors


def _hosts_overlap(left: str, right: str) -> bool:
    def covers(pattern: str, host: str) -> bool:
        return pattern == host or (pattern.startswith("*") and host.endswith(pattern[1:]))
    return covers(left, right) or covers(right, left)


def _virtual_service(spec: dict[str, Any]) -> Errors:
    errors: Errors = []
    hosts = [str(h) for h in spec.get("hosts") or []]
    gateways = spec.get("gateways") or []
    if not hosts:  # a delegate: only HTTP routes, bound to no gateway
        if gateways:
            errors.append("delegate virtual service must have no gateways specified")
        if spec.get("tls"):
            errors.append("delegate virtual service must have no tls route specified")
        if spec.get("tcp"):
            errors.append("delegate virtual service must have no tcp route specified")
    applies_to_mesh = not gateways or "mesh" in gateways
    valid = True
    for host in hosts:
        problems = wildcard_domain(host)
        if problems and not re.match(r"^[0-9a-fA-F.:]+$", host):
            errors += problems
            valid = False
        elif applies_to_mesh and host == "*":
            errors.append("wildcard host * is not allowed for virtual services bound to the mesh gateway")
            valid = False
    if valid:
        for index, left in enumerate(hosts):
            for right in hosts[index + 1:]:
                if _hosts_overlap(left, right):
                    errors.append(f"duplicate hosts in virtual service: {left} & {right}")
    if not spec.get("http") and not spec.get("tcp") and not spec.get("tls"):
        errors.append("http, tcp or tls must be provided in virtual service")
    for http in spec.get("http") or []:
        errors += _http_route(http) if isinstance(http, dict) else ["http route may not be null"]
    for section in ("tcp", "tls"):
        for route in spec.get(section) or []:
            if isinstance(route, dict):
                if not route.get("route"):
                    errors.append(f"{section.upper()} route is required")
                errors += _route_destinations(route.get("route") or [])
    return errors


def _traffic_policy(policy: Any) -> Errors:
    if not isinstance(policy, dict):
        return []
    if not policy:
        return ["traffic policy must have at least one field"]
    errors: Errors = []
    outlier = policy.get("outlierDetection") or {}
    percent = outlier.get("maxEjectionPercent")
    if isinstance(percent, int) and not 0 <= percent <= 100:
        errors.append("max ejection percent must be in range [0, 100]")
    pool = policy.get("connectionPool")
    if isinstance(pool, dict):
        if not pool.get("http") and not pool.get("tcp"):
            errors.append("connection pool must have at least one field")
        for section in ("http", "tcp"):
            for name, value in (pool.get(section) or {}).items():
                if isinstance(value, int) and value < 0:
                    errors.append(f"{name} must be non-negative")
    tls = policy.get("tls") or {}
    if tls.get("mode") == "MUTUAL" and not tls.get("credentialName") and not (
            tls.get("clientCertificate") and tls.get("privateKey")):
        errors.append("client certificate and private key required for mutual tls")
    for setting in policy.get("portLevelSettings") or []:
        if isinstance(setting, dict):
            if not isinstance(setting.get("port"), dict):
                errors.append("portTrafficPolicy must have valid port")
            errors += _traffic_policy({k: v for k, v in setting.items() if k != "port"} or None)
    return errors


def _destination_rule(spec: dict[str, Any]) -> Errors:
    errors = wildcard_domain(str(spec.get("host") or ""))
    seen: set[str] = set()
    for subset in spec.get("subsets") or []:
        if not isinstance(subset, dict):
            errors.append("subset may not be null")
            continue
        name = str(subset.get("name") or "")
        if name in seen:
            errors.append(f"duplicate subset names: {name}")
        seen.add(name)
        errors += _subset_name(name) + _traffic_policy(subset.get("trafficPolicy"))
    return errors + _traffic_policy(spec.get("trafficPolicy"))


def _gateway_tls(tls: dict[str, Any]) -> Errors:
    mode = tls.get("mode", "PASSTHROUGH" if not tls else "SIMPLE")
    if mode in ("PASSTHROUGH", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL") or tls.get("credentialName") or tls.get("credentialNames"):
        return []
    if tls.get("httpsRedirect") and set(tls) <= {"httpsRedirect"}:
        return []
    errors: Errors = []
    if mode in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"):
        label = "SIMPLE" if mode == "SIMPLE" else "MUTUAL"
        if not tls.get("serverCertificate"):
            errors.append(f"{label} TLS requires a server certificate")
        if not tls.get("privateKey"):
            errors.append(f"{label} TLS requires a private key")
        if mode != "SIMPLE" and not tls.get("caCertificates"):
            errors.append("MUTUAL TLS requires a client CA bundle")
    return errors


def _gateway_server(server: dict[str, Any]) -> Errors:
    errors: Errors = []
    hosts = server.get("hosts") or []
    if not hosts:
        errors.append("server config must contain at least one host")
    for host in hosts:
        namespace, _, name = str(host).rpartition("/")
        if namespace and namespace not in ("*", ".") and not _DNS1123_LABEL.match(namespace):
            errors.append(f'invalid namespace value "{namespace}" in host "{host}"')
        if name != "*":
            errors += wildcard_domain(name)
    port = server.get("port")
    if not isinstance(port, dict):
        return errors + ["port is required"]
    protocol = str(port.get("protocol") or "").upper()
    if protocol not in _PROTOCOLS:
        return errors + [f'invalid protocol "{port.get("protocol", "")}", supported protocols are HTTP, HTTP2, GRPC, '
                         "GRPC-WEB, MONGO, REDIS, MYSQL, TCP"]
    errors += port_number(port.get("number"))
    if port.get("targetPort"):
        errors.append("targetPort has no impact on Gateways")
    if not port.get("name"):
        errors.append(f"port name must be set: {port}")
    tls = server.get("tls")
    if isinstance(tls, dict):
        errors += _gateway_tls(tls)
    if protocol in _TLS_PROTOCOLS and tls is None:
        errors.append("server must have TLS settings for HTTPS/TLS protocols")
    elif protocol not in _TLS_PROTOCOLS and isinstance(tls, dict) and not (protocol in _HTTP_PROTOCOLS and set(tls) <= {"httpsRedirect"}):
        errors.append("server cannot have TLS settings for plain text HTTP ports" if protocol in _HTTP_PROTOCOLS
                      else "server cannot have TLS settings for non HTTPS/TLS ports")
    return errors


def _gateway(spec: dict[str, Any]) -> Errors:
    servers = spec.get("servers") or []
    if not servers:
        return ["gateway must have at least one server"]
    errors: Errors = []
    names: set[str] = set()
    for server in servers:
        if not isinstance(server, dict):
            errors.append("server may not be nil")
            continue
        errors += _gateway_server(server)
        name = (server.get("port") or {}).get("name")
        if name is not None:
            if name in names:
                errors.append(f"port names in servers must be unique: duplicate name {name}")
            names.add(name)
    return errors


def _service_entry(spec: dict[str, Any]) -> Errors:
    hosts = spec.get("hosts") or []
    errors = [] if hosts else ["service entry must have at least one host"]
    for host in hosts:
        errors += [f"invalid host {host}"] if host == "*" else wildcard_domain(str(host))
    names: set[str] = set()
    numbers: set[int] = set()
    for port in spec.get("ports") or []:
        if not isinstance(port, dict):
            continue
        if port.get("name") in names:
            errors.append(f'service entry port name "{port.get("name")}" already defined')
        if port.get("number") in numbers:
            errors.append(f"service entry port {port.get('number')} already defined")
        names.add(port.get("name"))
        numbers.add(port.get("number"))
        errors += port_number(port.get("number"))
        if str(port.get("protocol") or "TCP").upper() not in _PROTOCOLS:
            errors.append(f"unrecognized protocol name: {port.get('protocol')}")
    return errors


def _peer_authentication(spec: dict[str, Any]) -> Errors:
    errors: Errors = []
    if spec.get("portLevelMtls") and not ((spec.get("selector") or {}).get("matchLabels")):
        errors.append("portLevelMtls requires selector")
    for port in (spec.get("portLevelMtls") or {}):
        if not str(port).isdigit() or not 1 <= int(port) <= 65535:
            errors.append(f"port must be in range 1..65535: {port}")
    return errors


def _authorization_policy(spec: dict[str, Any]) -> Errors:
    errors: Errors = []
    if spec.get("action") == "CUSTOM" and not spec.get("provider"):
        errors.append("CUSTOM action without a provider is not allowed")
    if spec.get("provider") and spec.get("action") != "CUSTOM":
        errors.append("provider can only be used with CUSTOM action")
    for rule in spec.get("rules") or []:
        if not isinstance(rule, dict):
            errors.append("rule must not be nil")
            continue
        for source in rule.get("from") or []:
            if not (source or {}).get("source"):
                errors.append("`from.source` must not be empty")
        for target in rule.get("to") or []:
            if not (target or {}).get("operation"):
                errors.append("`to.operation` must not be empty")
        for condition in rule.get("when") or []:
            key = (condition or {}).get("key")
            if not key:
                errors.append("`key` must not be empty")
            elif not (condition.get("values") or condition.get("notValues")):
                errors.append(f"at least one of `values` or `notValues` must be set for key {key}")
    return errors


# kind -> Istio's validation of its spec (kinds not listed are admitted as they are).
VALIDATORS: dict[str, Callable[[dict[str, Any]], Errors]] = {
    "VirtualService": _virtual_service,
    "DestinationRule": _destination_rule,
    "Gateway": _gateway,
    "ServiceEntry": _service_entry,
    "PeerAuthentication": _peer_authentication,
    "AuthorizationPolicy": _authorization_policy,
}


def istio_errors(kind: str, obj: dict[str, Any]) -> Errors:
    """What istiod's webhook says is wrong with an object of `kind` (empty: admitted)."""
    validator = VALIDATORS.get(kind)
    spec = obj.get("spec")
    return validator(spec if isinstance(spec, dict) else {}) if validator else []


def denial(errors: Errors) -> ApiError:
    """The error the apiserver returns for the webhook's denial (400, no reason)."""
    if len(errors) == 1:
        detail = errors[0]
    else:
        points = "\n\t".join(f"* {error}" for error in errors)
        detail = f"{len(errors)} errors occurred:\n\t{points}\n\n"
    return ApiError(400, f'admission webhook "{WEBHOOK}" denied the request: configuration is invalid: {detail}',
                    reason="")


def admit(*, group: str, kind: str, obj: dict[str, Any]) -> None:
    """Deny (raise) a create or update istiod would deny; Istio groups only."""
    if group not in ISTIO_GROUPS:
        return
    errors = istio_errors(kind, obj)
    if errors:
        raise denial(errors)
