"""ReferenceGrant (gateway.networking.k8s.io): a namespace's permission for routes (or Gateways)
elsewhere to reference its objects.

A route in `shop` sending traffic to a Service in `payments` works only when `payments` holds a
ReferenceGrant from HTTPRoutes of `shop` to that Service (or to all its Services); the same holds
for a Gateway's certificate Secret in another namespace. Stored as v1beta1, served as v1 too.
"""
from __future__ import annotations

from .dsl import KindSchema, array, obj
from .gatewayapi_common import CATEGORIES, CHANNEL_ANNOTATIONS, VERSIONS, group, kind, namespace, object_name

REFERENCE_GRANT = KindSchema(
    group="gateway.networking.k8s.io",
    kind="ReferenceGrant",
    plural="referencegrants",
    short_names=("refgrant",),
    versions=VERSIONS,
    storage_version="v1beta1",
    doc="Objects of this namespace (to) that objects of other namespaces (from) may reference.",
    spec=obj(
        {
            "from": array(obj({"group": group(), "kind": kind(), "namespace": namespace()},
                              required=["group", "kind", "namespace"]),
                          max_items=16, min_items=1, list_type="atomic"),
            "to": array(obj({"group": group(), "kind": kind(), "name": object_name()}, required=["group", "kind"]),
                        max_items=16, min_items=1, list_type="atomic"),
        },
        required=["from", "to"],
    ),
    spec_required=True,
    categories=CATEGORIES,
    has_status=False,
    annotations=CHANNEL_ANNOTATIONS,
)
