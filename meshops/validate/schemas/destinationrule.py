"""DestinationRule (networking.istio.io): what happens to traffic for a host after routing
(load balancing, connection pools, outlier detection, TLS, subsets) (istio.io .../destination-rule/)."""
from __future__ import annotations

from .common import LABELS, TRAFFIC_POLICY, WORKLOAD_SELECTOR
from .dsl import KindSchema, array, obj, string, strings

SUBSET = obj(
    {"name": string(doc="Referenced by VirtualService destinations."), "labels": LABELS, "trafficPolicy": TRAFFIC_POLICY},
    required=["name"],
)

DESTINATION_RULE = KindSchema(
    group="networking.istio.io",
    kind="DestinationRule",
    plural="destinationrules",
    short_names=("dr",),
    versions=("v1", "v1beta1", "v1alpha3"),
    doc="Policies for traffic to one host after routing, and the named subsets (versions) routes can pick.",
    spec=obj(
        {
            "host": string(doc="Service registry name the rule applies to."),
            "trafficPolicy": TRAFFIC_POLICY,
            "subsets": array(SUBSET),
            "exportTo": strings(),
            "workloadSelector": WORKLOAD_SELECTOR,
        },
        required=["host"],
    ),
)
