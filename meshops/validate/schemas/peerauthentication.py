"""PeerAuthentication (security.istio.io): whether workloads accept plain text, mutual TLS or both
(istio.io .../security/peer_authentication/)."""
from __future__ import annotations

from .common import WORKLOAD_SELECTOR
from .dsl import KindSchema, enum, map_of, obj

MUTUAL_TLS = obj(
    {"mode": enum("UNSET", "DISABLE", "PERMISSIVE", "STRICT", doc="UNSET inherits from the parent scope.")}
)

PEER_AUTHENTICATION = KindSchema(
    group="security.istio.io",
    kind="PeerAuthentication",
    plural="peerauthentications",
    short_names=("pa",),
    versions=("v1", "v1beta1"),
    doc="Mutual TLS mode of the selected workloads (mesh-wide in the root namespace, or per namespace/workload/port).",
    spec=obj(
        {
            "selector": WORKLOAD_SELECTOR,
            "mtls": MUTUAL_TLS,
            "portLevelMtls": map_of(MUTUAL_TLS, min_properties=1, checks=("port_keys",)),
        },
        checks=("port_level_mtls_selector",),
    ),
)
