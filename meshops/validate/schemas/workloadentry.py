"""WorkloadEntry (networking.istio.io): a non-Kubernetes workload (a VM) as a mesh endpoint
(istio.io .../workload-entry/). ServiceEntry endpoints use the same message."""
from __future__ import annotations

from .dsl import KindSchema, map_of, obj, string, uint32

# The fields of one workload; WorkloadGroup's `template` has them too (without "Address is required").
WORKLOAD_FIELDS = {
    "address": string(max_length=256, checks=("uds_not_dir", "uds_absolute")),
    "ports": map_of(uint32(checks=("port",)), max_properties=128, checks=("port_names",)),
    "labels": map_of(string(), max_properties=256),
    "network": string(max_length=2048),
    "locality": string(max_length=2048),
    "weight": uint32(),
    "serviceAccount": string(max_length=253),
}

WORKLOAD_ENTRY_SPEC = obj(WORKLOAD_FIELDS, checks=("address_or_network", "uds_without_ports"))

WORKLOAD_ENTRY = KindSchema(
    group="networking.istio.io",
    kind="WorkloadEntry",
    plural="workloadentries",
    short_names=("we",),
    versions=("v1", "v1beta1", "v1alpha3"),
    doc="A workload outside Kubernetes (a VM, a bare-metal host) that joins the mesh.",
    spec=WORKLOAD_ENTRY_SPEC,
    spec_required=True,
)

