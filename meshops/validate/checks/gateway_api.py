"""MSH23x Gateway API: what HTTPRoutes, GRPCRoutes and Gateways name must exist, admit them and fit.

The Gateway API reports these only in `status` conditions (`ResolvedRefs: False`, `Accepted: False
NotAllowedByListeners`, `NoMatchingListenerHostname` …), after the apply succeeded: the route just
never takes traffic, or its requests get 500s. Checked before any write:
- references: a backendRef or Service parent that does not exist, a port the Service does not have,
  a parent Gateway or listener (sectionName/port) that does not exist, a GatewayClass nobody runs;
- attachment: no selected listener admits the route (namespace, kind), or none accepts its hostnames;
- grants: a backendRef (or a Gateway's certificate) in another namespace without a ReferenceGrant;
- weights all zero (the API answers 500), HTTPS listeners without a certificate, and a Service routed
  both by a mesh HTTPRoute and a VirtualService (Istio does not merge the two).
When the target's namespace is not among the objects validated (and no cluster was read), MSH204
says the reference was not checked, as for VirtualServices.
"""
from __future__ import annotations

from typing import Iterator

from ...model.suggest import did_you_mean
from ...yamlio.documents import Path
from .. import gatewayapi, hosts
from ..findings import Finding, Rule, Severity
from ..gatewayapi import Reference
from ..index import GATEWAY_API, Entry, mapping, sequence
from .context import Context, quoted
from .references import NO_CLUSTER_HINT

RULES = (
    Rule("MSH230", Severity.ERROR, "Route backendRef names a Service that does not exist"),
    Rule("MSH231", Severity.ERROR, "Route references a port the Service does not have"),
    Rule("MSH232", Severity.ERROR, "Route parentRef names a Gateway or Service that does not exist"),
    Rule("MSH233", Severity.ERROR, "Route parentRef names a listener the Gateway does not have"),
    Rule("MSH234", Severity.ERROR, "Reference to another namespace without a ReferenceGrant that allows it"),
    Rule("MSH235", Severity.ERROR, "No listener of the parent Gateway admits the route (namespace or kind)"),
    Rule("MSH236", Severity.ERROR, "Route rule backendRef weights are all zero"),
    Rule("MSH237", Severity.ERROR, "No listener of the parent Gateway accepts any of the route's hostnames"),
    Rule("MSH238", Severity.WARNING, "Route hostname is accepted by no listener of one of its Gateways"),
    Rule("MSH239", Severity.ERROR, "HTTPS listener without a TLS certificate"),
    Rule("MSH240", Severity.ERROR, "Gateway names a GatewayClass that does not exist"),
    Rule("MSH241", Severity.WARNING, "Service routed by both a mesh HTTPRoute and a VirtualService"),
)


def _routes(context: Context) -> Iterator[Entry]:
    for kind in gatewayapi.ROUTE_KINDS:
        yield from context.index.of_kind(GATEWAY_API, kind)


def _service(context: Context, ref: Reference) -> Entry | None:
    return context.index.kubernetes_services.get(hosts.service_fqdn(ref.name, ref.namespace))


def _service_ports(service: Entry) -> dict[int, str]:
    """port number -> port name of a Service."""
    return {port["port"]: str(port.get("name") or "") for port in sequence(service.spec.get("ports"))
            if isinstance(port, dict) and isinstance(port.get("port"), int)}


def _wrong_port(context: Context, entry: Entry, path: Path, ref: Reference, service: Entry, *,
                role: str, consequence: str) -> Finding | None:
    """MSH231 when `ref` names a port `service` does not have (None: no port named, or it has it)."""
    ports = _service_ports(service)
    if ref.port is None or not ports or ref.port in ports:
        return None
    return context.finding(
        "MSH231", entry, path + ("port",),
        f"{role} port {ref.port} is not a port of {service.label} (ports: {', '.join(map(str, sorted(ports)))}): "
        f"{consequence}; use the Service's port",
    )


def _unchecked(context: Context, entry: Entry, path: Path, what: str, namespace: str, family: str) -> Finding:
    return context.finding(
        "MSH204", entry, path,
        f"{what} not checked: no {family} of namespace {namespace!r} is among the objects validated; {NO_CLUSTER_HINT}",
    )


def _missing_service(context: Context, entry: Entry, path: Path, ref: Reference, code: str, role: str) -> Finding:
    if not context.index.knows("services", ref.namespace):
        return _unchecked(context, entry, path, f"{role} {ref.label(entry.namespace)}", ref.namespace, "Service")
    guess = did_you_mean(ref.name, context.index.service_names.get(ref.namespace, ()))
    return context.finding(
        code, entry, path + ("name",),
        f"{role} {ref.label(entry.namespace)} does not exist in namespace {ref.namespace!r}: "
        + (f"{guess} " if guess else "") + "correct the name or add the Service",
    )


def check_backends(context: Context) -> Iterator[Finding]:
    """MSH230/MSH231/MSH234: every Service a route sends requests to (or mirrors them to) exists, has
    the port, and, in another namespace, grants the route access."""
    for entry in _routes(context):
        for path, ref in gatewayapi.backend_refs(entry.spec, entry.namespace):
            if not ref.is_service:
                continue  # other backends (ServiceImport, Istio's Hostname): not ours to resolve
            if ref.namespace != entry.namespace:
                finding = _check_grant(context, entry, path, ref)
                if finding is not None:
                    yield finding
                    continue
            service = _service(context, ref)
            if service is None:
                yield _missing_service(context, entry, path, ref, "MSH230", "backendRef")
                continue
            wrong = _wrong_port(context, entry, path, ref, service, role="backendRef", consequence="requests to it fail")
            if wrong is not None:
                yield wrong


def _check_grant(context: Context, entry: Entry, path: Path, ref: Reference) -> Finding | None:
    """MSH234 for a reference from `entry` to another namespace (None: allowed)."""
    index = context.index
    if index.grants(source=entry, target=ref):
        return None
    if not index.knows("referencegrants", ref.namespace):
        return _unchecked(context, entry, path, f"reference to {ref.label(entry.namespace)}", ref.namespace,
                          "ReferenceGrant")
    return context.finding(
        "MSH234", entry, path + ("namespace",),
        f"{entry.key.kind} {entry.namespace}/{entry.name} references {ref.kind} {ref.namespace}/{ref.name}, but no "
        f"ReferenceGrant in namespace {ref.namespace!r} allows {entry.key.kind}s from {entry.namespace!r} to do so: "
        f"add one there (from: {entry.key.kind} in {entry.namespace}; to: {ref.kind} {ref.name}), or move the route",
    )


def check_parents(context: Context) -> Iterator[Finding]:
    """MSH232-MSH235, MSH237/MSH238: every parent exists, has the listener named, admits the route, and
    accepts its hostnames."""
    for entry in _routes(context):
        for path, parent in gatewayapi.parent_refs(entry.spec, entry.namespace):
            if parent.is_service:
                yield from _check_service_parent(context, entry, path, parent)
            elif parent.is_gateway:
                yield from _check_gateway_parent(context, entry, path, parent)


def _check_service_parent(context: Context, entry: Entry, path: Path, parent: Reference) -> Iterator[Finding]:
    service = _service(context, parent)
    if service is None:
        yield _missing_service(context, entry, path, parent, "MSH232", "parentRef")
        return
    wrong = _wrong_port(context, entry, path, parent, service, role="parentRef",
                        consequence="the route applies to no traffic")
    ports = _service_ports(service)
    if wrong is not None:
        yield wrong
    elif parent.section_name is not None and parent.section_name not in ports.values():
        yield context.finding(
            "MSH233", entry, path + ("sectionName",),
            f"{service.label} has no port named {parent.section_name!r} (ports: "
            f"{', '.join(sorted(n for n in ports.values() if n)) or 'none named'}): name one of its ports",
        )


def _check_gateway_parent(context: Context, entry: Entry, path: Path, parent: Reference) -> Iterator[Finding]:
    index = context.index
    found = index.api_gateways.get((parent.namespace, parent.name))
    if found is None:
        if not index.knows("api-gateways", parent.namespace):
            yield _unchecked(context, entry, path, f"parentRef {parent.label(entry.namespace)}", parent.namespace,
                             "Gateway")
            return
        known = [name for namespace, name in index.api_gateways if namespace == parent.namespace]
        guess = did_you_mean(parent.name, known)
        yield context.finding(
            "MSH232", entry, path + ("name",),
            f"parentRef Gateway {parent.namespace}/{parent.name} does not exist: " + (f"{guess} " if guess else "")
            + "correct the name (and `namespace` for a Gateway in another namespace)",
        )
        return
    gateway, listeners = found
    selected = gatewayapi.selected_listeners(listeners, parent)
    if not selected:
        names = ", ".join(f"{l.name} (port {l.port})" for l in listeners) or "none"
        field = "sectionName" if parent.section_name is not None else "port"
        yield context.finding(
            "MSH233", entry, path + (field,),
            f"{gateway.label} has no listener "
            + (f"named {parent.section_name!r}" if parent.section_name is not None else "")
            + (" " if parent.section_name is not None and parent.port is not None else "")
            + (f"on port {parent.port}" if parent.port is not None else "")
            + f" (listeners: {names}): name one of its listeners",
        )
        return
    admitting = yield from _admitting(context, entry, path, gateway, selected)
    if admitting:
        yield from _check_hostnames(context, entry, gateway, admitting)


def _admitting(context: Context, entry: Entry, path: Path, gateway: Entry,
               selected: list[gatewayapi.Listener]) -> Iterator[Finding]:
    """MSH235 when no selected listener admits the route; returns the listeners that do (or may)."""
    labels = context.index.namespace_labels.get(entry.namespace)
    if labels is None and context.index.live_given:
        labels = frozenset()  # a cluster was read: the namespace has no labels (or does not exist)
    admitting, reasons = [], []
    for listener in selected:
        by_kind = listener.admits_kind(entry.key.group, entry.key.kind)
        by_namespace = listener.admits_namespace(gateway_namespace=gateway.namespace, route_namespace=entry.namespace,
                                                 labels=labels)
        if by_kind is False:
            reasons.append(f"{listener.name} takes {_kinds_text(listener)}")
        elif by_namespace is False:
            reasons.append(f"{listener.name} admits routes from {_from_text(listener, gateway)}")
        else:
            admitting.append(listener)  # admits it, or may (labels or a protocol we cannot judge)
    if not admitting:
        yield context.finding(
            "MSH235", entry, path,
            f"no listener of {gateway.label} admits {entry.key.kind} {entry.namespace}/{entry.name}: "
            f"{'; '.join(reasons)}; set the listener's allowedRoutes, or attach to another listener",
        )
    return admitting


def _kinds_text(listener: gatewayapi.Listener) -> str:
    if listener.kinds is not None:
        return ", ".join(sorted(kind for _, kind in listener.kinds)) + " only"
    return ", ".join(sorted(gatewayapi.ROUTE_KINDS_BY_PROTOCOL.get(listener.protocol, ()))) + f" ({listener.protocol})"


def _from_text(listener: gatewayapi.Listener, gateway: Entry) -> str:
    if listener.allowed_from == gatewayapi.FROM_SAME:
        return f"its own namespace {gateway.namespace!r} only"
    labels = ", ".join(f"{k}={v}" for k, v in sorted(listener.selector or ()))
    return f"namespaces labelled {labels} only"


def _check_hostnames(context: Context, entry: Entry, gateway: Entry,
                     listeners: list[gatewayapi.Listener]) -> Iterator[Finding]:
    """MSH237 when none of the route's hostnames meets a listener; MSH238 for each one that meets none."""
    route_hosts = gatewayapi.route_hostnames(entry.spec)
    if not route_hosts:
        return
    accepted = [(i, h) for i, h in route_hosts if any(gatewayapi.hostnames_meet(l.hostname, h) for l in listeners)]
    served = ", ".join(sorted({l.hostname or "*" for l in listeners}))
    if not accepted:
        yield context.finding(
            "MSH237", entry, ("spec", "hostnames"),
            f"{gateway.label} accepts {served} on the listeners this route attaches to, none of "
            f"{quoted(h for _, h in route_hosts)}: the route is not accepted; fix the hostnames or the listener",
        )
        return
    for host_index, host in route_hosts:
        if (host_index, host) not in accepted:
            yield context.finding(
                "MSH238", entry, ("spec", "hostnames", host_index),
                f"hostname {host!r} meets no listener of {gateway.label} (accepts {served}): requests for it are "
                "not routed there; add a listener for it or remove it here",
            )


def check_weights(context: Context) -> Iterator[Finding]:
    """MSH236: a rule whose backends all have weight 0 answers every request with 500."""
    for entry in _routes(context):
        for rule_index, rule in enumerate(sequence(entry.spec.get("rules"))):
            backends = gatewayapi.rule_backends(mapping(rule), entry.namespace)
            weights = [ref.weight for _, ref in backends]
            if backends and all(weight == 0 for weight in weights):
                yield context.finding(
                    "MSH236", entry, ("spec", "rules", rule_index, "backendRefs"),
                    f"all {len(backends)} backendRefs have weight 0, so the rule answers every request with 500: "
                    "give at least one backend a positive weight (weights are relative; 1 is the default)",
                )


def check_listeners(context: Context) -> Iterator[Finding]:
    """MSH239/MSH234 on Gateways: HTTPS listeners have a certificate, certificates in other namespaces
    are granted; MSH240: the class exists."""
    index = context.index
    for entry in index.of_kind(GATEWAY_API, "Gateway"):
        _, listeners = index.api_gateways[(entry.namespace, entry.name)]
        for listener in listeners:
            path: Path = ("spec", "listeners", listener.index)
            if listener.protocol == "HTTPS" and not listener.has_tls:
                yield context.finding(
                    "MSH239", entry, path,
                    f"listener {listener.name!r} is HTTPS but has no `tls`: it cannot terminate TLS and is not "
                    "programmed; add tls.certificateRefs naming the Secret with its certificate",
                )
            for ref_index, ref in listener.certificates:
                if ref.namespace != entry.namespace and not index.grants(source=entry, target=ref):
                    yield context.finding(
                        "MSH234", entry, path + ("tls", "certificateRefs", ref_index),
                        f"certificate Secret {ref.namespace}/{ref.name} is in another namespace and no ReferenceGrant "
                        f"there allows Gateways from {entry.namespace!r} to use it: add one in {ref.namespace!r}",
                    )
        yield from _check_class(context, entry)


def _check_class(context: Context, entry: Entry) -> Iterator[Finding]:
    class_name = entry.spec.get("gatewayClassName")
    index = context.index
    if not isinstance(class_name, str) or class_name in gatewayapi.ISTIO_GATEWAY_CLASSES or class_name in index.gateway_classes:
        return
    path: Path = ("spec", "gatewayClassName")
    if not index.live_given:
        yield context.finding(
            "MSH204", entry, path,
            f"GatewayClass {class_name!r} not checked: it is not Istio's ({', '.join(sorted(gatewayapi.ISTIO_GATEWAY_CLASSES))}) "
            f"and not among the objects validated; {NO_CLUSTER_HINT}",
        )
        return
    guess = did_you_mean(class_name, sorted(index.gateway_classes | gatewayapi.ISTIO_GATEWAY_CLASSES))
    yield context.finding(
        "MSH240", entry, path,
        f"GatewayClass {class_name!r} does not exist in the cluster, so no controller programs this Gateway: "
        + (f"{guess} " if guess else "") + "use Istio's `istio` class or install the class's controller",
    )


def check_mixed_routing(context: Context) -> Iterator[Finding]:
    """MSH241: a Service that a mesh HTTPRoute and a (mesh) VirtualService both route."""
    index = context.index
    for entry in _routes(context):
        for path, parent in gatewayapi.parent_refs(entry.spec, entry.namespace):
            if not parent.is_service:
                continue
            host = hosts.service_fqdn(parent.name, parent.namespace)
            claims = index.virtual_services_by_gateway_host.get((hosts.MESH_GATEWAY, host))
            if claims:
                yield context.finding(
                    "MSH241", entry, path,
                    f"{quoted(sorted({e.label for e, _ in claims}))} also route{'s' if len(claims) == 1 else ''} "
                    f"{host} in the mesh; Istio does not merge a VirtualService with an HTTPRoute for one Service, "
                    "so one of them is ignored: route the Service with one of the two",
                )


CHECKS = (check_backends, check_parents, check_weights, check_listeners, check_mixed_routing)
