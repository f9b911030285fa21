"""Telemetry (telemetry.istio.io): metrics, tracing and access logging of the selected workloads
(istio.io .../telemetry/)."""
from __future__ import annotations

from .common import TARGETING
from .dsl import KindSchema, array, boolean, duration, enum, map_of, number, obj, string

# The standard metrics by their Telemetry API names (not the Prometheus names istio_requests_total …).
METRICS = (
    "ALL_METRICS", "REQUEST_COUNT", "REQUEST_DURATION", "REQUEST_SIZE", "RESPONSE_SIZE",
    "TCP_OPENED_CONNECTIONS", "TCP_CLOSED_CONNECTIONS", "TCP_SENT_BYTES", "TCP_RECEIVED_BYTES",
    "GRPC_REQUEST_MESSAGES", "GRPC_RESPONSE_MESSAGES",
)

WORKLOAD_MODE = enum("CLIENT_AND_SERVER", "CLIENT", "SERVER")
PROVIDERS = array(obj({"name": string(min_length=1)}, required=["name"]))

_NAMED_VALUE = obj({"name": string(min_length=1), "defaultValue": string()}, required=["name"])

TRACING = obj(
    {
        "match": obj({"mode": WORKLOAD_MODE}),
        "providers": PROVIDERS,
        "randomSamplingPercentage": number(minimum=0, maximum=100, nullable=True),
        "disableSpanReporting": boolean(nullable=True),
        "customTags": map_of(
            obj(
                {
                    "literal": obj({"value": string(min_length=1)}, required=["value"]),
                    "environment": _NAMED_VALUE,
                    "header": _NAMED_VALUE,
                    "formatter": obj({"value": string(min_length=1)}, required=["value"]),
                },
                oneof=[("literal", "environment", "header", "formatter")],
            )
        ),
        "useRequestIdForTraceSampling": boolean(nullable=True),
        "disableContextPropagation": boolean(nullable=True),
        "enableIstioTags": boolean(nullable=True),
    }
)

METRIC_OVERRIDE = obj(
    {
        "match": obj(
            {"metric": enum(*METRICS), "customMetric": string(min_length=1), "mode": WORKLOAD_MODE},
            oneof=[("metric", "customMetric")],
        ),
        "disabled": boolean(nullable=True),
        "tagOverrides": map_of(
            obj(
                {"operation": enum("UPSERT", "REMOVE"), "value": string()},
                checks=("tag_value_for_upsert", "no_tag_value_for_remove"),
            )
        ),
    }
)

METRICS_CONFIG = obj({"providers": PROVIDERS, "overrides": array(METRIC_OVERRIDE), "reportingInterval": duration()})

ACCESS_LOGGING = obj(
    {
        "match": obj({"mode": WORKLOAD_MODE}),
        "providers": PROVIDERS,
        "disabled": boolean(nullable=True),
        "filter": obj({"expression": string()}),
    },
    doc="The log format belongs to the provider (meshConfig.extensionProviders), not to Telemetry.",
)

TELEMETRY = KindSchema(
    group="telemetry.istio.io",
    kind="Telemetry",
    plural="telemetries",
    short_names=("telemetry",),
    versions=("v1", "v1alpha1"),
    doc="Metrics, tracing and access-log settings of the selected workloads, per provider.",
    spec=obj(
        {
            **TARGETING,
            "tracing": array(TRACING),
            "metrics": array(METRICS_CONFIG),
            "accessLogging": array(ACCESS_LOGGING),
        },
        checks=("target_or_selector",),
    ),
)
