"""Istio hostname semantics, as pure functions the cross-resource checks share.

Istio reads a host the way the object that names it sits in the mesh:
- a short name (no dot) resolves in the namespace of the referring object: `reviews` written in a
  VirtualService in `bookinfo` is `reviews.bookinfo.svc.cluster.local`; a name with a dot is taken
  literally (`reviews.bookinfo` is *not* expanded, which surprises people);
- `*` and `*.example.com` are wildcards (`*.example.com` does not cover `example.com`);
- Gateway server hosts may carry a namespace part, `<ns>/<host>`, `./<host>` or `*/<host>`, that
  says which namespaces' VirtualServices may bind to them;
- `exportTo` (`.` = own namespace, `*` = everyone, `~` = no one, or namespace names) limits where
  a Service, ServiceEntry, VirtualService or DestinationRule is visible.
"""
from __future__ import annotations

from typing import Iterable, Iterator

from ..model.selectors import ROOT_NAMESPACE

__all__ = ["ROOT_NAMESPACE"]

# Kubernetes' default cluster domain; Istio's `domainSuffix` defaults to the same.
CLUSTER_DOMAIN = "svc.cluster.local"
# The reserved gateway name meaning "the sidecars of the mesh".
MESH_GATEWAY = "mesh"
# Namespace Kubernetes puts objects in when their manifest names none.
DEFAULT_NAMESPACE = "default"

EVERYONE = "*"
OWN_NAMESPACE = "."
NO_ONE = "~"


def fqdn(host: str, namespace: str) -> str:
    """The name Istio matches for `host` written in an object of `namespace` (lower case)."""
    host = host.strip().lower()
    if not host or host == "*" or "." in host:
        return host
    return f"{host}.{namespace}.{CLUSTER_DOMAIN}"


def service_fqdn(name: str, namespace: str) -> str:
    """The host of a Kubernetes Service."""
    return f"{name}.{namespace}.{CLUSTER_DOMAIN}".lower()


def service_namespace(host: str) -> str | None:
    """`reviews.bookinfo.svc.cluster.local` (or `*.bookinfo.svc.cluster.local`) -> `bookinfo`."""
    suffix = "." + CLUSTER_DOMAIN
    if not host.endswith(suffix):
        return None
    parts = host[: -len(suffix)].split(".")
    return parts[1] if len(parts) == 2 and parts[1] != "*" else None


def is_wildcard(host: str) -> bool:
    return host.startswith("*")


def wildcard_keys(host: str) -> Iterator[str]:
    """Every wildcard pattern that covers `host`: `a.b.c` -> `*.b.c`, `*.c`, `*` (O(labels))."""
    if host == "*":
        yield host
        return
    labels = host.split(".")
    start = 1
    if labels[0] == "*":
        yield host
        start = 2
    for index in range(start, len(labels)):
        yield "*." + ".".join(labels[index:])
    yield "*"


def split_gateway_host(host: str) -> tuple[str, str]:
    """A Gateway server host `ns/name` -> (`ns`, `name`); a bare host means any namespace (`*`)."""
    if "/" in host:
        namespace, _, name = host.partition("/")
        return namespace or EVERYONE, name.lower()
    return EVERYONE, host.lower()


def gateway_host_admits(namespace_part: str, *, gateway_namespace: str, vs_namespace: str) -> bool:
    """Whether a server host's namespace part lets a VirtualService of `vs_namespace` bind."""
    if namespace_part == EVERYONE:
        return True
    if namespace_part == OWN_NAMESPACE:
        return gateway_namespace == vs_namespace
    return namespace_part == vs_namespace


def gateway_ref(ref: str, namespace: str) -> tuple[str, str] | None:
    """A VirtualService gateway reference -> (namespace, name); None for the reserved `mesh`."""
    ref = ref.strip()
    if ref == MESH_GATEWAY:
        return None
    if "/" in ref:
        ref_namespace, _, name = ref.partition("/")
        return ref_namespace or namespace, name
    return namespace, ref


def export_set(values: Iterable[str] | None, owner_namespace: str) -> frozenset[str] | None:
    """`exportTo` as the namespaces it reaches; None means everyone (also the default)."""
    if values is None:
        return None
    names: set[str] = set()
    for value in values:
        value = str(value).strip()
        if value == EVERYONE:
            return None
        if value == OWN_NAMESPACE:
            names.add(owner_namespace)
        elif value and value != NO_ONE:
            names.add(value)
    return frozenset(names)


def visible(exported_to: frozenset[str] | None, namespace: str) -> bool:
    return exported_to is None or namespace in exported_to


def overlapping(a: frozenset[str] | None, b: frozenset[str] | None) -> bool:
    """Whether two export scopes share a namespace (both visible somewhere at once)."""
    if a is None:
        return b is None or bool(b)
    if b is None:
        return bool(a)
    return bool(a & b)
