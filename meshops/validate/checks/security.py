"""MSH3xx security: policies that break traffic or allow far more than they read.

- STRICT mTLS on a workload while a DestinationRule tells its clients to send plaintext breaks
  every connection (istioctl dropped this check in 1.x; we keep it).
- AuthorizationPolicy rules are ORed: `from` in one rule and `to` in the next allows the `to`
  operations to every caller — the seed article's `allow-read` and RBAC examples do exactly that.
- A RequestAuthentication only rejects *invalid* tokens; requests without a token pass unless an
  AuthorizationPolicy requires a request principal.
"""
from __future__ import annotations

from typing import Iterator

from ...yamlio.documents import Path
from ..findings import Finding, Rule, Severity
from ..index import NETWORKING, SECURITY, Entry, MeshIndex, label_set, mapping, policy_action, sequence, sub_selectors, text
from .. import hosts
from .context import Context

RULES = (
    Rule("MSH301", Severity.ERROR, "STRICT mTLS conflicts with a DestinationRule that disables TLS"),
    Rule("MSH302", Severity.WARNING, "ALLOW rule without `from` (or without `to`/`when`) allows more than intended"),
    Rule("MSH303", Severity.WARNING, "Principal is not of the form <trust-domain>/ns/<namespace>/sa/<service-account>"),
    Rule("MSH304", Severity.WARNING, "RequestAuthentication without a policy requiring a token: tokenless requests pass"),
    Rule("MSH305", Severity.WARNING, "JWKS fetched over plain HTTP"),
    Rule("MSH306", Severity.ERROR, "Gateway server terminates TLS without a certificate"),
    Rule("MSH307", Severity.WARNING, "DestinationRule originates TLS without a CA to verify the server certificate",
         "IST0128/IST0129 NoServerCertificateVerification(Destination|Port)Level"),
)

# Client TLS modes that make the proxy originate TLS with a certificate it should verify.
ORIGINATING_MODES = {"SIMPLE", "MUTUAL"}

# Modes that make the gateway terminate TLS, so it needs a certificate.
TERMINATING_MODES = {"SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"}
# SPIFFE identity of a workload, as AuthorizationPolicy `principals` spell it.
PRINCIPAL_FORM = ("<trust-domain>", "ns", "<namespace>", "sa", "<service-account>")


def _disabled_tls(spec: dict) -> Iterator[Path]:
    """Paths of every `tls` block with mode DISABLE in a DestinationRule (top level, ports, subsets)."""
    policies: list[tuple[Path, dict]] = [(("spec", "trafficPolicy"), mapping(spec.get("trafficPolicy")))]
    for subset_index, subset in enumerate(sequence(spec.get("subsets"))):
        policies.append((("spec", "subsets", subset_index, "trafficPolicy"), mapping(mapping(subset).get("trafficPolicy"))))
    for path, policy in policies:
        if mapping(policy.get("tls")).get("mode") == "DISABLE":
            yield path + ("tls", "mode")
        for port_index, port in enumerate(sequence(policy.get("portLevelSettings"))):
            if mapping(mapping(port).get("tls")).get("mode") == "DISABLE":
                yield path + ("portLevelSettings", port_index, "tls", "mode")


def _traffic_policies(spec: dict) -> Iterator[tuple[Path, dict, str]]:
    """Every traffic policy of a DestinationRule (top level, subsets, and their ports) with its path and scope."""
    policies: list[tuple[Path, dict, str]] = [(("spec", "trafficPolicy"), mapping(spec.get("trafficPolicy")), "")]
    for subset_index, subset in enumerate(sequence(spec.get("subsets"))):
        name = text(mapping(subset).get("name")) or str(subset_index)
        policies.append((("spec", "subsets", subset_index, "trafficPolicy"),
                         mapping(mapping(subset).get("trafficPolicy")), f" (subset {name})"))
    for path, policy, scope in policies:
        yield path, policy, scope
        for port_index, port in enumerate(sequence(policy.get("portLevelSettings"))):
            number = mapping(mapping(port).get("port")).get("number")
            yield path + ("portLevelSettings", port_index), mapping(port), f"{scope} at port {number}"


def check_server_verification(context: Context) -> Iterator[Finding]:
    """MSH307: SIMPLE/MUTUAL TLS to a host with no CA to check its certificate against."""
    for entry in context.index.of_kind(NETWORKING, "DestinationRule"):
        host = text(entry.spec.get("host")) or "?"
        for path, policy, scope in _traffic_policies(entry.spec):
            tls = mapping(policy.get("tls"))
            mode = tls.get("mode")
            if not isinstance(mode, str) or mode not in ORIGINATING_MODES or tls.get("caCertificates") or tls.get("credentialName"):
                continue
            if tls.get("insecureSkipVerify") is True:
                continue  # an explicit, visible choice not to verify
            yield context.finding(
                "MSH307", entry, path + ("tls", "mode"),
                f"TLS mode {mode} to {host}{scope} sets no caCertificates (nor a credentialName holding ca.crt): the "
                "server's certificate is not checked against a CA you chose (older Istio does not check it at all); "
                "set caCertificates, or insecureSkipVerify: true if skipping it is intended",
            )


def _mtls_mode(policy: Entry) -> str | None:
    mode = mapping(policy.spec.get("mtls")).get("mode")
    return mode if isinstance(mode, str) and mode != "UNSET" else None


def effective_mtls(index: MeshIndex, host: str) -> tuple[str | None, Entry | None]:
    """The PeerAuthentication mode the pods behind `host` enforce: workload, then namespace, then mesh."""
    namespace = hosts.service_namespace(host)
    if namespace is None:
        return None, None
    service = index.kubernetes_services.get(host)
    selector = label_set(service.spec.get("selector")) if service else frozenset()
    if selector:
        for labels in sub_selectors(selector):
            for policy in index.workload_peer_authentications.get((namespace, labels), ()):
                if _mtls_mode(policy):
                    return _mtls_mode(policy), policy
    for scope in (namespace, hosts.ROOT_NAMESPACE):
        policy = index.namespace_peer_authentication.get(scope)
        if policy is not None and _mtls_mode(policy):
            return _mtls_mode(policy), policy
    return None, None


def check_mtls_conflicts(context: Context) -> Iterator[Finding]:
    """MSH301, reported on the DestinationRule (or on the PeerAuthentication when only it is rendered)."""
    for entry in context.index.of_kind(NETWORKING, "DestinationRule", rendered_only=False):
        raw_host = text(entry.spec.get("host"))
        if not raw_host:
            continue
        host = hosts.fqdn(raw_host, entry.namespace)
        mode, policy = effective_mtls(context.index, host)
        if mode != "STRICT" or policy is None:
            continue
        for path in _disabled_tls(entry.spec):
            message = (
                f"{policy.label} requires mTLS (STRICT) from clients of {host}, but {entry.label} makes them send "
                "plaintext (tls.mode DISABLE): every connection is reset. Remove the tls block (Istio's auto mTLS) "
                "or set mode ISTIO_MUTUAL"
            )
            if entry.manifest is not None:
                yield context.finding("MSH301", entry, path, message)
            elif policy.manifest is not None:
                yield context.finding("MSH301", policy, ("spec", "mtls", "mode"), message)


def check_split_rules(context: Context) -> Iterator[Finding]:
    """MSH302: an ALLOW policy whose callers and operations sit in different (ORed) rules."""
    for entry in context.index.of_kind(SECURITY, "AuthorizationPolicy"):
        if policy_action(entry.spec) != "ALLOW":
            continue
        rules = [mapping(rule) for rule in sequence(entry.spec.get("rules"))]
        source_only = [i for i, r in enumerate(rules) if r.get("from") and not (r.get("to") or r.get("when"))]
        operation_only = [i for i, r in enumerate(rules) if (r.get("to") or r.get("when")) and not r.get("from")]
        if not source_only or not operation_only:
            continue
        sources = ", ".join(f"rules[{i}]" for i in source_only)
        for rule_index in operation_only:
            parts = " and ".join(f"`{part}`" for part in ("to", "when") if rules[rule_index].get(part))
            yield context.finding(
                "MSH302", entry, ("spec", "rules", rule_index),
                f"rules are ORed: rules[{rule_index}] has {parts} but no `from`, so it allows these requests from "
                f"any caller, and {sources} allows the callers every operation. Put `from`, `to` and `when` in one "
                "rule to allow only those callers those operations",
            )


def principal_form_ok(principal: str) -> bool:
    """`cluster.local/ns/default/sa/sleep`, `*`, or a prefix/suffix wildcard of that form."""
    if principal == "*":
        return True
    # A wildcard leaves one piece partial: the last one for `prefix*`, the first one for `*suffix`.
    if principal.endswith("*"):
        pieces = principal[:-1].split("/")
        template, partial, fits = PRINCIPAL_FORM[: len(pieces)], len(pieces) - 1, str.startswith
    elif principal.startswith("*"):
        pieces = principal[1:].split("/")
        template, partial, fits = PRINCIPAL_FORM[max(0, len(PRINCIPAL_FORM) - len(pieces)):], 0, str.endswith
    else:
        pieces = principal.split("/")
        template, partial, fits = PRINCIPAL_FORM, -1, str.__eq__
    if len(template) != len(pieces):
        return False
    for position, (piece, expected) in enumerate(zip(pieces, template)):
        literal = not expected.startswith("<")
        if position == partial:
            if literal and not fits(expected, piece):
                return False
        elif (literal and piece != expected) or (not literal and (not piece or "*" in piece or ":" in piece)):
            return False
    return True


def check_principals(context: Context) -> Iterator[Finding]:
    """MSH303: a principal in another form never matches a peer identity, so the rule never applies."""
    for entry in context.index.of_kind(SECURITY, "AuthorizationPolicy"):
        for rule_index, rule in enumerate(sequence(entry.spec.get("rules"))):
            for source_index, source in enumerate(sequence(mapping(rule).get("from"))):
                for field in ("principals", "notPrincipals"):
                    values = sequence(mapping(mapping(source).get("source")).get(field))
                    for value_index, principal in enumerate(values):
                        if not isinstance(principal, str) or principal_form_ok(principal):
                            continue
                        hint = " (drop the spiffe:// prefix)" if principal.startswith("spiffe://") else ""
                        yield context.finding(
                            "MSH303", entry,
                            ("spec", "rules", rule_index, "from", source_index, "source", field, value_index),
                            f"principal {principal!r} is not <trust-domain>/ns/<namespace>/sa/<service-account>{hint}, "
                            "so it matches no workload identity: write e.g. cluster.local/ns/default/sa/sleep",
                        )


def check_token_required(context: Context) -> Iterator[Finding]:
    """MSH304: a RequestAuthentication with no AuthorizationPolicy requiring a request principal."""
    index = context.index
    for entry in index.of_kind(SECURITY, "RequestAuthentication"):
        if entry.spec.get("targetRef") or entry.spec.get("targetRefs"):
            continue
        selector = mapping(mapping(entry.spec.get("selector")).get("matchLabels"))
        labels = label_set(selector)
        if any(
            (namespace, subset) in index.token_requiring_policies
            for subset in sub_selectors(labels)
            for namespace in (entry.namespace, hosts.ROOT_NAMESPACE)
        ):
            continue
        workload = ", ".join(f"{k}={v}" for k, v in sorted(labels)) or "every workload"
        yield context.finding(
            "MSH304", entry, ("spec", "selector") if selector else ("metadata", "name"),
            f"only invalid tokens are rejected: requests with no token still reach {workload} in namespace "
            f"{entry.namespace!r}. Add an AuthorizationPolicy for the same workload that requires one "
            "(DENY with `notRequestPrincipals: [\"*\"]`, or ALLOW with `requestPrincipals`)",
        )


def check_jwks_uri(context: Context) -> Iterator[Finding]:
    """MSH305: keys fetched over HTTP can be swapped by anyone on the path, and tokens forged."""
    for entry in context.index.of_kind(SECURITY, "RequestAuthentication"):
        for rule_index, rule in enumerate(sequence(entry.spec.get("jwtRules"))):
            uri = text(mapping(rule).get("jwksUri"))
            if uri and uri.lower().startswith("http://"):
                yield context.finding(
                    "MSH305", entry, ("spec", "jwtRules", rule_index, "jwksUri"),
                    f"jwksUri {uri!r} is plain HTTP: whoever can tamper with that connection can make Istio accept "
                    "forged tokens; use https://",
                )


def check_gateway_tls(context: Context) -> Iterator[Finding]:
    """MSH306: a server that terminates TLS needs a certificate (credentialName, or certificate files)."""
    for entry in context.index.of_kind(NETWORKING, "Gateway"):
        for server_index, server in enumerate(sequence(entry.spec.get("servers"))):
            server = mapping(server)
            protocol = str(mapping(server.get("port")).get("protocol") or "").upper()
            tls = mapping(server.get("tls"))
            path: Path = ("spec", "servers", server_index)
            if protocol == "HTTPS" and not tls:
                yield context.finding(
                    "MSH306", entry, path + ("port", "protocol"),
                    "HTTPS server without `tls`: add `tls: {mode: SIMPLE, credentialName: <secret>}` naming the "
                    "Secret with the certificate",
                )
                continue
            mode = tls.get("mode")
            if not (mode is None and protocol == "HTTPS" or isinstance(mode, str) and mode in TERMINATING_MODES):
                continue
            has_secret = bool(tls.get("credentialName") or tls.get("credentialNames"))
            if not has_secret and not (tls.get("serverCertificate") and tls.get("privateKey")):
                yield context.finding(
                    "MSH306", entry, path + ("tls",),
                    f"TLS mode {mode or 'SIMPLE (not set)'} terminates TLS but names no certificate: set "
                    "`credentialName` to the Secret holding it (or serverCertificate and privateKey files)",
                )
            elif mode == "MUTUAL" and not has_secret and not tls.get("caCertificates"):
                yield context.finding(
                    "MSH306", entry, path + ("tls",),
                    "MUTUAL TLS needs the CA that signs client certificates: set `caCertificates` or use "
                    "`credentialName` with a Secret that includes ca.crt",
                )


CHECKS = (check_mtls_conflicts, check_split_rules, check_principals, check_token_required, check_jwks_uri, check_gateway_tls,
          check_server_verification)
