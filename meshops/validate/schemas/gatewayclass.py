"""GatewayClass (gateway.networking.k8s.io): which controller implements Gateways of a class.

Cluster-scoped and usually not written by hand: istiod creates `istio` (and `istio-remote`,
`istio-waypoint`) itself. meshops ships the schema so a cluster or sandbox can serve the kind, a
repo may still render its own class, and validation can look classes up.
"""
from __future__ import annotations

from .dsl import KindSchema, obj, string
from .gatewayapi_common import CATEGORIES, CHANNEL_ANNOTATIONS, CONTROLLER_NAME_PATTERN, VERSIONS, typed_reference

GATEWAY_CLASS = KindSchema(
    group="gateway.networking.k8s.io",
    kind="GatewayClass",
    plural="gatewayclasses",
    short_names=("gc",),
    versions=VERSIONS,
    doc="A class of Gateways and the controller that implements it (Istio's is istio.io/gateway-controller).",
    spec=obj(
        {
            "controllerName": string(min_length=1, max_length=253, pattern=CONTROLLER_NAME_PATTERN,
                                     checks=("immutable",)),
            "description": string(max_length=64),
            "parametersRef": typed_reference(with_namespace=True),
        },
        required=["controllerName"],
    ),
    spec_required=True,
    categories=CATEGORIES,
    namespaced=False,
    annotations=CHANNEL_ANNOTATIONS,
)
