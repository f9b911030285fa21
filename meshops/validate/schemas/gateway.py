"""Gateway (networking.istio.io): ports, protocols, hosts and TLS of a load balancer at the edge
of the mesh (istio.io .../gateway/)."""
from __future__ import annotations

from .common import SERVER_TLS_SETTINGS
from .dsl import KindSchema, array, map_of, obj, string, strings, uint32

SERVER_PORT = obj(
    {
        "number": uint32(checks=("webhook_port",)),
        "protocol": string(doc="HTTP, HTTPS, GRPC, GRPC-WEB, HTTP2, MONGO, TCP or TLS."),
        "name": string(),
        "targetPort": uint32(),
    },
    required=["number", "protocol", "name"],
)

SERVER = obj(
    {
        "port": SERVER_PORT,
        "bind": string(),
        "hosts": strings(),
        "tls": SERVER_TLS_SETTINGS,
        "defaultEndpoint": string(),
        "name": string(),
    },
    required=["port", "hosts"],
)

GATEWAY = KindSchema(
    group="networking.istio.io",
    kind="Gateway",
    plural="gateways",
    short_names=("gw",),
    versions=("v1", "v1beta1", "v1alpha3"),
    doc="A load balancer at the edge of the mesh: which gateway pods (selector) listen on which ports for which hosts.",
    spec=obj({"servers": array(SERVER), "selector": map_of(string())}),
)
