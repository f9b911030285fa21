"""VirtualService (networking.istio.io): how requests for a host are routed (istio.io .../virtual-service/)."""
from __future__ import annotations

from .common import DESTINATION, HEADERS, LABELS, PERCENT, STRING_MATCH
from .dsl import KindSchema, array, boolean, duration, enum, int32, map_of, obj, string, strings, uint32

_WEIGHT = int32(checks=("weight",))

HTTP_MATCH_REQUEST = obj(
    {
        "name": string(),
        "uri": STRING_MATCH,
        "scheme": STRING_MATCH,
        "method": STRING_MATCH,
        "authority": STRING_MATCH,
        "headers": map_of(STRING_MATCH),
        "port": uint32(),
        "sourceLabels": LABELS,
        "gateways": strings(),
        "queryParams": map_of(STRING_MATCH),
        "ignoreUriCase": boolean(),
        "withoutHeaders": map_of(STRING_MATCH),
        "sourceNamespace": string(),
        "statPrefix": string(),
    }
)

HTTP_ROUTE_DESTINATION = obj(
    {"destination": DESTINATION, "weight": _WEIGHT, "headers": HEADERS}, required=["destination"]
)

HTTP_REDIRECT = obj(
    {
        "uri": string(),
        "authority": string(),
        "port": uint32(checks=("webhook_port",)),
        "derivePort": enum("FROM_PROTOCOL_DEFAULT", "FROM_REQUEST_PORT"),
        "scheme": string(),
        "redirectCode": uint32(),
        "prefixRewrite": string(),
    },
    oneof=[("port", "derivePort")],
)

HTTP_DIRECT_RESPONSE = obj(
    {"status": uint32(), "body": obj({"string": string(), "bytes": string(format="byte")}, oneof=[("string", "bytes")])},
    required=["status"],
)

HTTP_REWRITE = obj(
    {"uri": string(), "authority": string(), "uriRegexRewrite": obj({"match": string(), "rewrite": string()})}
)

HTTP_RETRY = obj(
    {
        "attempts": int32(),
        "perTryTimeout": duration(),
        "retryOn": string(),
        "retryRemoteLocalities": boolean(nullable=True),
        "retryIgnorePreviousHosts": boolean(nullable=True),
        "backoff": duration(),
    }
)

HTTP_FAULT_INJECTION = obj(
    {
        "delay": obj(
            {"fixedDelay": duration(), "exponentialDelay": duration(), "percentage": PERCENT, "percent": int32()},
            oneof=[("fixedDelay", "exponentialDelay")],
        ),
        "abort": obj(
            {"httpStatus": int32(), "grpcStatus": string(), "http2Error": string(), "percentage": PERCENT},
            oneof=[("httpStatus", "grpcStatus", "http2Error")],
        ),
    },
    doc="Delay or abort requests on purpose, to test resilience.",
)

CORS_POLICY = obj(
    {
        "allowOrigin": strings(),
        "allowOrigins": array(STRING_MATCH),
        "allowMethods": strings(),
        "allowHeaders": strings(),
        "exposeHeaders": strings(),
        "maxAge": duration(),
        "allowCredentials": boolean(nullable=True),
        "unmatchedPreflights": enum("UNSPECIFIED", "FORWARD", "IGNORE"),
    }
)

HTTP_ROUTE = obj(
    {
        "name": string(),
        "match": array(HTTP_MATCH_REQUEST),
        "route": array(HTTP_ROUTE_DESTINATION),
        "redirect": HTTP_REDIRECT,
        "directResponse": HTTP_DIRECT_RESPONSE,
        "delegate": obj({"name": string(), "namespace": string()}),
        "rewrite": HTTP_REWRITE,
        "timeout": duration(),
        "retries": HTTP_RETRY,
        "fault": HTTP_FAULT_INJECTION,
        "mirror": DESTINATION,
        "mirrors": array(obj({"destination": DESTINATION, "percentage": PERCENT}, required=["destination"])),
        "mirrorPercent": uint32(nullable=True),
        "mirror_percent": uint32(nullable=True),
        "mirrorPercentage": PERCENT,
        "corsPolicy": CORS_POLICY,
        "headers": HEADERS,
    }
)

ROUTE_DESTINATION = obj({"destination": DESTINATION, "weight": _WEIGHT}, required=["destination"])

TLS_ROUTE = obj(
    {
        "match": array(
            obj(
                {
                    "sniHosts": strings(),
                    "destinationSubnets": strings(),
                    "port": uint32(),
                    "sourceLabels": LABELS,
                    "gateways": strings(),
                    "sourceNamespace": string(),
                },
                required=["sniHosts"],
            )
        ),
        "route": array(ROUTE_DESTINATION),
    },
    required=["match"],
)

TCP_ROUTE = obj(
    {
        "match": array(
            obj(
                {
                    "destinationSubnets": strings(),
                    "port": uint32(),
                    "sourceSubnet": string(),
                    "sourceLabels": LABELS,
                    "gateways": strings(),
                    "sourceNamespace": string(),
                }
            )
        ),
        "route": array(ROUTE_DESTINATION),
    }
)

VIRTUAL_SERVICE = KindSchema(
    group="networking.istio.io",
    kind="VirtualService",
    plural="virtualservices",
    short_names=("vs",),
    versions=("v1", "v1beta1", "v1alpha3"),
    doc="Routing rules for the hosts it names: match requests, then route, redirect, rewrite, retry, mirror or fault them.",
    spec=obj(
        {
            "hosts": strings(),
            "gateways": strings(),
            "http": array(HTTP_ROUTE),
            "tls": array(TLS_ROUTE),
            "tcp": array(TCP_ROUTE),
            "exportTo": strings(),
        }
    ),
)
