"""Kubernetes Gateway API semantics, as pure functions the index and the Gateway API checks share.

How the Gateway API reads references and hostnames (gateway-api.sigs.k8s.io/reference/spec/):
- a parentRef is a Gateway of this API group unless `group`/`kind` say otherwise (in the mesh, a
  Service: `group: ""`, `kind: Service`); a backendRef is a Service unless they say otherwise; both
  live in the route's namespace unless `namespace` says otherwise;
- a route attaches to the listeners its parentRef selects (all, or one by `sectionName` or `port`)
  that admit it: its namespace (`allowedRoutes.namespaces.from`: Same by default, All, or Selector
  on namespace labels) and its kind (`allowedRoutes.kinds`, else what the protocol carries);
- a listener hostname and a route hostname meet when they are equal or a wildcard of one covers
  the other (`*.example.com` covers `a.example.com` and `a.b.example.com`, not `example.com`); a
  listener without hostname accepts every route hostname;
- a reference to another namespace needs a ReferenceGrant there, except a route's parentRef (the
  listener's `allowedRoutes` decides) and a mesh route's Service parent (a consumer route).
Objects are read defensively: schema checks report wrong types, these functions skip them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from ..model.kinds import GATEWAY_API_GROUP
from ..yamlio.documents import Path
from .schemas.gatewayapi_rules import DEFAULT_BACKEND_KIND, DEFAULT_PARENT_KIND, DEFAULT_TLS_MODE

CORE_GROUP = ""
SERVICE_KIND = DEFAULT_BACKEND_KIND
SECRET_KIND = "Secret"
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")
DEFAULT_WEIGHT = 1
# allowedRoutes.namespaces.from values.
FROM_SAME, FROM_ALL, FROM_SELECTOR = "Same", "All", "Selector"
# Route kinds a listener of each protocol carries when `allowedRoutes.kinds` is not set.
ROUTE_KINDS_BY_PROTOCOL: dict[str, frozenset[str]] = {
    "HTTP": frozenset({"HTTPRoute", "GRPCRoute"}),
    "HTTPS": frozenset({"HTTPRoute", "GRPCRoute"}),
    "TLS": frozenset({"TLSRoute", "TCPRoute"}),
    "TCP": frozenset({"TCPRoute"}),
    "UDP": frozenset({"UDPRoute"}),
}
# GatewayClasses istiod creates by itself (they exist wherever Istio runs with the Gateway API).
ISTIO_GATEWAY_CLASSES = frozenset({"istio", "istio-remote", "istio-waypoint", "istio-east-west"})


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Reference:
    """A parentRef or backendRef (or certificateRef) with defaults filled in."""

    group: str
    kind: str
    name: str
    namespace: str
    port: int | None = None
    section_name: str | None = None
    weight: int | None = None

    def label(self, owner_namespace: str) -> str:
        where = f"{self.namespace}/" if self.namespace != owner_namespace else ""
        kind = self.kind if self.group in (CORE_GROUP, GATEWAY_API_GROUP) else f"{self.kind}.{self.group}"
        return f"{kind} {where}{self.name}"

    @property
    def is_gateway(self) -> bool:
        return (self.group, self.kind) == (GATEWAY_API_GROUP, DEFAULT_PARENT_KIND)

    @property
    def is_service(self) -> bool:
        return (self.group, self.kind) == (CORE_GROUP, SERVICE_KIND)


def reference(ref: dict, namespace: str, *, group: str, kind: str) -> Reference | None:
    """`ref` with the defaults of its role (`group`, `kind`, the owner's `namespace`), or None without a name."""
    name = _text(ref.get("name"))
    if name is None:
        return None
    weight = ref.get("weight", DEFAULT_WEIGHT)
    return Reference(
        group=str(ref.get("group", group)), kind=str(ref.get("kind", kind)), name=name,
        namespace=_text(ref.get("namespace")) or namespace,
        port=ref.get("port") if isinstance(ref.get("port"), int) else None,
        section_name=_text(ref.get("sectionName")),
        weight=weight if isinstance(weight, int) and not isinstance(weight, bool) else None,
    )


@dataclass(frozen=True)
class Listener:
    """One listener of a Gateway, with the defaults the API server fills in."""

    index: int
    name: str
    port: int | None
    protocol: str
    hostname: str | None  # None: any host
    allowed_from: str
    selector: frozenset[tuple[str, str]] | None  # matchLabels of a Selector (None: not a label selector)
    kinds: frozenset[tuple[str, str]] | None  # (group, kind) from allowedRoutes.kinds; None: by protocol
    has_tls: bool
    tls_mode: str
    certificates: tuple[tuple[int, Reference], ...]  # (index in tls.certificateRefs, the Secret)

    def admits_kind(self, group: str, kind: str) -> bool | None:
        """Whether routes of this kind may attach (None: a protocol we do not know, e.g. Istio's HBONE)."""
        if self.kinds is not None:
            return (group, kind) in self.kinds
        carried = ROUTE_KINDS_BY_PROTOCOL.get(self.protocol)
        return None if carried is None else kind in carried

    def admits_namespace(self, *, gateway_namespace: str, route_namespace: str,
                         labels: frozenset[tuple[str, str]] | None) -> bool | None:
        """Whether routes of `route_namespace` may attach (None: it depends on labels we do not know)."""
        if self.allowed_from == FROM_ALL:
            return True
        if self.allowed_from == FROM_SAME:
            return route_namespace == gateway_namespace
        if self.allowed_from == FROM_SELECTOR and self.selector is not None:
            return None if labels is None else self.selector <= labels
        return None  # matchExpressions: not evaluated here


def listeners_of(spec: dict, namespace: str) -> list[Listener]:
    """A Gateway's listeners (`namespace`: the Gateway's, where its certificate Secrets are by default)."""
    found = []
    for index, listener in enumerate(_items(spec.get("listeners"))):
        allowed = _mapping(listener.get("allowedRoutes"))
        namespaces = _mapping(allowed.get("namespaces"))
        selector = _mapping(namespaces.get("selector"))
        kinds = allowed.get("kinds")
        tls = listener.get("tls")
        found.append(Listener(
            index=index,
            name=str(listener.get("name") or ""),
            port=listener.get("port") if isinstance(listener.get("port"), int) else None,
            protocol=str(listener.get("protocol") or ""),
            hostname=_text(listener.get("hostname")),
            allowed_from=str(namespaces.get("from") or FROM_SAME),
            selector=(frozenset((str(k), str(v)) for k, v in _mapping(selector.get("matchLabels")).items())
                      if selector and not selector.get("matchExpressions") else None),
            kinds=(frozenset((str(k.get("group", GATEWAY_API_GROUP)), str(k.get("kind"))) for k in _items(kinds))
                   if isinstance(kinds, list) and kinds else None),
            has_tls=isinstance(tls, dict),
            tls_mode=str(_mapping(tls).get("mode") or DEFAULT_TLS_MODE),
            certificates=tuple(
                (ref_index, secret) for ref_index, ref in enumerate(_items(_mapping(tls).get("certificateRefs")))
                if (secret := reference(ref, namespace, group=CORE_GROUP, kind=SECRET_KIND)) is not None
            ),
        ))
    return found


def parent_refs(spec: dict, namespace: str) -> Iterator[tuple[Path, Reference]]:
    for index, ref in enumerate(_items(spec.get("parentRefs"))):
        parent = reference(ref, namespace, group=GATEWAY_API_GROUP, kind=DEFAULT_PARENT_KIND)
        if parent is not None:
            yield ("spec", "parentRefs", index), parent


def rule_backends(rule: dict, namespace: str) -> list[tuple[int, Reference]]:
    """A rule's backendRefs (index, reference), in order."""
    return [(index, backend) for index, ref in enumerate(_items(rule.get("backendRefs")))
            if (backend := reference(ref, namespace, group=CORE_GROUP, kind=SERVICE_KIND)) is not None]


def _mirrors(filters: Any, path: Path, namespace: str) -> Iterator[tuple[Path, Reference]]:
    for index, route_filter in enumerate(_items(filters)):
        mirror = _mapping(_mapping(route_filter.get("requestMirror")).get("backendRef"))
        backend = reference(mirror, namespace, group=CORE_GROUP, kind=SERVICE_KIND) if mirror else None
        if backend is not None:
            yield path + ("filters", index, "requestMirror", "backendRef"), backend


def backend_refs(spec: dict, namespace: str) -> Iterator[tuple[Path, Reference]]:
    """Every backend a route sends requests to: its rules' backendRefs and request mirrors, with paths."""
    for rule_index, rule in enumerate(_items(spec.get("rules"))):
        rule_path: Path = ("spec", "rules", rule_index)
        yield from _mirrors(rule.get("filters"), rule_path, namespace)
        for ref_index, backend in rule_backends(rule, namespace):
            ref_path = rule_path + ("backendRefs", ref_index)
            yield ref_path, backend
            yield from _mirrors(_items(rule.get("backendRefs"))[ref_index].get("filters"), ref_path, namespace)


def hostnames_meet(listener_hostname: str | None, route_hostname: str) -> bool:
    """Whether a listener with this hostname accepts requests for `route_hostname` (see module docstring)."""
    if listener_hostname is None:
        return True
    listener, route = listener_hostname.lower(), route_hostname.lower()
    if listener == route:
        return True
    if listener.startswith("*.") and route.endswith(listener[1:]) and len(route) > len(listener) - 1:
        return True
    return route.startswith("*.") and listener.endswith(route[1:]) and len(listener) > len(route) - 1


def route_hostnames(spec: dict) -> list[tuple[int, str]]:
    hostnames = spec.get("hostnames")
    return [(i, h) for i, h in enumerate(hostnames) if _text(h)] if isinstance(hostnames, list) else []


def selected_listeners(listeners: list[Listener], parent: Reference) -> list[Listener]:
    """The listeners a parentRef selects: all, or those of its sectionName and/or port."""
    return [listener for listener in listeners
            if (parent.section_name is None or listener.name == parent.section_name)
            and (parent.port is None or listener.port == parent.port)]


def grant_keys(spec: dict, namespace: str) -> Iterator[tuple[tuple[str, str, str, str, str, str], str]]:
    """A ReferenceGrant as (to-namespace, from group, from kind, from namespace, to group, to kind) -> the
    name it allows ('' = every object of that kind)."""
    for source in _items(spec.get("from")):
        for target in _items(spec.get("to")):
            key = (namespace, str(source.get("group", "")), str(source.get("kind", "")),
                   str(source.get("namespace", "")), str(target.get("group", "")), str(target.get("kind", "")))
            yield key, str(target.get("name") or "")
