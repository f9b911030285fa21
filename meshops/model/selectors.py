"""Which field of each kind selects workloads (pods, VMs), as one table, and label matching.

Validation asks "does this selector match any workload?" and the cluster read asks "whose pods must
I list to answer that?"; both read this table. In Istio's root namespace a policy's selector applies
mesh-wide, elsewhere only in the policy's own namespace; a Gateway's selector picks gateway pods in
any namespace.
"""
from __future__ import annotations

from typing import Any

from .readscope import Labels

NETWORKING = "networking.istio.io"
SECURITY = "security.istio.io"
TELEMETRY = "telemetry.istio.io"
EXTENSIONS = "extensions.istio.io"
# The namespace whose Istio config applies mesh-wide (Istio's default root namespace).
ROOT_NAMESPACE = "istio-system"

# (group, kind) -> path of the label map that selects the workloads the object applies to.
WORKLOAD_SELECTORS: dict[tuple[str, str], tuple[str, ...]] = {
    (SECURITY, "AuthorizationPolicy"): ("spec", "selector", "matchLabels"),
    (SECURITY, "RequestAuthentication"): ("spec", "selector", "matchLabels"),
    (SECURITY, "PeerAuthentication"): ("spec", "selector", "matchLabels"),
    (TELEMETRY, "Telemetry"): ("spec", "selector", "matchLabels"),
    (NETWORKING, "Sidecar"): ("spec", "workloadSelector", "labels"),
    (NETWORKING, "EnvoyFilter"): ("spec", "workloadSelector", "labels"),
    (NETWORKING, "ProxyConfig"): ("spec", "selector", "matchLabels"),
    (NETWORKING, "ServiceEntry"): ("spec", "workloadSelector", "labels"),
    (NETWORKING, "DestinationRule"): ("spec", "workloadSelector", "matchLabels"),
    (EXTENSIONS, "WasmPlugin"): ("spec", "selector", "matchLabels"),
    (EXTENSIONS, "TrafficExtension"): ("spec", "selector", "matchLabels"),
}
# A Gateway selects the gateway pods (anywhere in the cluster) that serve it.
GATEWAY = (NETWORKING, "Gateway")
GATEWAY_SELECTOR = ("spec", "selector")


def label_set(labels: Any) -> Labels:
    """A label map as a frozen set of (key, value) pairs (anything else: empty)."""
    return frozenset((str(k), str(v)) for k, v in labels.items()) if isinstance(labels, dict) else frozenset()


def at(obj: dict, path: tuple[str, ...]) -> Any:
    """The value at `path` in a JSON-like object, or None."""
    node: Any = obj
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def workload_selector(group: str, kind: str, obj: dict) -> tuple[tuple[str, ...], Labels] | None:
    """(path, labels) of the workload selector of an object of this kind, or None when the kind has
    none or the object leaves it empty (then it applies to its whole namespace)."""
    path = GATEWAY_SELECTOR if (group, kind) == GATEWAY else WORKLOAD_SELECTORS.get((group, kind))
    if path is None:
        return None
    labels = label_set(at(obj, path))
    return (path, labels) if labels else None


def mesh_wide(group: str, kind: str, namespace: str) -> bool:
    """Whether the object's selector picks workloads in every namespace (gateways, root-namespace policies)."""
    return (group, kind) == GATEWAY or namespace == ROOT_NAMESPACE
