"""Messages the Gateway API kinds share (gateway.networking.k8s.io, standard channel), written once.

Written from the Gateway API reference (gateway-api.sigs.k8s.io/reference/spec/): the name formats
(group, kind, namespace, section and host names), parent and backend references, header matches and
the HTTP filters HTTPRoute and GRPCRoute both use. Server-side defaults are declared where the API
declares them (a backendRef is a Service of weight 1 unless it says otherwise), because the API
server fills them in and the rules are evaluated against the filled-in object.
"""
from __future__ import annotations

from .dsl import Schema, array, enum, integer, map_of, obj, string
from .gatewayapi_rules import DEFAULT_BACKEND_KIND, DEFAULT_PARENT_KIND, GATEWAY_GROUP

# The API's release channel, recorded on the CRDs as upstream does (implementations read it).
CHANNEL_ANNOTATIONS = (("gateway.networking.k8s.io/channel", "standard"),)
CATEGORIES = ("gateway-api",)
VERSIONS = ("v1", "v1beta1")

# Name formats (the API's Group, Kind, Namespace, SectionName, Hostname … string types).
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
GROUP_PATTERN = r"^$|" + DNS_SUBDOMAIN
KIND_PATTERN = r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
NAMESPACE_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
HOSTNAME_PATTERN = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
HEADER_NAME_PATTERN = r"^[A-Za-z0-9!#$%&'*+\-.^_\x60|~]+$"
CONTROLLER_NAME_PATTERN = DNS_SUBDOMAIN[:-1] + r"\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$"
DURATION_PATTERN = r"^([0-9]{1,5}(h|m|s|ms)){1,4}$"

MAX_NAME = 253  # a DNS subdomain
MAX_LABEL = 63  # a DNS label
MAX_HEADERS = 16


def group(*, default: str | None = None) -> Schema:
    return string(max_length=MAX_NAME, pattern=GROUP_PATTERN, default=default)


def kind(*, default: str | None = None) -> Schema:
    return string(min_length=1, max_length=MAX_LABEL, pattern=KIND_PATTERN, default=default)


def object_name() -> Schema:
    return string(min_length=1, max_length=MAX_NAME)


def namespace() -> Schema:
    return string(min_length=1, max_length=MAX_LABEL, pattern=NAMESPACE_PATTERN)


def section_name() -> Schema:
    return string(min_length=1, max_length=MAX_NAME, pattern=DNS_SUBDOMAIN)


def port_number() -> Schema:
    return integer(format="int32", minimum=1, maximum=65535)


def hostname() -> Schema:
    """A host a listener or route answers for; `*.example.com` covers every subdomain."""
    return string(min_length=1, max_length=MAX_NAME, pattern=HOSTNAME_PATTERN)


def precise_hostname() -> Schema:
    """A host without wildcard (redirect and rewrite targets)."""
    return string(min_length=1, max_length=MAX_NAME, pattern=DNS_SUBDOMAIN)


def header_name() -> Schema:
    return string(min_length=1, max_length=256, pattern=HEADER_NAME_PATTERN)


def int32(**kwargs: object) -> Schema:
    return integer(format="int32", **kwargs)


def typed_reference(*, with_namespace: bool) -> Schema:
    """A reference to any object in full (group, kind and name all required; namespace optional)."""
    fields = {"group": group(), "kind": kind(), "name": object_name()}
    if with_namespace:
        fields["namespace"] = namespace()
    return obj(fields, required=["group", "kind", "name"])


# A reference to a Secret (listener certificates, backend client certificates).
SECRET_REFERENCE = obj(
    {"group": group(default=""), "kind": kind(default="Secret"), "name": object_name(), "namespace": namespace()},
    required=["name"],
)

LABEL_SELECTOR = obj(
    {
        "matchExpressions": array(
            obj({"key": string(), "operator": string(), "values": array(string(), list_type="atomic")},
                required=["key", "operator"]),
            list_type="atomic",
        ),
        "matchLabels": map_of(string()),
    },
    atomic=True,
    doc="Namespaces by label (a Kubernetes LabelSelector).",
)

PARENT_REFERENCE = obj(
    {
        "group": group(default=GATEWAY_GROUP),
        "kind": kind(default=DEFAULT_PARENT_KIND),
        "name": object_name(),
        "namespace": namespace(),
        "port": port_number(),
        "sectionName": section_name(),
    },
    required=["name"],
    doc="What the route attaches to: a Gateway (optionally one listener, by sectionName or port) or, in the mesh, "
        "a Service.",
)

PARENT_REFERENCES = array(PARENT_REFERENCE, max_items=32, list_type="atomic",
                          checks=("section_names_all_or_none", "section_names_unique"))

ROUTE_HOSTNAMES = array(hostname(), max_items=16, list_type="atomic")

# A backend object: a Service and port unless group/kind say otherwise.
BACKEND_OBJECT_FIELDS = {
    "group": group(default=""),
    "kind": kind(default=DEFAULT_BACKEND_KIND),
    "name": object_name(),
    "namespace": namespace(),
    "port": port_number(),
}
BACKEND_OBJECT_REFERENCE = obj(BACKEND_OBJECT_FIELDS, required=["name"], checks=("service_ref_port",))

HEADER_VALUES = array(
    obj({"name": header_name(), "value": string(min_length=1, max_length=4096)}, required=["name", "value"]),
    max_items=MAX_HEADERS, list_type="map", map_keys=["name"],
)
HEADER_FILTER = obj(
    {
        "add": HEADER_VALUES,
        "remove": array(string(), max_items=MAX_HEADERS, list_type="set"),
        "set": HEADER_VALUES,
    },
    doc="Add, set or remove headers.",
)

REQUEST_MIRROR = obj(
    {
        "backendRef": BACKEND_OBJECT_REFERENCE,
        "fraction": obj(
            {"denominator": int32(minimum=1, default=100), "numerator": int32(minimum=0)},
            required=["numerator"], checks=("fraction_at_most_one",),
        ),
        "percent": int32(minimum=0, maximum=100),
    },
    required=["backendRef"],
    checks=("mirror_percent_or_fraction",),
    doc="Send a copy of requests to another backend; its responses are discarded.",
)

EXTENSION_REFERENCE = typed_reference(with_namespace=False)

HEADER_MATCH = array(
    obj(
        {
            "name": header_name(),
            "type": enum("Exact", "RegularExpression", default="Exact"),
            "value": string(min_length=1, max_length=4096),
        },
        required=["name", "value"],
    ),
    max_items=MAX_HEADERS, list_type="map", map_keys=["name"],
)

# Filters one route kind allows, by `type`: the field of that name holds its settings.
FILTER_FIELDS = {
    "RequestHeaderModifier": ("requestHeaderModifier", HEADER_FILTER),
    "ResponseHeaderModifier": ("responseHeaderModifier", HEADER_FILTER),
    "RequestMirror": ("requestMirror", REQUEST_MIRROR),
    "ExtensionRef": ("extensionRef", EXTENSION_REFERENCE),
}


def filter_schema(types: tuple[str, ...], fields: dict[str, tuple[str, Schema]], *, checks: tuple[str, ...]) -> Schema:
    """One filter: a `type` and the field that type names (every other field absent)."""
    return obj({**{field: schema for field, schema in fields.values()}, "type": enum(*types)},
               required=["type"], checks=checks)


def weighted_backend(filters: Schema) -> Schema:
    """A backendRef of a route rule: a backend object, its share of the rule's traffic, its own filters."""
    return obj(
        {
            "filters": filters,
            **BACKEND_OBJECT_FIELDS,
            "weight": int32(minimum=0, maximum=1000000, default=1),
        },
        required=["name"],
        checks=("service_ref_port",),
        doc="A backend and its weight: the share of the rule's requests it gets, relative to the other backends.",
    )

