"""A small vocabulary for writing the shipped schemas by hand, readable next to the API reference.

Each kind module (`virtualservice.py`, `httproute.py`, …) describes its `spec` with these helpers;
`common.py` holds the messages several Istio kinds share (StringMatch, PortSelector, WorkloadSelector,
TLS settings), `gatewayapi_common.py` those of the Gateway API kinds (references, matches, filters).
Every helper returns a plain structural-schema dict (`openAPIV3Schema` conventions: every node
typed, maps as `additionalProperties`, "at most one of" as `oneOf` over `required`, rules as
`x-kubernetes-validations`, server-side `default`s and list/map merge types as the API server reads
them), so what we load is exactly what `meshops crds export` prints.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from .cel_rules import validation_rule

Schema = dict[str, Any]


def _node(node: Schema, checks: Iterable[str] = (), **keywords: Any) -> Schema:
    """`node` with the keywords that are set (None means "not set") and the named rules."""
    node.update({key: value for key, value in keywords.items() if value is not None and value != ()})
    rules = [validation_rule(name) for name in checks]
    if rules:
        node["x-kubernetes-validations"] = rules
    return node


def string(*, enum: Iterable[str] = (), pattern: str | None = None, min_length: int | None = None,
           max_length: int | None = None, format: str | None = None, checks: Iterable[str] = (),
           doc: str | None = None, default: str | None = None) -> Schema:
    """A string, optionally limited to `enum` values, a `pattern` or a length (`format: byte`: base64);
    `default` is what the API server fills in when the field is left out."""
    return _node({"type": "string"}, checks, format=format, description=doc, enum=list(enum) or None,
                 pattern=pattern, minLength=min_length, maxLength=max_length, default=default)


def enum(*values: str, doc: str | None = None, default: str | None = None) -> Schema:
    """A string that must be one of `values` (a protobuf enum)."""
    return string(enum=values, doc=doc, default=default)


def integer(*, format: str | None = None, minimum: int | None = None, maximum: int | None = None,
            nullable: bool = False, checks: Iterable[str] = (), enum: Iterable[int] = (),
            default: int | None = None) -> Schema:
    return _node({"type": "integer"}, checks, format=format, minimum=minimum, maximum=maximum,
                 nullable=nullable or None, enum=list(enum) or None, default=default)


def number(*, minimum: float | None = None, maximum: float | None = None, nullable: bool = False,
           checks: Iterable[str] = ()) -> Schema:
    return _node({"type": "number", "format": "double"}, checks, minimum=minimum, maximum=maximum,
                 nullable=nullable or None)


def boolean(*, nullable: bool = False) -> Schema:
    """A bool; `nullable` for protobuf BoolValue wrappers (null means "not set")."""
    return {"type": "boolean", "nullable": True} if nullable else {"type": "boolean"}


def int32(**kwargs: Any) -> Schema:
    return integer(format="int32", **kwargs)


# protobuf uint32: the CRDs spell it as a 0..2^32-1 range.
UINT32_MAX = 4294967295


def uint32(*, nullable: bool = False, checks: Iterable[str] = ()) -> Schema:
    return integer(minimum=0, maximum=UINT32_MAX, nullable=nullable, checks=checks)


def uint64() -> Schema:
    return integer(minimum=0)


def duration(*, webhook: bool = False, zero: bool = False) -> Schema:
    """A protobuf Duration as Kubernetes writes it: a Go duration string (`7s`, `1h30m`), at least 1ms.

    `webhook=True` for fields whose upstream CRD has no duration rule (istiod still rejects bad ones);
    `zero=True` where 0s means something (a session cookie's TTL): any well-formed duration of 0s or more.
    """
    if zero:
        return string(checks=("webhook_duration_or_zero",))
    return string(checks=("webhook_duration" if webhook else "duration",))


# How server-side apply merges a list (`x-kubernetes-list-type`): replaced whole, a set of scalars,
# or a map keyed by `map_keys` (Gateway listeners by name: two managers may own different listeners).
LIST_TYPES = ("atomic", "set", "map")


def array(items: Schema, *, max_items: int | None = None, min_items: int | None = None,
          checks: Iterable[str] = (), list_type: str | None = None, map_keys: Iterable[str] = (),
          default: list | None = None) -> Schema:
    if list_type is not None and list_type not in LIST_TYPES:
        raise ValueError(f"list type {list_type!r} is not one of {LIST_TYPES}")
    keywords = {"x-kubernetes-list-type": list_type, "x-kubernetes-list-map-keys": list(map_keys) or None}
    return _node({"type": "array", "items": items}, checks, maxItems=max_items, minItems=min_items, default=default,
                 **keywords)


def strings(**kwargs: Any) -> Schema:
    """A list of strings (hosts, principals, exportTo …)."""
    return array(string(), **kwargs)


def map_of(values: Schema, *, max_properties: int | None = None, min_properties: int | None = None,
           checks: Iterable[str] = ()) -> Schema:
    """A protobuf map<string, V>: any keys, every value checked against `values`."""
    return _node({"type": "object", "additionalProperties": values}, checks, maxProperties=max_properties,
                 minProperties=min_properties)


def exclusive(*names: str) -> Schema:
    """"At most one of `names`" (a protobuf oneof): the CRD idiom, `oneOf` over `required` only."""
    return {"oneOf": [{"not": {"anyOf": [{"required": [name]} for name in names]}}]
            + [{"required": [name]} for name in names]}


def obj(fields: dict[str, Schema], *, required: Iterable[str] = (), oneof: Iterable[Iterable[str]] = (),
        checks: Iterable[str] = (), doc: str | None = None, default: dict | None = None,
        atomic: bool = False) -> Schema:
    """A message: its fields (unknown ones are errors), required ones, oneof groups and rules;
    `atomic` objects are replaced whole by server-side apply (label selectors)."""
    node: Schema = {"type": "object", "properties": dict(fields)}
    required = list(required)
    unknown = [name for name in required if name not in fields]
    if unknown:
        raise ValueError(f"required fields {unknown} are not declared")
    groups = [exclusive(*group) for group in oneof]
    if len(groups) == 1:
        node.update(groups[0])
    return _node(node, checks, description=doc, required=required or None,
                 allOf=groups if len(groups) > 1 else None, default=default,
                 **{"x-kubernetes-map-type": "atomic" if atomic else None})


PRESERVE: Schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


@dataclass(frozen=True)
class KindSchema:
    """One kind: names, served versions (storage first unless `storage_version` says otherwise) and
    the one spec all versions share."""

    group: str
    kind: str
    plural: str
    short_names: tuple[str, ...]
    versions: tuple[str, ...]
    spec: Schema
    doc: str
    spec_required: bool = False  # WorkloadEntry: an object without spec is meaningless
    categories: tuple[str, ...] = field(default=())  # empty: the Istio categories (see crd.to_crd)
    namespaced: bool = True  # False: cluster-scoped (GatewayClass)
    storage_version: str | None = None  # None: the first of `versions` (ReferenceGrant stores v1beta1)
    has_status: bool = True  # ReferenceGrant has neither a status nor its subresource
    annotations: tuple[tuple[str, str], ...] = ()  # CRD metadata annotations (the Gateway API release channel)

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def stored_version(self) -> str:
        return self.storage_version or self.versions[0]

    def open_api_v3_schema(self) -> Schema:
        """The `openAPIV3Schema` of every version: spec plus a free-form status the controller owns."""
        spec = dict(self.spec)
        spec.setdefault("description", self.doc)
        schema: Schema = {
            "type": "object",
            "properties": {"spec": spec, "status": dict(PRESERVE)} if self.has_status else {"spec": spec},
        }
        if self.spec_required:
            schema["required"] = ["spec"]
        return schema
