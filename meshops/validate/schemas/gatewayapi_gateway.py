"""Gateway (gateway.networking.k8s.io): listeners (port, protocol, hostname, TLS) a class of load
balancer opens, and which routes may attach to them (gateway-api.sigs.k8s.io/reference/spec/#gateway).

Not to be confused with Istio's own Gateway (networking.istio.io, `gateway.py`): with Istio's
`istio` GatewayClass, istiod deploys and programs a gateway for each of these by itself.
"""
from __future__ import annotations

from .dsl import KindSchema, array, enum, map_of, obj, string
from .gatewayapi_common import (
    CATEGORIES, CHANNEL_ANNOTATIONS, LABEL_SELECTOR, SECRET_REFERENCE, VERSIONS, group, hostname, kind, port_number,
    typed_reference,
)

# `type: IPAddress` (the default) values must be IP addresses; other types are not checked here.
_IP_ADDRESS_VALUE = [
    {"properties": {"type": {"enum": ["IPAddress"]}, "value": {"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}}},
    {"properties": {"type": {"not": {"enum": ["IPAddress"]}}}},
]
_ADDRESS_TYPE_PATTERN = (r"^Hostname|IPAddress|NamedAddress|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
                         r"\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$")
_PROTOCOL_PATTERN = (r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*"
                     r"[a-z0-9])?)*\/[A-Za-z0-9]+$")
_LISTENER_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_LABEL_VALUE_PATTERN = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"

ADDRESS = obj({"type": string(min_length=1, max_length=253, pattern=_ADDRESS_TYPE_PATTERN, default="IPAddress"),
               "value": string(max_length=253)},
              checks=("hostname_address",))
ADDRESS.update(oneOf=_IP_ADDRESS_VALUE)

ALLOWED_ROUTES = obj(
    {
        "kinds": array(obj({"group": group(default="gateway.networking.k8s.io"), "kind": kind()}, required=["kind"]),
                       max_items=8, list_type="atomic"),
        "namespaces": obj({"from": enum("All", "Selector", "Same", default="Same"), "selector": LABEL_SELECTOR},
                          default={"from": "Same"}),
    },
    default={"namespaces": {"from": "Same"}},
    doc="Which routes may attach: from which namespaces (Same by default) and of which kinds.",
)

LISTENER_TLS = obj(
    {
        "certificateRefs": array(SECRET_REFERENCE, max_items=64, list_type="atomic"),
        "mode": enum("Terminate", "Passthrough", default="Terminate"),
        "options": map_of(string(min_length=0, max_length=4096), max_properties=16),
    },
    checks=("terminate_has_certificates",),
)

LISTENER = obj(
    {
        "allowedRoutes": ALLOWED_ROUTES,
        "hostname": hostname(),
        "name": string(min_length=1, max_length=253, pattern=_LISTENER_NAME_PATTERN),
        "port": port_number(),
        "protocol": string(min_length=1, max_length=255, pattern=_PROTOCOL_PATTERN),
        "tls": LISTENER_TLS,
    },
    required=["name", "port", "protocol"],
    doc="One port, protocol and (optional) hostname the Gateway accepts traffic on.",
)

_CA_VALIDATION = obj(
    {
        "caCertificateRefs": array(typed_reference(with_namespace=True), max_items=16, min_items=1,
                                   list_type="atomic"),
        "mode": enum("AllowValidOnly", "AllowInsecureFallback", default="AllowValidOnly"),
    },
    required=["caCertificateRefs"],
)

GATEWAY_TLS = obj(
    {
        "backend": obj({"clientCertificateRef": SECRET_REFERENCE}),
        "frontend": obj(
            {
                "default": obj({"validation": _CA_VALIDATION}),
                "perPort": array(obj({"port": port_number(), "tls": obj({"validation": _CA_VALIDATION})},
                                     required=["port", "tls"]),
                                 max_items=64, list_type="map", map_keys=["port"], checks=("unique_tls_ports",)),
            },
            required=["default"],
        ),
    }
)

INFRASTRUCTURE = obj(
    {
        "annotations": map_of(string(min_length=0, max_length=4096), max_properties=16,
                              checks=("annotation_keys", "annotation_key_prefix")),
        "labels": map_of(string(min_length=0, max_length=63, pattern=_LABEL_VALUE_PATTERN), max_properties=8,
                         checks=("label_keys", "label_key_prefix")),
        "parametersRef": obj({"group": group(), "kind": kind(), "name": string(min_length=1, max_length=253)},
                             required=["group", "kind", "name"]),
    },
    doc="Labels, annotations and parameters for what the controller deploys for this Gateway.",
)

K8S_GATEWAY = KindSchema(
    group="gateway.networking.k8s.io",
    kind="Gateway",
    plural="gateways",
    short_names=("gtw",),
    versions=VERSIONS,
    doc="A load balancer of a GatewayClass: its listeners, addresses and TLS settings.",
    spec=obj(
        {
            "addresses": array(ADDRESS, max_items=16, list_type="atomic",
                               checks=("unique_ip_addresses", "unique_hostname_addresses")),
            "allowedListeners": obj({
                "namespaces": obj({"from": enum("All", "Selector", "Same", "None", default="None"),
                                   "selector": LABEL_SELECTOR},
                                  default={"from": "None"}),
            }),
            "gatewayClassName": string(min_length=1, max_length=253),
            "infrastructure": INFRASTRUCTURE,
            "listeners": array(LISTENER, max_items=64, min_items=1, list_type="map", map_keys=["name"],
                               checks=("no_tls_for_plain_protocols", "https_terminates", "tls_has_mode",
                                       "no_hostname_for_l4", "unique_listener_names", "unique_listener_endpoints")),
            "tls": GATEWAY_TLS,
        },
        required=["gatewayClassName", "listeners"],
    ),
    spec_required=True,
    categories=CATEGORIES,
    annotations=CHANNEL_ANNOTATIONS,
)
