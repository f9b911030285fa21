"""Sidecar (networking.istio.io): what a workload's proxy accepts (ingress) and may reach (egress),
to limit its configuration and its outbound traffic (istio.io .../sidecar/)."""
from __future__ import annotations

from .common import CONNECTION_POOL_SETTINGS, DESTINATION, NETWORKING_LABELS, SERVER_TLS_SETTINGS
from .dsl import KindSchema, array, enum, obj, string, strings, uint32

SIDECAR_PORT = obj({"number": uint32(checks=("webhook_port",)), "protocol": string(), "name": string(), "targetPort": uint32()})

CAPTURE_MODE = enum("DEFAULT", "IPTABLES", "NONE")

INGRESS_LISTENER = obj(
    {
        "port": SIDECAR_PORT,
        "bind": string(),
        "captureMode": CAPTURE_MODE,
        "defaultEndpoint": string(),
        "tls": SERVER_TLS_SETTINGS,
        "connectionPool": CONNECTION_POOL_SETTINGS,
    },
    required=["port"],
)

EGRESS_LISTENER = obj(
    {"port": SIDECAR_PORT, "bind": string(), "captureMode": CAPTURE_MODE, "hosts": strings()},
    required=["hosts"],
)

SIDECAR = KindSchema(
    group="networking.istio.io",
    kind="Sidecar",
    plural="sidecars",
    short_names=(),
    versions=("v1", "v1beta1", "v1alpha3"),
    doc="Limits what a workload's proxy listens on and which services it can reach.",
    spec=obj(
        {
            "workloadSelector": obj({"labels": NETWORKING_LABELS}),
            "ingress": array(INGRESS_LISTENER),
            "egress": array(EGRESS_LISTENER),
            "inboundConnectionPool": CONNECTION_POOL_SETTINGS,
            "outboundTrafficPolicy": obj({"mode": enum("REGISTRY_ONLY", "ALLOW_ANY"), "egressProxy": DESTINATION}),
        }
    ),
)
