"""Indexes over the rendered objects (plus live ones from a cluster), built once in one pass.

Every cross-resource check asks questions like "which Services and ServiceEntries answer to this
host?", "which DestinationRules apply to it?", "which VirtualServices claim this host on this
gateway?". Answering by scanning all objects would make validation quadratic; `MeshIndex` files
every object under the keys those questions use, so each check is a loop over its own kind with
dictionary lookups (wildcards cost one lookup per DNS label).

Rendered objects are what the checks report on (`Entry.manifest`); live objects only answer
questions (`manifest is None`), and a rendered object replaces the live one with the same key.
Objects are read defensively: schema checks report wrong types, these indexes just skip them.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Iterable

from ..model import kinds
from ..model.manifest import Manifest, ObjectKey, key_of
from ..model.readscope import OFFLINE, LiveScope
from ..model.selectors import EXTENSIONS, NETWORKING, SECURITY, TELEMETRY, label_set
from . import gatewayapi, hosts

__all__ = ["EXTENSIONS", "NETWORKING", "SECURITY", "TELEMETRY", "GATEWAY_API", "CORE", "label_set"]

GATEWAY_API = kinds.GATEWAY_API_GROUP
CORE = ""
APPS = "apps"
CERT_MANAGER = "cert-manager.io"
# Kinds whose pod template makes workloads: a rendered one counts as a workload its selectors can match.
POD_TEMPLATES = {(APPS, "Deployment"), (APPS, "StatefulSet"), (APPS, "DaemonSet"), (APPS, "ReplicaSet"), ("batch", "Job")}

# Label selectors bigger than this are not expanded into their subsets (2^n lookups); real ones
# have one to three labels.
MAX_SELECTOR_EXPANSION = 8


def mapping(value: Any) -> dict:
    """`value` if it is a mapping, else an empty one (wrong types are the schema checks' business)."""
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list:
    return value if isinstance(value, list) else []


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def sub_selectors(labels: frozenset[tuple[str, str]]) -> Iterable[frozenset[tuple[str, str]]]:
    """Every subset of a label set: the selectors that select whatever `labels` selects."""
    items = sorted(labels)
    if len(items) > MAX_SELECTOR_EXPANSION:
        yield frozenset()
        yield labels
        return
    for size in range(len(items) + 1):
        for subset in combinations(items, size):
            yield frozenset(subset)


@dataclass(eq=False)
class Entry:
    """One object the checks see: rendered (reportable, has a manifest) or live (context only)."""

    obj: dict
    manifest: Manifest | None
    key: ObjectKey
    namespace: str  # the namespace it lives in ("default" when a manifest names none)

    @property
    def spec(self) -> dict:
        return mapping(self.obj.get("spec"))

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def label(self) -> str:
        return f"{self.key.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.key.kind} {self.name}"

    @property
    def annotations(self) -> dict:
        return mapping(mapping(self.obj.get("metadata")).get("annotations"))

    @property
    def version(self) -> str:
        return kinds.split_api_version(str(self.obj.get("apiVersion") or ""))[1]


def _entry(obj: dict, manifest: Manifest | None) -> Entry:
    key = key_of(obj)
    row = kinds.lookup(key.group, key.kind)
    namespaced = row.namespaced if row else True
    namespace = (key.namespace or hosts.DEFAULT_NAMESPACE) if namespaced else ""
    return Entry(obj=obj, manifest=manifest, key=key, namespace=namespace)


@dataclass
class HostTable:
    """Objects filed under the hosts they declare, exact names and wildcards apart."""

    exact: dict[str, list[tuple[Entry, frozenset[str] | None]]] = field(default_factory=lambda: defaultdict(list))
    wildcard: dict[str, list[tuple[Entry, frozenset[str] | None]]] = field(default_factory=lambda: defaultdict(list))
    # Every wildcard that covers some exact host: answers "does `*.x` match anything?" in O(1).
    covered_patterns: set[str] = field(default_factory=set)

    def add(self, host: str, entry: Entry, exported_to: frozenset[str] | None) -> None:
        if hosts.is_wildcard(host):
            self.wildcard[host].append((entry, exported_to))
            return
        self.exact[host].append((entry, exported_to))
        self.covered_patterns.update(hosts.wildcard_keys(host))

    def lookup(self, host: str) -> list[tuple[Entry, frozenset[str] | None]]:
        """Objects whose declared host (exact or wildcard) covers `host`."""
        found = list(self.exact.get(host, ()))
        for pattern in hosts.wildcard_keys(host):
            found.extend(self.wildcard.get(pattern, ()))
        return found

    def matches_anything(self, pattern: str) -> bool:
        """Whether the host or wildcard `pattern` names at least one declared host."""
        if not hosts.is_wildcard(pattern):
            return bool(self.lookup(pattern))
        return pattern in self.covered_patterns or any(self.wildcard.get(p) for p in hosts.wildcard_keys(pattern))


@dataclass
class ServedHosts:
    """The hosts one Gateway's servers serve, filed by namespace part (`*`, `.`, `<ns>`), so "is this
    VirtualService host served to that namespace?" costs O(DNS labels), however many hosts there are."""

    names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # Every wildcard that covers some served host: answers "does wildcard host `*.x` meet one?".
    covered: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, host: str) -> None:
        namespace_part, name = hosts.split_gateway_host(host)
        self.names[namespace_part].add(name)
        self.covered[namespace_part].update(hosts.wildcard_keys(name))

    def admitted_parts(self, *, gateway_namespace: str, vs_namespace: str) -> list[str]:
        return [
            part for part in self.names
            if hosts.gateway_host_admits(part, gateway_namespace=gateway_namespace, vs_namespace=vs_namespace)
        ]

    def serves(self, host: str, *, gateway_namespace: str, vs_namespace: str) -> bool:
        for part in self.admitted_parts(gateway_namespace=gateway_namespace, vs_namespace=vs_namespace):
            names = self.names[part]
            if host in names or any(pattern in names for pattern in hosts.wildcard_keys(host)):
                return True
            if hosts.is_wildcard(host) and host in self.covered[part]:
                return True
        return False


@dataclass
class PodIndex:
    """Pods (or other workloads) by namespace and label, to answer "which does this selector select?"."""

    by_label: dict[tuple[str, str, str], set[int]] = field(default_factory=lambda: defaultdict(set))
    by_namespace: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    anywhere_by_label: dict[tuple[str, str], set[int]] = field(default_factory=lambda: defaultdict(set))
    names: list[str] = field(default_factory=list)  # per workload: `namespace/name` for messages
    namespaces: list[str] = field(default_factory=list)  # per workload: its namespace
    labels: list[frozenset[tuple[str, str]]] = field(default_factory=list)
    count: int = 0

    def add(self, namespace: str, labels: frozenset[tuple[str, str]], name: str = "") -> None:
        pod = self.count
        self.count += 1
        self.names.append(f"{namespace}/{name}")
        self.namespaces.append(namespace)
        self.labels.append(labels)
        self.by_namespace[namespace].add(pod)
        for label_name, value in labels:
            self.by_label[(namespace, label_name, value)].add(pod)
            self.anywhere_by_label[(label_name, value)].add(pod)

    def selected(self, namespace: str | None, labels: frozenset[tuple[str, str]]) -> set[int]:
        """The workloads `labels` selects in `namespace` (None: in every namespace)."""
        if namespace is None:
            candidates = [self.anywhere_by_label.get(label, set()) for label in labels]
            everything = set(range(self.count))
        else:
            candidates = [self.by_label.get((namespace, name, value), set()) for name, value in labels]
            everything = self.by_namespace.get(namespace, set())
        if not candidates:
            return set(everything)
        candidates.sort(key=len)
        return set.intersection(*candidates) if candidates[0] else set()

    def selects_any(self, namespace: str, labels: frozenset[tuple[str, str]]) -> bool:
        return bool(self.selected(namespace, labels))


class MeshIndex:
    """All indexes, built in one pass over rendered + live objects (see module docstring)."""

    def __init__(self, manifests: Iterable[Manifest], live: Iterable[dict] | None = None,
                 read_scope: LiveScope = OFFLINE) -> None:
        self.live_given = live is not None
        self.read_scope = read_scope  # where live pods and Secrets were read (`model.readscope`)
        self.entries: list[Entry] = []
        self.by_kind: dict[tuple[str, str], list[Entry]] = defaultdict(list)
        self.services = HostTable()  # Services and ServiceEntries
        self.destination_rules = HostTable()
        self.kubernetes_services: dict[str, Entry] = {}  # host -> Service (for its pod selector)
        self.service_names: dict[str, list[str]] = defaultdict(list)  # namespace -> Service names
        # Namespaces whose objects of a family we have seen: a missing target there is a mistake,
        # elsewhere it may simply be managed by someone else (unless a cluster was read).
        self.seen_namespaces: dict[str, set[str]] = defaultdict(set)
        self.gateways: dict[tuple[str, str], Entry] = {}
        self.served_hosts: dict[tuple[str, str], ServedHosts] = {}
        self.virtual_services_by_gateway_host: dict[tuple[str, str], list[tuple[Entry, int]]] = defaultdict(list)
        self.gateway_servers: dict[tuple[frozenset, int, str], list[tuple[Entry, int, int]]] = defaultdict(list)
        self.namespace_peer_authentication: dict[str, Entry] = {}
        self.workload_peer_authentications: dict[tuple[str, frozenset], list[Entry]] = defaultdict(list)
        self.token_requiring_policies: set[tuple[str, frozenset]] = set()
        self.request_authentication_namespaces: set[str] = set()
        self.selectorless_telemetry: dict[str, list[Entry]] = defaultdict(list)
        self.selectorless_sidecars: dict[str, list[Entry]] = defaultdict(list)
        self.pods = PodIndex()  # live pods only
        # Everything a selector can pick: live pods, rendered pod templates and WorkloadEntries.
        self.workloads = PodIndex()
        self.services_in: dict[str, list[Entry]] = defaultdict(list)  # namespace -> Kubernetes Services
        self.secrets: dict[tuple[str, str], Entry] = {}  # (namespace, name) -> Secret (live ones: keys only)
        self.issued_secrets: set[tuple[str, str]] = set()  # Secrets a rendered cert-manager Certificate will write
        # The live object each rendered one would replace (checks that judge a change, e.g. MSH250).
        self.live_counterparts: dict[ObjectKey, dict] = {}
        # Gateway API: Gateways with their listeners, classes, grants, and namespace labels (for
        # listeners that admit routes by namespace selector).
        self.api_gateways: dict[tuple[str, str], tuple[Entry, list[gatewayapi.Listener]]] = {}
        self.gateway_classes: set[str] = set()
        self.reference_grants: dict[tuple[str, str, str, str, str, str], set[str]] = defaultdict(set)
        self.namespace_labels: dict[str, frozenset[tuple[str, str]]] = {}

        rendered_keys: set[ObjectKey] = set()
        for manifest in manifests:
            if isinstance(manifest.obj, dict):
                self._add(_entry(manifest.obj, manifest))
                rendered_keys.add(manifest.key)
        for obj in live or ():
            if not isinstance(obj, dict):
                continue
            key = key_of(obj)
            if key in rendered_keys:
                self.live_counterparts[key] = obj
            else:
                self._add(_entry(obj, None))

    # -- questions the checks ask -------------------------------------------------------------

    def of_kind(self, group: str, kind: str, *, rendered_only: bool = True) -> list[Entry]:
        found = self.by_kind.get((group, kind), [])
        return [e for e in found if e.manifest is not None] if rendered_only else found

    def knows(self, family: str, namespace: str | None) -> bool:
        """Whether we see all objects of `family` in `namespace` (a cluster was read, or we render some)."""
        return self.live_given or (namespace is not None and namespace in self.seen_namespaces[family])

    def grants(self, *, source: Entry, target: "gatewayapi.Reference") -> bool:
        """Whether a ReferenceGrant in the target's namespace lets `source` (a route, a Gateway) reference it."""
        names = self.reference_grants.get((target.namespace, source.key.group, source.key.kind, source.namespace,
                                           target.group, target.kind), ())
        return "" in names or target.name in names

    def destination_rules_for(self, host: str, client_namespace: str) -> list[Entry]:
        """DestinationRules that apply to `host` for a client in `client_namespace`, Istio's way:
        the client's namespace first, then the service's namespace, then the root namespace."""
        visible = [e for e, exported in self.destination_rules.lookup(host) if hosts.visible(exported, client_namespace)]
        for namespace in (client_namespace, hosts.service_namespace(host), hosts.ROOT_NAMESPACE):
            chosen = [e for e in visible if e.namespace == namespace]
            if chosen:
                return chosen
        return visible

    # -- building -----------------------------------------------------------------------------

    def _add(self, entry: Entry) -> None:
        self.entries.append(entry)
        self.by_kind[(entry.key.group, entry.key.kind)].append(entry)
        adder = _ADDERS.get((entry.key.group, entry.key.kind))
        if adder is not None:
            adder(self, entry)

    def _add_service(self, entry: Entry) -> None:
        host = hosts.service_fqdn(entry.name, entry.namespace)
        exported = entry.annotations.get("networking.istio.io/exportTo")
        exported_to = hosts.export_set(str(exported).split(","), entry.namespace) if exported else None
        self.services.add(host, entry, exported_to)
        self.kubernetes_services[host] = entry
        self.services_in[entry.namespace].append(entry)
        self.service_names[entry.namespace].append(entry.name)
        self.seen_namespaces["services"].add(entry.namespace)

    def _add_service_entry(self, entry: Entry) -> None:
        exported_to = export_of(entry)
        for host in sequence(entry.spec.get("hosts")):
            if text(host):
                self.services.add(hosts.fqdn(host, entry.namespace), entry, exported_to)
        # Not a sighting of the namespace's Kubernetes Services (`knows("services", …)`): an imported
        # environment renders ServiceEntries and routes to Services it does not render.

    def _add_destination_rule(self, entry: Entry) -> None:
        host = text(entry.spec.get("host"))
        if host:
            self.destination_rules.add(hosts.fqdn(host, entry.namespace), entry, export_of(entry))
        self.seen_namespaces["destinationrules"].add(entry.namespace)

    def _add_gateway(self, entry: Entry) -> None:
        self.gateways[(entry.namespace, entry.name)] = entry
        self.seen_namespaces["gateways"].add(entry.namespace)
        served = self.served_hosts[(entry.namespace, entry.name)] = ServedHosts()
        selector = label_set(entry.spec.get("selector"))
        for server_index, server in enumerate(sequence(entry.spec.get("servers"))):
            for host in sequence(mapping(server).get("hosts")):
                if text(host):
                    served.add(host)
            number = mapping(mapping(server).get("port")).get("number")
            if not isinstance(number, int):
                continue
            for host_index, host in enumerate(sequence(mapping(server).get("hosts"))):
                if text(host):
                    _, name = hosts.split_gateway_host(host)
                    self.gateway_servers[(selector, number, name)].append((entry, server_index, host_index))

    def _add_virtual_service(self, entry: Entry) -> None:
        for gateway in gateway_keys(entry):
            for host_index, host in enumerate(sequence(entry.spec.get("hosts"))):
                if text(host):
                    self.virtual_services_by_gateway_host[(gateway, hosts.fqdn(host, entry.namespace))].append(
                        (entry, host_index)
                    )

    def _add_peer_authentication(self, entry: Entry) -> None:
        labels = label_set(mapping(entry.spec.get("selector")).get("matchLabels"))
        if labels:
            self.workload_peer_authentications[(entry.namespace, labels)].append(entry)
        else:
            self.namespace_peer_authentication.setdefault(entry.namespace, entry)

    def _add_authorization_policy(self, entry: Entry) -> None:
        if requires_request_principal(entry.spec):
            labels = label_set(mapping(entry.spec.get("selector")).get("matchLabels"))
            self.token_requiring_policies.add((entry.namespace, labels))

    def _add_request_authentication(self, entry: Entry) -> None:
        self.request_authentication_namespaces.add(entry.namespace)

    def _add_telemetry(self, entry: Entry) -> None:
        spec = entry.spec
        if not spec.get("selector") and not spec.get("targetRef") and not spec.get("targetRefs"):
            self.selectorless_telemetry[entry.namespace].append(entry)

    def _add_sidecar(self, entry: Entry) -> None:
        if not label_set(mapping(entry.spec.get("workloadSelector")).get("labels")):
            self.selectorless_sidecars[entry.namespace].append(entry)

    def _add_pod(self, entry: Entry) -> None:
        labels = label_set(mapping(entry.obj.get("metadata")).get("labels"))
        self.pods.add(entry.namespace, labels, entry.name)
        self.workloads.add(entry.namespace, labels, entry.name)

    def _add_pod_template(self, entry: Entry) -> None:
        template = mapping(mapping(entry.spec.get("template")).get("metadata"))
        self.workloads.add(entry.namespace, label_set(template.get("labels")), f"{entry.key.kind} {entry.name}")

    def _add_workload_entry(self, entry: Entry) -> None:
        self.workloads.add(entry.namespace, label_set(entry.spec.get("labels")), f"WorkloadEntry {entry.name}")

    def _add_certificate(self, entry: Entry) -> None:
        if entry.manifest is not None and text(entry.spec.get("secretName")):
            self.issued_secrets.add((entry.namespace, entry.spec["secretName"]))

    def _add_secret(self, entry: Entry) -> None:
        self.secrets[(entry.namespace, entry.name)] = entry
        self.seen_namespaces["secrets"].add(entry.namespace)

    def _add_namespace(self, entry: Entry) -> None:
        self.namespace_labels[entry.name] = label_set(mapping(entry.obj.get("metadata")).get("labels"))

    def _add_api_gateway(self, entry: Entry) -> None:
        self.api_gateways[(entry.namespace, entry.name)] = (entry, gatewayapi.listeners_of(entry.spec, entry.namespace))
        self.seen_namespaces["api-gateways"].add(entry.namespace)

    def _add_gateway_class(self, entry: Entry) -> None:
        self.gateway_classes.add(entry.name)

    def _add_reference_grant(self, entry: Entry) -> None:
        for key, name in gatewayapi.grant_keys(entry.spec, entry.namespace):
            self.reference_grants[key].add(name)
        self.seen_namespaces["referencegrants"].add(entry.namespace)


_ADDERS = {
    (CORE, "Service"): MeshIndex._add_service,
    (NETWORKING, "ServiceEntry"): MeshIndex._add_service_entry,
    (NETWORKING, "DestinationRule"): MeshIndex._add_destination_rule,
    (NETWORKING, "Gateway"): MeshIndex._add_gateway,
    (NETWORKING, "VirtualService"): MeshIndex._add_virtual_service,
    (SECURITY, "PeerAuthentication"): MeshIndex._add_peer_authentication,
    (SECURITY, "AuthorizationPolicy"): MeshIndex._add_authorization_policy,
    (SECURITY, "RequestAuthentication"): MeshIndex._add_request_authentication,
    (TELEMETRY, "Telemetry"): MeshIndex._add_telemetry,
    (NETWORKING, "Sidecar"): MeshIndex._add_sidecar,
    (CORE, "Pod"): MeshIndex._add_pod,
    (CORE, "Secret"): MeshIndex._add_secret,
    (CERT_MANAGER, "Certificate"): MeshIndex._add_certificate,
    (NETWORKING, "WorkloadEntry"): MeshIndex._add_workload_entry,
    **{group_kind: MeshIndex._add_pod_template for group_kind in POD_TEMPLATES},
    (CORE, "Namespace"): MeshIndex._add_namespace,
    (GATEWAY_API, "Gateway"): MeshIndex._add_api_gateway,
    (GATEWAY_API, "GatewayClass"): MeshIndex._add_gateway_class,
    (GATEWAY_API, "ReferenceGrant"): MeshIndex._add_reference_grant,
}


def export_of(entry: Entry) -> frozenset[str] | None:
    values = entry.spec.get("exportTo")
    return hosts.export_set([str(v) for v in values], entry.namespace) if isinstance(values, list) else None


def gateway_keys(entry: Entry) -> list[str]:
    """The gateways a VirtualService binds to, as `mesh` or `<ns>/<name>` (no `gateways` = mesh)."""
    refs = [ref for ref in sequence(entry.spec.get("gateways")) if text(ref)]
    if not refs:
        return [hosts.MESH_GATEWAY]
    keys = []
    for ref in refs:
        resolved = hosts.gateway_ref(ref, entry.namespace)
        keys.append(hosts.MESH_GATEWAY if resolved is None else f"{resolved[0]}/{resolved[1]}")
    return keys


def policy_action(spec: dict) -> str:
    """An AuthorizationPolicy's action (ALLOW when unset; '' when it is not even a string)."""
    action = spec.get("action")
    return "ALLOW" if action is None else action if isinstance(action, str) else ""


def requires_request_principal(spec: dict) -> bool:
    """Whether an AuthorizationPolicy lets only requests with a valid JWT through: an ALLOW rule
    naming `requestPrincipals`, or a DENY rule on `notRequestPrincipals` (Istio's documented way)."""
    wanted = {"ALLOW": "requestPrincipals", "DENY": "notRequestPrincipals"}.get(policy_action(spec))
    if wanted is None:
        return False
    return any(
        sequence(mapping(mapping(source).get("source")).get(wanted))
        for rule in sequence(spec.get("rules"))
        for source in sequence(mapping(rule).get("from"))
    )
