"""ServiceEntry (networking.istio.io): adds a host the mesh does not discover by itself, usually an
external API, to the service registry (istio.io .../service-entry/)."""
from __future__ import annotations

from .common import NETWORKING_LABELS
from .dsl import KindSchema, array, enum, obj, string, strings, uint32
from .workloadentry import WORKLOAD_ENTRY_SPEC

SERVICE_PORT = obj(
    {
        "number": uint32(checks=("port",)),
        "protocol": string(max_length=256),
        "name": string(max_length=256),
        "targetPort": uint32(checks=("port",)),
    },
    required=["number", "name"],
)

SERVICE_ENTRY = KindSchema(
    group="networking.istio.io",
    kind="ServiceEntry",
    plural="serviceentries",
    short_names=("se",),
    versions=("v1", "v1beta1", "v1alpha3"),
    doc="Adds hosts the mesh cannot discover (external APIs, VMs) to Istio's service registry.",
    spec=obj(
        {
            "hosts": array(string(checks=("host_not_wildcard",)), min_items=1, max_items=256),
            "addresses": array(string(max_length=64), max_items=256),
            "ports": array(SERVICE_PORT, max_items=256, checks=("unique_port_numbers",)),
            "location": enum("MESH_EXTERNAL", "MESH_INTERNAL"),
            "resolution": enum("NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS"),
            "endpoints": array(WORKLOAD_ENTRY_SPEC, max_items=4096),
            "workloadSelector": obj({"labels": NETWORKING_LABELS}),
            "exportTo": strings(),
            "subjectAltNames": strings(),
        },
        required=["hosts"],
        checks=("cidr_needs_static", "round_robin_one_endpoint", "none_without_endpoints", "selector_or_endpoints"),
    ),
    spec_required=True,
)
