"""MSH22x workloads: what selectors pick, and what gateway workloads need — `istioctl analyze`'s
selector, gateway and secret analyzers, answered from indexes.

A policy, Sidecar, Telemetry, EnvoyFilter, WasmPlugin, ProxyConfig or ServiceEntry whose selector
matches no workload does nothing, silently; two Sidecars (or Telemetries) that pick the same pod
leave the winner undefined. A Gateway needs gateway pods to run on, a Service that exposes its
ports, and, for TLS, its certificate Secret in the gateway pods' namespace. Workloads are the live
pods, rendered pod templates (Deployments …) and WorkloadEntries. An absence is reported only where
the cluster was actually read (`MeshIndex.read_scope`); offline these checks are quiet.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from ...model.selectors import GATEWAY, GATEWAY_SELECTOR, WORKLOAD_SELECTORS, label_set, mesh_wide, workload_selector
from ..findings import Finding, Rule, Severity
from ..index import NETWORKING, SECURITY, TELEMETRY, Entry, mapping, sequence, text
from .context import Context, quoted

# What only the cluster holds (Secrets, gateway pods) is often created by someone else, later
# (cert-manager issues the certificate after the Gateway exists): warnings, never a blocked apply.
RULES = (
    Rule("MSH220", Severity.WARNING, "Gateway credentialName names no Secret in the gateway pods' namespace",
         "IST0101 ReferencedResourceNotFound"),
    Rule("MSH221", Severity.WARNING, "Gateway credential Secret lacks the certificate, key or CA it needs",
         "IST0161 InvalidGatewayCredential"),
    Rule("MSH222", Severity.WARNING, "Gateway selector matches no gateway pod", "IST0101 ReferencedResourceNotFound"),
    Rule("MSH223", Severity.WARNING, "Gateway port is not exposed by the Service of its gateway pods",
         "IST0162 GatewayPortNotDefinedOnService"),
    Rule("MSH224", Severity.WARNING, "Selector matches no workload: the object applies to nothing",
         "IST0127 NoMatchingWorkloadsFound"),
    Rule("MSH225", Severity.ERROR, "Several Sidecars select the same workload", "IST0110 ConflictingSidecarWorkloadSelectors"),
    Rule("MSH227", Severity.ERROR, "Several Telemetry objects select the same workload",
         "IST0159 ConflictingTelemetryWorkloadSelectors"),
)

# Secret keys Istio reads a gateway certificate from (kubernetes.io/tls names, or the generic ones).
CERTIFICATE_KEYS = (("tls.crt", "tls.key"), ("cert", "key"))
CA_KEYS = ("ca.crt", "cacert")
# A MUTUAL gateway may keep its client CA in a separate Secret named `<credentialName>-cacert`.
CA_SECRET_SUFFIX = "-cacert"
# A credentialName with a scheme (`kubernetes-gateway://ns/name`) names a Secret elsewhere: not checked here.
SCHEME_SEPARATOR = "://"


def _describe(labels: frozenset[tuple[str, str]]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels))


# --- selectors that match nothing ------------------------------------------------------------------


def check_selectors_match_workloads(context: Context) -> Iterator[Finding]:
    """MSH224: a selector (or a namespace-wide AuthorizationPolicy) that applies to no workload."""
    index = context.index
    if not index.read_scope.read_pods:
        return
    for group_kind in WORKLOAD_SELECTORS:
        for entry in index.of_kind(*group_kind):
            selector = workload_selector(group_kind[0], group_kind[1], entry.obj)
            wide = mesh_wide(group_kind[0], group_kind[1], entry.namespace)
            if selector is None:
                if group_kind == (SECURITY, "AuthorizationPolicy") and not wide:
                    yield from _namespace_without_workloads(context, entry)
                continue
            path, labels = selector
            known = index.read_scope.knows_pods_selected_by(labels) if wide else index.read_scope.knows_pods_in(entry.namespace)
            if not known or index.workloads.selected(None if wide else entry.namespace, labels):
                continue
            where = "in any namespace" if wide else f"in namespace {entry.namespace!r}"
            yield context.finding(
                "MSH224", entry, path,
                f"selector {_describe(labels)} matches no pod or WorkloadEntry {where}, so this {entry.key.kind} "
                "applies to nothing: correct the labels, or deploy the workload first",
            )


def _namespace_without_workloads(context: Context, entry: Entry) -> Iterator[Finding]:
    index = context.index
    if index.read_scope.knows_pods_in(entry.namespace) and not index.workloads.by_namespace.get(entry.namespace):
        yield context.finding(
            "MSH224", entry, ("metadata", "namespace"),
            f"namespace {entry.namespace!r} has no workloads, so this AuthorizationPolicy applies to nothing yet",
        )


# --- gateways --------------------------------------------------------------------------------------


def _gateway_pods(context: Context, entry: Entry) -> tuple[frozenset[tuple[str, str]], set[int] | None]:
    """(selector, the workloads it picks in any namespace, or None when that is not known)."""
    labels = label_set(entry.spec.get("selector"))
    if not context.index.read_scope.knows_pods_selected_by(labels):
        return labels, None
    return labels, context.index.workloads.selected(None, labels)


def check_gateway_pods(context: Context) -> Iterator[Finding]:
    """MSH222: a Gateway nobody serves — no pod carries its selector's labels."""
    for entry in context.index.of_kind(*GATEWAY):
        labels, pods = _gateway_pods(context, entry)
        if pods is None or pods:
            continue
        yield context.finding(
            "MSH222", entry, GATEWAY_SELECTOR,
            f"selector {_describe(labels) or '(empty)'} matches no pod in any namespace, so no gateway serves this "
            "Gateway: use the labels of your ingress gateway Deployment (e.g. istio=ingressgateway)",
        )


def check_gateway_credentials(context: Context) -> Iterator[Finding]:
    """MSH220/MSH221: every credentialName is a Secret with a certificate and key where the gateway pods run."""
    index = context.index
    for entry in index.of_kind(*GATEWAY):
        _, pods = _gateway_pods(context, entry)
        namespaces = sorted({index.workloads.namespaces[pod] for pod in pods or ()})
        for server_index, server in enumerate(sequence(entry.spec.get("servers"))):
            tls = mapping(mapping(server).get("tls"))
            names = [(("credentialName",), text(tls.get("credentialName")))]
            names += [(("credentialNames", i), text(name)) for i, name in enumerate(sequence(tls.get("credentialNames")))]
            for suffix, name in names:
                if not name or SCHEME_SEPARATOR in name:
                    continue
                path = ("spec", "servers", server_index, "tls") + suffix
                for namespace in namespaces:
                    yield from _check_credential(context, entry, path, namespace, name, mutual=tls.get("mode") == "MUTUAL")


def _check_credential(context: Context, entry: Entry, path: tuple, namespace: str, name: str, *,
                      mutual: bool) -> Iterator[Finding]:
    index = context.index
    secret = index.secrets.get((namespace, name))
    if secret is None:
        if index.read_scope.knows_secrets_in(namespace) and (namespace, name) not in index.issued_secrets:
            yield context.finding(
                "MSH220", entry, path,
                f"Secret {name!r} does not exist in namespace {namespace!r}, where the gateway pods run: TLS "
                "handshakes on this server fail; create it there (gateway certificates live with the gateway pods)",
            )
        return
    keys = set(mapping(secret.obj.get("data"))) | set(mapping(secret.obj.get("stringData")))
    if not any(cert in keys and key in keys for cert, key in CERTIFICATE_KEYS):
        yield context.finding(
            "MSH221", entry, path,
            f"Secret {namespace}/{name} has no certificate and key (tls.crt and tls.key): create it with "
            "`kubectl create secret tls`",
        )
    elif mutual and not (keys & set(CA_KEYS)) and (namespace, name + CA_SECRET_SUFFIX) not in index.secrets:
        yield context.finding(
            "MSH221", entry, path,
            f"MUTUAL TLS needs the CA of client certificates: add ca.crt to Secret {namespace}/{name} or create "
            f"Secret {name}{CA_SECRET_SUFFIX}",
        )


def check_gateway_ports(context: Context) -> Iterator[Finding]:
    """MSH223: a server port that no Service in front of the gateway pods exposes cannot be reached through it."""
    index = context.index
    if not index.live_given:
        return
    for entry in index.of_kind(*GATEWAY):
        _, pods = _gateway_pods(context, entry)
        exposed: set[int] = set()
        fronted = False
        for pod in pods or ():
            namespace, labels = index.workloads.namespaces[pod], index.workloads.labels[pod]
            for service in index.services_in.get(namespace, ()):
                selector = label_set(service.spec.get("selector"))
                if selector and selector <= labels:
                    fronted = True
                    for port in sequence(service.spec.get("ports")):
                        port = mapping(port)
                        if str(port.get("protocol") or "TCP").upper() == "TCP":
                            exposed.update(p for p in (port.get("port"), port.get("targetPort")) if isinstance(p, int))
        if not fronted:
            continue
        for server_index, server in enumerate(sequence(entry.spec.get("servers"))):
            number = mapping(mapping(server).get("port")).get("number")
            if isinstance(number, int) and number not in exposed:
                yield context.finding(
                    "MSH223", entry, ("spec", "servers", server_index, "port", "number"),
                    f"port {number} is not a port of the Service in front of the gateway pods (exposes "
                    f"{', '.join(map(str, sorted(exposed))) or 'none'}): clients cannot reach it; add the port to "
                    "the gateway Service or use one it exposes",
                )


# --- selectors that compete --------------------------------------------------------------------------


def _competing(context: Context, group: str, kind: str) -> Iterator[tuple[Entry, list[str], str]]:
    """(rendered member, the others, what they share) for objects of one kind picking the same workload."""
    index = context.index
    by_namespace: dict[str, list[tuple[Entry, frozenset]]] = defaultdict(list)
    for entry in index.of_kind(group, kind, rendered_only=False):
        selector = workload_selector(group, kind, entry.obj)
        if selector is not None:
            by_namespace[entry.namespace].append((entry, selector[1]))
    for namespace, members in by_namespace.items():
        if len(members) < 2:
            continue
        rivals: dict[int, tuple[set[int], str]] = {}
        for entry, labels in members:
            same = {id(other) for other, other_labels in members if other is not entry and other_labels == labels}
            if same:
                rivals[id(entry)] = (same, f"the same selector {_describe(labels)}")
        if index.read_scope.knows_pods_in(namespace):
            picks: dict[int, list[Entry]] = defaultdict(list)
            for entry, labels in members:
                for pod in index.workloads.selected(namespace, labels):
                    picks[pod].append(entry)
            for pod, entries in sorted(picks.items()):
                if len(entries) > 1:
                    for entry in entries:
                        if id(entry) not in rivals:
                            others = {id(other) for other in entries if other is not entry}
                            rivals[id(entry)] = (others, f"workload {index.workloads.names[pod]}")
        by_id = {id(entry): entry for entry, _ in members}
        for entry, _ in members:
            if id(entry) in rivals and entry.manifest is not None:
                others, shared = rivals[id(entry)]
                yield entry, sorted(by_id[other].label for other in others), shared


# Kinds of which a workload uses one object only: (group, kind, code, path reported, what to do).
COMPETING = (
    (NETWORKING, "Sidecar", "MSH225", ("spec", "workloadSelector"),
     "a workload uses one Sidecar and which one is undefined; merge them or make their selectors disjoint"),
    (TELEMETRY, "Telemetry", "MSH227", ("spec", "selector"),
     "Istio applies only one of them; merge their metrics, tracing and accessLogging into one Telemetry"),
)


def check_competing_selectors(context: Context) -> Iterator[Finding]:
    """MSH225/MSH227: two Sidecars (or Telemetries) for one workload; Istio picks one, which one is undefined."""
    for group, kind, code, path, advice in COMPETING:
        for entry, others, shared in _competing(context, group, kind):
            yield context.finding(code, entry, path, f"{quoted(others)} also selects {shared}: {advice}")


CHECKS = (check_selectors_match_workloads, check_gateway_pods, check_gateway_credentials, check_gateway_ports,
          check_competing_selectors)
