"""GRPCRoute (gateway.networking.k8s.io): gRPC routing by service and method
(gateway-api.sigs.k8s.io/reference/spec/#grpcroute); backends and filters as in HTTPRoute, minus
redirects and rewrites. Served at v1 only.
"""
from __future__ import annotations

from .dsl import KindSchema, array, enum, obj, string
from .gatewayapi_common import (
    CATEGORIES, CHANNEL_ANNOTATIONS, FILTER_FIELDS, HEADER_MATCH, PARENT_REFERENCES, ROUTE_HOSTNAMES, filter_schema,
    section_name, weighted_backend,
)

# Upstream lists the gRPC filter types in this order.
GRPC_FILTER_TYPES = ("ResponseHeaderModifier", "RequestHeaderModifier", "RequestMirror", "ExtensionRef")
_RULE_ORDER = ("requestHeaderModifier", "responseHeaderModifier", "requestMirror", "extensionRef")
_FIELD_RULES = tuple(name for field in _RULE_ORDER for name in (f"filter_{field}_only_for_type", f"filter_{field}_for_type"))
GRPC_FILTERS = array(
    filter_schema(GRPC_FILTER_TYPES, {t: FILTER_FIELDS[t] for t in GRPC_FILTER_TYPES}, checks=_FIELD_RULES),
    max_items=16, list_type="atomic",
    checks=("filter_RequestHeaderModifier_once", "filter_ResponseHeaderModifier_once"),
)

GRPC_METHOD_MATCH = obj(
    {
        "method": string(max_length=1024),
        "service": string(max_length=1024),
        "type": enum("Exact", "RegularExpression", default="Exact"),
    },
    checks=("grpc_method_named", "grpc_service_characters", "grpc_method_characters"),
)

GRPC_ROUTE = KindSchema(
    group="gateway.networking.k8s.io",
    kind="GRPCRoute",
    plural="grpcroutes",
    short_names=(),
    versions=("v1",),
    doc="gRPC routing rules (by service and method) for the hostnames of its parents.",
    spec=obj(
        {
            "hostnames": ROUTE_HOSTNAMES,
            "parentRefs": PARENT_REFERENCES,
            "rules": array(
                obj(
                    {
                        "backendRefs": array(weighted_backend(GRPC_FILTERS), max_items=16, list_type="atomic"),
                        "filters": GRPC_FILTERS,
                        "matches": array(obj({"headers": HEADER_MATCH, "method": GRPC_METHOD_MATCH}), max_items=64,
                                         list_type="atomic"),
                        "name": section_name(),
                    }
                ),
                max_items=16, list_type="atomic", checks=("grpc_match_count",),
            ),
        }
    ),
    spec_required=True,
    categories=CATEGORIES,
    annotations=CHANNEL_ANNOTATIONS,
)
