"""EnvoyFilter (networking.istio.io): patches to the Envoy configuration istiod generates, for what
the Istio API cannot say (istio.io .../envoy-filter/). The patch `value` is Envoy's own config,
free-form here; what is checked is where and how it applies."""
from __future__ import annotations

from .common import NETWORKING_LABELS, POLICY_TARGET_REFERENCE
from .dsl import PRESERVE, KindSchema, array, enum, int32, map_of, obj, string, uint32

_NAMED = obj({"name": string()})
_FILTER = obj({"name": string(), "subFilter": _NAMED})

LISTENER_MATCH = obj(
    {
        "portNumber": uint32(),
        "portName": string(),
        "filterChain": obj(
            {
                "name": string(),
                "sni": string(),
                "transportProtocol": string(),
                "applicationProtocols": string(),
                "filter": _FILTER,
                "destinationPort": uint32(),
                "transportSocket": string(),
            }
        ),
        "listenerFilter": string(),
        "name": string(),
    }
)

ROUTE_CONFIGURATION_MATCH = obj(
    {
        "portNumber": uint32(),
        "portName": string(),
        "gateway": string(),
        "vhost": obj(
            {
                "name": string(),
                "domainName": string(),
                "route": obj({"name": string(), "action": enum("ANY", "ROUTE", "REDIRECT", "DIRECT_RESPONSE")}),
            }
        ),
        "name": string(),
    }
)

CLUSTER_MATCH = obj({"portNumber": uint32(), "service": string(), "subset": string(), "name": string()})

WAYPOINT_MATCH = obj({"filter": _FILTER, "route": _NAMED, "portNumber": uint32(checks=("port",))})

PATCH_CONTEXT = enum("ANY", "SIDECAR_INBOUND", "SIDECAR_OUTBOUND", "GATEWAY", "WAYPOINT")

CONFIG_PATCH = obj(
    {
        "applyTo": enum("INVALID", "LISTENER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER", "ROUTE_CONFIGURATION",
                        "VIRTUAL_HOST", "HTTP_ROUTE", "CLUSTER", "EXTENSION_CONFIG", "BOOTSTRAP", "LISTENER_FILTER"),
        "match": obj(
            {
                "context": PATCH_CONTEXT,
                "proxy": obj({"proxyVersion": string(), "metadata": map_of(string())}),
                "listener": LISTENER_MATCH,
                "routeConfiguration": ROUTE_CONFIGURATION_MATCH,
                "cluster": CLUSTER_MATCH,
                "waypoint": WAYPOINT_MATCH,
            },
            oneof=[("listener", "routeConfiguration", "cluster", "waypoint")],
            checks=("waypoint_match_context",),
        ),
        "patch": obj(
            {
                "operation": enum("INVALID", "MERGE", "ADD", "REMOVE", "INSERT_BEFORE", "INSERT_AFTER", "INSERT_FIRST",
                                  "REPLACE", "MERGE_AND_REPLACE_LIST"),
                "value": dict(PRESERVE),
                "filterClass": enum("UNSPECIFIED", "AUTHN", "AUTHZ", "STATS"),
            }
        ),
    }
)

ENVOY_FILTER = KindSchema(
    group="networking.istio.io",
    kind="EnvoyFilter",
    plural="envoyfilters",
    short_names=(),
    versions=("v1alpha3",),
    doc="Patches the Envoy configuration istiod generates for the selected workloads.",
    spec=obj(
        {
            "workloadSelector": obj({"labels": NETWORKING_LABELS}),
            "targetRefs": array(POLICY_TARGET_REFERENCE, max_items=16),
            "configPatches": array(CONFIG_PATCH),
            "priority": int32(),
        },
        checks=("target_refs_or_workload_selector",),
    ),
)
