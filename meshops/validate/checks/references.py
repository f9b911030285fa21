"""MSH2xx references: what a VirtualService or DestinationRule names must exist and fit.

A route to a subset no DestinationRule defines, to a host no Service or ServiceEntry declares, or
through a Gateway that does not exist or does not serve the route's hosts fails at request time
(503s, 404s), long after `kubectl apply` said "configured". When the target's namespace is not
among the objects validated (and no cluster was read), the target may be managed elsewhere:
MSH204 says so as info instead of guessing.
"""
from __future__ import annotations

from typing import Iterator

from ...model.suggest import did_you_mean
from ...yamlio.documents import Path
from ..findings import Finding, Rule, Severity
from ..index import NETWORKING, Entry, label_set, mapping, sequence, text
from .. import hosts
from ..meshconfig import mesh_configs
from .context import Context, quoted

RULES = (
    Rule("MSH201", Severity.ERROR, "VirtualService routes to a subset no DestinationRule for that host defines",
         "IST0101 ReferencedResourceNotFound"),
    Rule("MSH202", Severity.ERROR, "VirtualService destination host matches no Service or ServiceEntry",
         "IST0101 ReferencedResourceNotFound"),
    Rule("MSH203", Severity.WARNING, "External destination host has no ServiceEntry"),
    Rule("MSH204", Severity.INFO, "Reference not checked: its target is not among the objects validated"),
    Rule("MSH205", Severity.ERROR, "VirtualService names a Gateway that does not exist", "IST0101 ReferencedResourceNotFound"),
    Rule("MSH206", Severity.ERROR, "VirtualService is bound to a Gateway that serves none of its hosts",
         "IST0132 VirtualServiceHostNotFoundInGateway"),
    Rule("MSH207", Severity.WARNING, "VirtualService host is not served by one of its Gateways",
         "IST0132 VirtualServiceHostNotFoundInGateway"),
    Rule("MSH211", Severity.WARNING, "DestinationRule host matches no Service or ServiceEntry", "UnknownDestinationRuleHost"),
    Rule("MSH218", Severity.WARNING, "DestinationRule subset selects no running pod", "DestinationRuleSubsetNotSelectPods"),
    Rule("MSH228", Severity.WARNING, "ServiceEntry without addresses for a TCP port (traffic cannot be told apart)",
         "IST0134 ServiceEntryAddressesRequired"),
)

# Protocols whose traffic carries no host name a proxy could route on: a ServiceEntry port with one of
# these (or none) needs a virtual IP (`addresses`), unless Istio allocates one (DNS proxying).
ADDRESS_PROTOCOLS = ("", "TCP")
# Proxy metadata in the mesh config that makes the sidecar DNS proxy allocate ServiceEntry addresses.
DNS_AUTO_ALLOCATION = {"ISTIO_META_DNS_CAPTURE": "true", "ISTIO_META_DNS_AUTO_ALLOCATE": "true"}

ROUTE_SECTIONS = ("http", "tcp", "tls")
NO_CLUSTER_HINT = "validate with a cluster (--context) or include the objects that define it"


def destinations(spec: dict) -> Iterator[tuple[Path, dict]]:
    """Every destination a VirtualService sends traffic to (routes and mirrors), with its path."""
    for section in ROUTE_SECTIONS:
        for rule_index, rule in enumerate(sequence(spec.get(section))):
            rule = mapping(rule)
            for route_index, route in enumerate(sequence(rule.get("route"))):
                destination = mapping(mapping(route).get("destination"))
                if destination:
                    yield ("spec", section, rule_index, "route", route_index, "destination"), destination
            if section != "http":
                continue
            if mapping(rule.get("mirror")):
                yield ("spec", section, rule_index, "mirror"), mapping(rule.get("mirror"))
            for mirror_index, mirror in enumerate(sequence(rule.get("mirrors"))):
                destination = mapping(mapping(mirror).get("destination"))
                if destination:
                    yield ("spec", section, rule_index, "mirrors", mirror_index, "destination"), destination


def check_destinations(context: Context) -> Iterator[Finding]:
    """MSH201-MSH204: every destination host exists (and is visible); every subset is defined."""
    for entry in context.index.of_kind(NETWORKING, "VirtualService"):
        for path, destination in destinations(entry.spec):
            raw_host = text(destination.get("host"))
            if not raw_host or "*" in raw_host:
                continue
            host = hosts.fqdn(raw_host, entry.namespace)
            host_findings = list(_check_host(context, entry, path + ("host",), raw_host, host))
            yield from host_findings
            subset = text(destination.get("subset"))
            if subset and not any(f.code == "MSH202" for f in host_findings):  # a wrong host: fix that first
                yield from _check_subset(context, entry, path + ("subset",), host, subset)


def _check_host(context: Context, entry: Entry, path: Path, raw_host: str, host: str) -> Iterator[Finding]:
    index = context.index
    declared = index.services.lookup(host)
    if declared:
        if not any(hosts.visible(exported, entry.namespace) for _, exported in declared):
            owners = quoted(e.label for e, _ in declared)
            yield context.finding(
                "MSH202", entry, path,
                f"host {raw_host!r} is declared by {owners} but not exported to namespace {entry.namespace!r}: "
                f"add {entry.namespace!r} to its exportTo, or move this VirtualService",
            )
        return
    target_namespace = hosts.service_namespace(host)
    if target_namespace is not None:
        if not index.knows("services", target_namespace):
            yield context.finding(
                "MSH204", entry, path,
                f"host {raw_host!r} ({host}) not checked: no Service of namespace {target_namespace!r} is among the "
                f"objects validated; {NO_CLUSTER_HINT}",
            )
            return
        name = host.split(".", 1)[0]
        guess = did_you_mean(name, index.service_names.get(target_namespace, ()))
        yield context.finding(
            "MSH202", entry, path,
            f"host {raw_host!r} ({host}) matches no Service or ServiceEntry in namespace {target_namespace!r}: "
            + (f"{guess} " if guess else "")
            + "correct the host or add the Service",
        )
        return
    name, _, namespace = host.partition(".")
    if namespace and "." not in namespace and index.services.lookup(hosts.service_fqdn(name, namespace)):
        yield context.finding(
            "MSH202", entry, path,
            f"Istio takes a host with a dot literally, so {raw_host!r} is not the Service {name} in namespace "
            f"{namespace!r}: write {hosts.service_fqdn(name, namespace)!r}",
        )
        return
    yield context.finding(
        "MSH203", entry, path,
        f"external host {raw_host!r} is not declared by any ServiceEntry: add a ServiceEntry for it "
        "(location: MESH_EXTERNAL), otherwise routing rules for it are not applied and REGISTRY_ONLY meshes block it",
    )


def _check_subset(context: Context, entry: Entry, path: Path, host: str, subset: str) -> Iterator[Finding]:
    rules = context.index.destination_rules_for(host, entry.namespace)
    if rules:
        defined = sorted({name for rule in rules for name in subset_names(rule)})
        if subset not in defined:
            guess = did_you_mean(subset, defined)
            yield context.finding(
                "MSH201", entry, path,
                f"subset {subset!r} of host {host} is not defined by {quoted(r.label for r in rules)} "
                f"(defines {', '.join(defined) or 'no subsets'}): "
                + (f"{guess} " if guess else "")
                + f"add a subset named {subset!r} to the DestinationRule or route to an existing one",
            )
        return
    namespaces = (entry.namespace, hosts.service_namespace(host))
    if any(context.index.knows("destinationrules", ns) for ns in namespaces):
        yield context.finding(
            "MSH201", entry, path,
            f"subset {subset!r} is used but no DestinationRule for host {host} is visible from namespace "
            f"{entry.namespace!r}: add a DestinationRule for {host} defining subset {subset!r}",
        )
    else:
        yield context.finding(
            "MSH204", entry, path,
            f"subset {subset!r} of host {host} not checked: no DestinationRule of its namespace is among the "
            f"objects validated; {NO_CLUSTER_HINT}",
        )


def subset_names(rule: Entry) -> list[str]:
    return [name for subset in sequence(rule.spec.get("subsets")) if (name := text(mapping(subset).get("name")))]


def _gateway_refs(spec: dict) -> Iterator[tuple[Path, str]]:
    for ref_index, ref in enumerate(sequence(spec.get("gateways"))):
        if text(ref):
            yield ("spec", "gateways", ref_index), ref
    for section in ROUTE_SECTIONS:
        for rule_index, rule in enumerate(sequence(spec.get(section))):
            for match_index, match in enumerate(sequence(mapping(rule).get("match"))):
                for ref_index, ref in enumerate(sequence(mapping(match).get("gateways"))):
                    if text(ref):
                        yield ("spec", section, rule_index, "match", match_index, "gateways", ref_index), ref


def check_gateways(context: Context) -> Iterator[Finding]:
    """MSH205-MSH207: gateway references resolve, and the Gateway serves the VirtualService's hosts."""
    index = context.index
    for entry in index.of_kind(NETWORKING, "VirtualService"):
        for path, ref in _gateway_refs(entry.spec):
            resolved = hosts.gateway_ref(ref, entry.namespace)
            if resolved is None:
                continue
            gateway = index.gateways.get(resolved)
            if gateway is None:
                namespace, name = resolved
                if index.knows("gateways", namespace):
                    known = [n for (ns, n) in index.gateways if ns == namespace]
                    guess = did_you_mean(name, known)
                    yield context.finding(
                        "MSH205", entry, path,
                        f"gateway {ref!r} resolves to Gateway {namespace}/{name}, which does not exist: "
                        + (f"{guess} " if guess else "")
                        + "use `<namespace>/<name>` for a Gateway in another namespace",
                    )
                else:
                    yield context.finding(
                        "MSH204", entry, path,
                        f"gateway {ref!r} not checked: no Gateway of namespace {namespace!r} is among the objects "
                        f"validated; {NO_CLUSTER_HINT}",
                    )
                continue
            if path[1] == "gateways":
                yield from _check_served_hosts(context, entry, path, gateway)


def _check_served_hosts(context: Context, entry: Entry, path: Path, gateway: Entry) -> Iterator[Finding]:
    served = context.index.served_hosts[(gateway.namespace, gateway.name)]
    where = {"gateway_namespace": gateway.namespace, "vs_namespace": entry.namespace}
    vs_hosts = [(i, h) for i, h in enumerate(sequence(entry.spec.get("hosts"))) if text(h)]
    unserved = [(i, h) for i, h in vs_hosts if not served.serves(hosts.fqdn(h, entry.namespace), **where)]
    if not unserved:
        return
    served_list = ", ".join(sorted(
        name if part == hosts.EVERYONE else f"{part}/{name}" for part, names in served.names.items() for name in names
    )) or "no hosts"
    if len(unserved) == len(vs_hosts):
        admitted = sorted({n for part in served.admitted_parts(**where) for n in served.names[part]})
        restricted = len(served.admitted_parts(**where)) < len(served.names)
        yield context.finding(
            "MSH206", entry, path,
            f"{gateway.label} serves {served_list}"
            + (f" (to namespace {entry.namespace!r}: {', '.join(admitted) or 'none'})" if restricted else "")
            + ", none of this VirtualService's hosts: add the hosts to a server of the Gateway or bind another Gateway",
        )
        return
    for host_index, raw_host in unserved:
        yield context.finding(
            "MSH207", entry, ("spec", "hosts", host_index),
            f"host {raw_host!r} is not served by {gateway.label} (serves {served_list}): add it to a server "
            "of the Gateway, or remove it here",
        )


def check_destination_rule_hosts(context: Context) -> Iterator[Finding]:
    """MSH211: a DestinationRule for a host nothing declares applies to no traffic (typo?)."""
    index = context.index
    for entry in index.of_kind(NETWORKING, "DestinationRule"):
        raw_host = text(entry.spec.get("host"))
        if not raw_host:
            continue
        host = hosts.fqdn(raw_host, entry.namespace)
        if index.services.matches_anything(host):
            continue
        target_namespace = hosts.service_namespace(host)
        if target_namespace is not None and not index.knows("services", target_namespace):
            continue
        names = index.service_names.get(target_namespace or "", ())
        guess = did_you_mean(host.split(".", 1)[0], names) if names else ""
        yield context.finding(
            "MSH211", entry, ("spec", "host"),
            f"host {raw_host!r} ({host}) matches no Service or ServiceEntry, so this DestinationRule applies to "
            "nothing: " + (f"{guess} " if guess else "") + "correct the host or add a ServiceEntry for it",
        )


def check_subset_pods(context: Context) -> Iterator[Finding]:
    """MSH218 (live pods only): a subset whose labels select no pod of its Service gets 503s."""
    index = context.index
    if not index.pods.count:
        return
    for entry in index.of_kind(NETWORKING, "DestinationRule"):
        raw_host = text(entry.spec.get("host"))
        service = index.kubernetes_services.get(hosts.fqdn(raw_host, entry.namespace)) if raw_host else None
        if service is None:
            continue
        service_selector = label_set(service.spec.get("selector"))
        for subset_index, subset in enumerate(sequence(entry.spec.get("subsets"))):
            labels = label_set(mapping(subset).get("labels"))
            if not labels or index.pods.selects_any(service.namespace, service_selector | labels):
                continue
            wanted = ", ".join(f"{k}={v}" for k, v in sorted(service_selector | labels))
            yield context.finding(
                "MSH218", entry, ("spec", "subsets", subset_index, "labels"),
                f"subset {text(mapping(subset).get('name'))!r} selects no running pod ({wanted} in namespace "
                f"{service.namespace!r}): traffic routed to it fails with 503; deploy that version or fix the labels",
            )


def _addresses_allocated(context: Context) -> bool:
    """Whether the mesh config (the `istio` ConfigMap, rendered or live) turns on DNS auto-allocation."""
    return any(
        all(str(mapping(mapping(mesh.get("defaultConfig")).get("proxyMetadata")).get(k)) == v
            for k, v in DNS_AUTO_ALLOCATION.items())
        for _, mesh in mesh_configs(context.index)
    )


def check_service_entry_addresses(context: Context) -> Iterator[Finding]:
    """MSH228: a TCP port on a ServiceEntry without addresses: every such entry shares 0.0.0.0:<port>."""
    entries = context.index.of_kind(NETWORKING, "ServiceEntry")
    if not entries or _addresses_allocated(context):
        return
    for entry in entries:
        if sequence(entry.spec.get("addresses")):
            continue
        for port_index, port in enumerate(sequence(entry.spec.get("ports"))):
            protocol = str(mapping(port).get("protocol") or "").upper()
            if protocol in ADDRESS_PROTOCOLS:
                yield context.finding(
                    "MSH228", entry, ("spec", "ports", port_index),
                    f"port {mapping(port).get('number')} is {protocol or 'of no protocol (TCP)'} and the ServiceEntry "
                    "has no `addresses`: TCP traffic carries no host name, so the proxy cannot tell this service from "
                    "any other on that port; add addresses (a VIP or CIDR), use an HTTP/TLS protocol, or enable DNS "
                    "auto-allocation (ISTIO_META_DNS_CAPTURE and ISTIO_META_DNS_AUTO_ALLOCATE)",
                )
                break


CHECKS = (check_destinations, check_gateways, check_destination_rule_hosts, check_subset_pods,
          check_service_entry_addresses)
