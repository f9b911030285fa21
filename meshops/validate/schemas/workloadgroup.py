"""WorkloadGroup (networking.istio.io): the template of WorkloadEntries that VMs register
themselves from (auto-registration), with the health probe istiod runs for them
(istio.io .../workload-group/)."""
from __future__ import annotations

from .dsl import KindSchema, array, int32, map_of, obj, string, uint32
from .workloadentry import WORKLOAD_FIELDS

_PORT = uint32(checks=("port",))
_SECONDS = int32(minimum=0)

PROBE = obj(
    {
        "initialDelaySeconds": _SECONDS,
        "timeoutSeconds": _SECONDS,
        "periodSeconds": _SECONDS,
        "successThreshold": _SECONDS,
        "failureThreshold": _SECONDS,
        "httpGet": obj(
            {
                "path": string(),
                "port": _PORT,
                "host": string(),
                "scheme": string(checks=("http_scheme",)),
                "httpHeaders": array(obj({"name": string(pattern=r"^[-_A-Za-z0-9]+$"), "value": string()})),
            },
            required=["port"],
        ),
        "tcpSocket": obj({"host": string(), "port": _PORT}, required=["port"]),
        "exec": obj({"command": array(string(min_length=1))}, required=["command"]),
        "grpc": obj({"port": _PORT, "service": string()}),
    },
    oneof=[("httpGet", "tcpSocket", "exec", "grpc")],
    doc="How istiod checks that a registered VM is ready.",
)

WORKLOAD_GROUP = KindSchema(
    group="networking.istio.io",
    kind="WorkloadGroup",
    plural="workloadgroups",
    short_names=("wg",),
    versions=("v1", "v1beta1", "v1alpha3"),
    doc="The template of the WorkloadEntries that VMs of one kind register (auto-registration), and their probe.",
    spec=obj(
        {
            "metadata": obj({"labels": map_of(string(), max_properties=256),
                             "annotations": map_of(string(), max_properties=256)}),
            "template": obj(WORKLOAD_FIELDS, checks=("uds_without_ports",)),
            "probe": PROBE,
        },
        required=["template"],
    ),
    spec_required=True,
)
