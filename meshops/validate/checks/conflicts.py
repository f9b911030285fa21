"""MSH2xx conflicts: several objects claiming what only one of them can have.

Istio resolves these silently — one VirtualService per host on the mesh, one server per
host and port on a gateway workload, one selector-less Telemetry per namespace — and which one wins
depends on creation time, so the same config behaves differently in two clusters. Each group is
found through one index lookup; a finding is raised on every rendered member and names the others.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterator, Mapping, TypeVar

from ..findings import Finding, Rule, Severity
from ..index import NETWORKING, Entry, export_of, text
from .. import hosts
from .context import Context, quoted

K = TypeVar("K")

RULES = (
    Rule("MSH208", Severity.ERROR, "Several VirtualServices claim one host on the mesh gateway",
         "IST0109 ConflictingMeshGatewayVirtualServiceHosts"),
    Rule("MSH209", Severity.WARNING, "Several VirtualServices claim one host on the same Gateway"),
    Rule("MSH210", Severity.ERROR, "Gateways conflict: same workload selector, port and host", "IST0145 ConflictingGateways"),
    Rule("MSH212", Severity.WARNING, "Several DestinationRules for one host"),
    Rule("MSH219", Severity.ERROR, "Several Telemetry objects without a selector in one namespace",
         "IST0160 MultipleTelemetriesWithoutWorkloadSelectors"),
    Rule("MSH226", Severity.ERROR, "Several Sidecars without a workload selector in one namespace",
         "IST0111 MultipleSidecarsWithoutWorkloadSelectors"),
)


def check_virtual_service_hosts(context: Context) -> Iterator[Finding]:
    """MSH208/MSH209: one host, one VirtualService per gateway (exportTo scopes that never meet are fine)."""
    for (gateway, host), claims in context.index.virtual_services_by_gateway_host.items():
        if len({id(entry) for entry, _ in claims}) < 2:
            continue
        for entry, host_index in claims:
            if entry.manifest is None:
                continue
            scope = export_of(entry)
            others = sorted({
                other.label for other, _ in claims if other is not entry and hosts.overlapping(scope, export_of(other))
            })
            if not others:
                continue
            if gateway == hosts.MESH_GATEWAY:
                yield context.finding(
                    "MSH208", entry, ("spec", "hosts", host_index),
                    f"host {host} is also routed on the mesh (sidecars) by {quoted(others)}: sidecars use only one "
                    "VirtualService per host and which one is undefined; merge the routes into one VirtualService "
                    "or separate them with exportTo",
                )
            else:
                yield context.finding(
                    "MSH209", entry, ("spec", "hosts", host_index),
                    f"host {host} is also routed on Gateway {gateway} by {quoted(others)}: Istio merges them, but the "
                    "order of rules across objects is not defined; keep one VirtualService per host and gateway",
                )


def check_gateway_conflicts(context: Context) -> Iterator[Finding]:
    """MSH210: two servers for one host and port on the same gateway workloads; only one is used."""
    for (selector, port, host), servers in context.index.gateway_servers.items():
        if len(servers) < 2:
            continue
        workload = ", ".join(f"{k}={v}" for k, v in sorted(selector)) or "every gateway workload"
        for entry, server_index, host_index in servers:
            if entry.manifest is None:
                continue
            others = sorted({
                other.label if other is not entry else f"its own servers[{other_index}]"
                for other, other_index, _ in servers
                if not (other is entry and other_index == server_index)
            })
            yield context.finding(
                "MSH210", entry, ("spec", "servers", server_index, "hosts", host_index),
                f"host {host} on port {port} for workloads {workload} is also served by {quoted(others)}: only one "
                "server is used; serve the host from one Gateway, or use another port or workload selector",
            )


def check_destination_rule_duplicates(context: Context) -> Iterator[Finding]:
    """MSH212: DestinationRules for one host in one namespace are merged only partially."""
    groups: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for entry in context.index.of_kind(NETWORKING, "DestinationRule", rendered_only=False):
        raw_host = text(entry.spec.get("host"))
        if raw_host and not entry.spec.get("workloadSelector"):
            groups[(entry.namespace, hosts.fqdn(raw_host, entry.namespace))].append(entry)
    for (namespace, host), entry, others in _crowded(groups):
        yield context.finding(
            "MSH212", entry, ("spec", "host"),
            f"{quoted(others)} also configures host {host} in namespace {namespace!r}: Istio combines their subsets "
            "but for everything else the oldest one wins; put everything for the host in one DestinationRule",
        )


# Kinds a namespace may have one default of (no selector): (index of them, code, kind, how to merge).
DEFAULTS = (
    ("selectorless_telemetry", "MSH219", "Telemetry objects without a selector",
     "merge their metrics, tracing and accessLogging into one Telemetry"),
    ("selectorless_sidecars", "MSH226", "Sidecars without a workloadSelector",
     "merge them, or give each a workloadSelector"),
)


def check_namespace_defaults(context: Context) -> Iterator[Finding]:
    """MSH219/MSH226: one selector-less Telemetry (Sidecar) per namespace; with several, one is picked arbitrarily."""
    for index_name, code, what, advice in DEFAULTS:
        for namespace, entry, others in _crowded(getattr(context.index, index_name)):
            yield context.finding(
                code, entry, ("metadata", "name"),
                f"namespace {namespace!r} has other {what} ({quoted(others)}): Istio uses only one of them; {advice}",
            )


def _crowded(groups: Mapping[K, list[Entry]]) -> Iterator[tuple[K, Entry, list[str]]]:
    """(group key, rendered member, the other members' labels) for every group of two or more."""
    for key, members in groups.items():
        if len(members) < 2:
            continue
        for entry in members:
            if entry.manifest is not None:
                yield key, entry, sorted(other.label for other in members if other is not entry)


CHECKS = (check_virtual_service_hosts, check_gateway_conflicts, check_destination_rule_duplicates, check_namespace_defaults)
