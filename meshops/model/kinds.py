"""The kinds meshops knows, as one table: API group, versions, REST plural, scope and apply order.

Render sorts its output by `order`, diff lists live objects per (kind, namespace) using `plural`,
apply writes in ascending `order` (removals in descending order) so that what a route points at
exists before the route does ("make before break"). Adding a kind is adding a row.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One API kind: where it lives on the API server and when it is written."""

    group: str  # "" for the core group
    kind: str
    plural: str
    namespaced: bool
    versions: tuple[str, ...]  # preferred (served, storage) version first
    order: int  # apply order; removals run in reverse

    @property
    def preferred_api_version(self) -> str:
        return f"{self.group}/{self.versions[0]}" if self.group else self.versions[0]


# The Kubernetes Gateway API's group (Gateway, HTTPRoute, GRPCRoute, ReferenceGrant, GatewayClass).
GATEWAY_API_GROUP = "gateway.networking.k8s.io"

# Why this order: namespaces hold everything; secrets/config/services exist before anything refers
# to them; ServiceEntries, workloads (WorkloadEntry, WorkloadGroup) and DestinationRules (hosts,
# subsets), Gateways, Sidecars and ProxyConfigs (both configure workloads' proxies) before the
# VirtualServices that route to them; EnvoyFilters after the routes and listeners they patch exist
# (Gateway API routes included); policies, extensions (Wasm, Lua) and telemetry last, once traffic
# can flow. Gateway API: the class before its Gateways, ReferenceGrants (which let a Gateway or
# route use another namespace's Secrets and Services) before the Gateways and routes that need
# them, Gateways before the HTTPRoutes/GRPCRoutes attached to them; removals run the other way.
KINDS: tuple[Kind, ...] = (
    Kind("", "Namespace", "namespaces", False, ("v1",), 0),
    Kind("apiextensions.k8s.io", "CustomResourceDefinition", "customresourcedefinitions", False, ("v1",), 1),
    Kind("", "ServiceAccount", "serviceaccounts", True, ("v1",), 10),
    Kind("", "Secret", "secrets", True, ("v1",), 11),
    Kind("", "ConfigMap", "configmaps", True, ("v1",), 12),
    Kind("", "Service", "services", True, ("v1",), 13),
    Kind("networking.istio.io", "ServiceEntry", "serviceentries", True, ("v1", "v1beta1", "v1alpha3"), 20),
    Kind("networking.istio.io", "WorkloadEntry", "workloadentries", True, ("v1", "v1beta1", "v1alpha3"), 21),
    Kind("networking.istio.io", "WorkloadGroup", "workloadgroups", True, ("v1", "v1beta1", "v1alpha3"), 21),
    Kind("networking.istio.io", "DestinationRule", "destinationrules", True, ("v1", "v1beta1", "v1alpha3"), 22),
    Kind("networking.istio.io", "Gateway", "gateways", True, ("v1", "v1beta1", "v1alpha3"), 23),
    Kind("networking.istio.io", "Sidecar", "sidecars", True, ("v1", "v1beta1", "v1alpha3"), 24),
    Kind("networking.istio.io", "ProxyConfig", "proxyconfigs", True, ("v1beta1",), 24),
    Kind("networking.istio.io", "VirtualService", "virtualservices", True, ("v1", "v1beta1", "v1alpha3"), 30),
    Kind("networking.istio.io", "EnvoyFilter", "envoyfilters", True, ("v1alpha3",), 35),
    Kind("security.istio.io", "PeerAuthentication", "peerauthentications", True, ("v1", "v1beta1"), 40),
    Kind("security.istio.io", "RequestAuthentication", "requestauthentications", True, ("v1", "v1beta1"), 41),
    Kind("security.istio.io", "AuthorizationPolicy", "authorizationpolicies", True, ("v1", "v1beta1"), 42),
    Kind("extensions.istio.io", "WasmPlugin", "wasmplugins", True, ("v1alpha1",), 45),
    Kind("extensions.istio.io", "TrafficExtension", "trafficextensions", True, ("v1alpha1",), 45),
    Kind("telemetry.istio.io", "Telemetry", "telemetries", True, ("v1", "v1alpha1"), 50),
    Kind(GATEWAY_API_GROUP, "GatewayClass", "gatewayclasses", False, ("v1", "v1beta1"), 25),
    Kind(GATEWAY_API_GROUP, "ReferenceGrant", "referencegrants", True, ("v1", "v1beta1"), 26),
    Kind(GATEWAY_API_GROUP, "Gateway", "gateways", True, ("v1", "v1beta1"), 27),
    Kind(GATEWAY_API_GROUP, "HTTPRoute", "httproutes", True, ("v1", "v1beta1"), 31),
    Kind(GATEWAY_API_GROUP, "GRPCRoute", "grpcroutes", True, ("v1",), 32),
)

# Kinds not in the table (other CRDs a repo may render) are written after everything we know.
UNKNOWN_ORDER = 90

_BY_GROUP_KIND = {(k.group, k.kind): k for k in KINDS}


def split_api_version(api_version: str) -> tuple[str, str]:
    """`networking.istio.io/v1` -> (`networking.istio.io`, `v1`); `v1` -> (``, `v1`)."""
    group, _, version = api_version.rpartition("/")
    return group, version


def lookup(group: str, kind: str) -> Kind | None:
    """The table row for a group and kind, or None for kinds meshops does not know."""
    return _BY_GROUP_KIND.get((group, kind))




def apply_order(group: str, kind: str) -> int:
    """Where an object of this kind goes in the write sequence."""
    row = lookup(group, kind)
    return row.order if row else UNKNOWN_ORDER
