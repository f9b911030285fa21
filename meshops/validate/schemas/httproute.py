"""HTTPRoute (gateway.networking.k8s.io): HTTP routing for hosts on a Gateway's listeners or, in the
mesh, for a Service (gateway-api.sigs.k8s.io/reference/spec/#httproute).

Rules match requests (path, headers, query parameters, method), filter them (headers, redirects,
rewrites, mirrors, CORS) and split them across weighted backendRefs: the Gateway API's way of a
canary, one Service per version.
"""
from __future__ import annotations

from .dsl import KindSchema, array, boolean, enum, integer, obj, string
from .gatewayapi_common import (
    CATEGORIES, CHANNEL_ANNOTATIONS, DURATION_PATTERN, FILTER_FIELDS, HEADER_MATCH, HEADER_NAME_PATTERN,
    PARENT_REFERENCES, ROUTE_HOSTNAMES, VERSIONS, filter_schema, int32, port_number, precise_hostname,
    section_name, weighted_backend,
)

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
_ORIGIN_PATTERN = r"(^\*$)|(^(http(s)?):\/\/(((\*\.)?([a-zA-Z0-9\-]+\.)*[a-zA-Z0-9-]+|\*)(:([0-9]{1,5}))?)$)"


def _header_names(*, checks: tuple[str, ...] = ()) -> dict:
    return array(string(min_length=1, max_length=256, pattern=HEADER_NAME_PATTERN), max_items=64, list_type="set",
                 checks=checks)


PATH_MODIFIER = obj(
    {
        "replaceFullPath": string(max_length=1024),
        "replacePrefixMatch": string(max_length=1024),
        "type": enum("ReplaceFullPath", "ReplacePrefixMatch"),
    },
    required=["type"],
    checks=("path_replaceFullPath_for_type", "path_type_for_replaceFullPath",
            "path_replacePrefixMatch_for_type", "path_type_for_replacePrefixMatch"),
)

REQUEST_REDIRECT = obj(
    {
        "hostname": precise_hostname(),
        "path": PATH_MODIFIER,
        "port": port_number(),
        "scheme": enum("http", "https"),
        "statusCode": integer(enum=(301, 302, 303, 307, 308), default=302),
    },
    doc="Answer with a redirect instead of forwarding.",
)

URL_REWRITE = obj({"hostname": precise_hostname(), "path": PATH_MODIFIER}, doc="Rewrite host and path before forwarding.")

CORS = obj(
    {
        "allowCredentials": boolean(),
        "allowHeaders": _header_names(checks=("cors_headers_wildcard",)),
        "allowMethods": array(enum(*HTTP_METHODS, "*"), max_items=9, list_type="set", checks=("cors_methods_wildcard",)),
        "allowOrigins": array(string(min_length=1, max_length=253, pattern=_ORIGIN_PATTERN), max_items=64,
                              list_type="set", checks=("cors_origins_wildcard",)),
        "exposeHeaders": _header_names(),
        "maxAge": int32(minimum=1, default=5),
    },
    doc="Answer CORS preflight requests and add CORS response headers.",
)

HTTP_FILTER_FIELDS = {
    "RequestHeaderModifier": FILTER_FIELDS["RequestHeaderModifier"],
    "ResponseHeaderModifier": FILTER_FIELDS["ResponseHeaderModifier"],
    "RequestMirror": FILTER_FIELDS["RequestMirror"],
    "RequestRedirect": ("requestRedirect", REQUEST_REDIRECT),
    "URLRewrite": ("urlRewrite", URL_REWRITE),
    "ExtensionRef": FILTER_FIELDS["ExtensionRef"],
    "CORS": ("cors", CORS),
}
# "Only the field of its type" rules, in upstream's order (so the exported CRD reads like theirs).
_RULE_ORDER = ("cors", "requestHeaderModifier", "responseHeaderModifier", "requestMirror", "requestRedirect", "urlRewrite",
               "extensionRef")
_FIELD_RULES = tuple(name for field in _RULE_ORDER for name in (f"filter_{field}_only_for_type", f"filter_{field}_for_type"))
HTTP_FILTER = filter_schema(tuple(HTTP_FILTER_FIELDS), HTTP_FILTER_FIELDS, checks=_FIELD_RULES)
HTTP_FILTERS = array(
    HTTP_FILTER, max_items=16, list_type="atomic",
    checks=("redirect_or_rewrite", "filter_CORS_once", "filter_RequestHeaderModifier_once",
            "filter_ResponseHeaderModifier_once", "filter_RequestRedirect_once", "filter_URLRewrite_once"),
)

DEFAULT_PATH_MATCH = {"type": "PathPrefix", "value": "/"}

PATH_MATCH = obj(
    {
        "type": enum("Exact", "PathPrefix", "RegularExpression", default="PathPrefix"),
        "value": string(max_length=1024, default="/"),
    },
    default=DEFAULT_PATH_MATCH,
    checks=("path_absolute", "path_without_//", "path_without_/./", "path_without_/../", "path_without_%2f",
            "path_without_%2F", "path_without_#", "path_not_ending_/..", "path_not_ending_/.", "path_type",
            "path_characters"),
)

HTTP_ROUTE_MATCH = obj(
    {
        "headers": HEADER_MATCH,
        "method": enum(*HTTP_METHODS),
        "path": PATH_MATCH,
        "queryParams": array(
            obj({"name": string(min_length=1, max_length=256, pattern=HEADER_NAME_PATTERN),
                 "type": enum("Exact", "RegularExpression", default="Exact"),
                 "value": string(min_length=1, max_length=1024)},
                required=["name", "value"]),
            max_items=16, list_type="map", map_keys=["name"],
        ),
    },
    doc="Conditions a request must meet (all of them); a rule matches when any of its matches does.",
)

HTTP_ROUTE_RULE = obj(
    {
        "backendRefs": array(weighted_backend(HTTP_FILTERS), max_items=16, list_type="atomic"),
        "filters": HTTP_FILTERS,
        "matches": array(HTTP_ROUTE_MATCH, max_items=64, list_type="atomic", default=[{"path": DEFAULT_PATH_MATCH}]),
        "name": section_name(),
        "timeouts": obj({"backendRequest": string(pattern=DURATION_PATTERN), "request": string(pattern=DURATION_PATTERN)},
                        checks=("backend_timeout_within_request",)),
    },
    checks=("redirect_without_backends", "requestRedirect_prefix_needs_one_prefix_match",
            "urlRewrite_prefix_needs_one_prefix_match", "backend_requestRedirect_prefix_needs_one_prefix_match",
            "backend_urlRewrite_prefix_needs_one_prefix_match"),
)

HTTP_ROUTE = KindSchema(
    group="gateway.networking.k8s.io",
    kind="HTTPRoute",
    plural="httproutes",
    short_names=(),
    versions=VERSIONS,
    doc="HTTP routing rules for the hostnames of its parents (Gateways, or Services in the mesh).",
    spec=obj(
        {
            "hostnames": ROUTE_HOSTNAMES,
            "parentRefs": PARENT_REFERENCES,
            "rules": array(HTTP_ROUTE_RULE, max_items=16, min_items=1, list_type="atomic",
                           default=[{"matches": [{"path": DEFAULT_PATH_MATCH}]}], checks=("http_match_count",)),
        }
    ),
    spec_required=True,
    categories=CATEGORIES,
    annotations=CHANNEL_ANNOTATIONS,
)
