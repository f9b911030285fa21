"""What the sandbox can serve: one `ResourceType` per (group, version, plural).

Built-in kinds come from `builtin.BUILTIN_TYPES`; every served version of an installed CRD adds one more
(`crds.types_of`). A type carries what each later step needs: discovery names, scope, whether a
status subresource exists, whether `metadata.generation` is kept, and a structural schema that
drives both validation (`validation`) and server-side apply (`ssa`: list types, named fields).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

# The apiserver's ObjectMeta, as a structural schema: closed (unknown metadata fields are strict
# errors even for custom resources), labels/annotations granular string maps, ownerReferences keyed
# by uid and finalizers a set, which is what server-side apply merges them by.
OBJECT_META: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "selfLink": {"type": "string"},
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer"},
        "creationTimestamp": {"type": "string", "nullable": True},
        "deletionTimestamp": {"type": "string", "nullable": True},
        "deletionGracePeriodSeconds": {"type": "integer"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "ownerReferences": {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["uid"],
            "items": {
                "type": "object",
                "required": ["apiVersion", "kind", "name", "uid"],
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "name": {"type": "string"},
                    "uid": {"type": "string"},
                    "controller": {"type": "boolean"},
                    "blockOwnerDeletion": {"type": "boolean"},
                },
            },
        },
        "finalizers": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        "managedFields": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
    },
}

ENVELOPE: dict[str, Any] = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": OBJECT_META}


def with_envelope(schema: dict[str, Any] | None) -> dict[str, Any]:
    """A kind's schema with apiVersion, kind and the apiserver's ObjectMeta (which CRDs may not restate)."""
    schema = dict(schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    properties = dict(schema.get("properties") or {})
    metadata = properties.get("metadata") if isinstance(properties.get("metadata"), dict) else {}
    meta = dict(OBJECT_META)
    # A CRD may only restrict metadata.name and generateName; keep those restrictions.
    restricted = {k: {**OBJECT_META["properties"][k], **v} for k, v in (metadata.get("properties") or {}).items()
                  if k in ("name", "generateName") and isinstance(v, dict)}
    if restricted:
        meta["properties"] = {**OBJECT_META["properties"], **restricted}
    properties.update({"apiVersion": ENVELOPE["apiVersion"], "kind": ENVELOPE["kind"], "metadata": meta})
    schema["properties"] = properties
    schema.setdefault("type", "object")
    return schema


@dataclass(frozen=True)
class ResourceType:
    """One servable resource in one version."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    list_kind: str = ""
    # Writes to the main resource ignore .status and /status writes only change .status.
    status_subresource: bool = False
    # metadata.generation is set to 1 and bumped when anything but metadata/status changes.
    has_generation: bool = False
    # A custom resource: schema-checked, served from a CRD, no strategic merge patch.
    custom: bool = False
    # Where objects are kept: all versions of a CRD share the storage version's objects.
    storage_version: str = ""
    # The full structural schema (envelope included); see `with_envelope`.
    schema: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # Field selectors this kind supports beyond metadata.name / metadata.namespace.
    field_labels: tuple[str, ...] = ()
    # Name of the validation rule for metadata.name (see validation.NAME_RULES).
    name_rule: str = "subdomain"
    printer_columns: tuple[dict[str, Any], ...] = field(default=(), compare=False, hash=False)
    # What clients may do with it (review APIs such as SelfSubjectAccessReview only take `create`).
    verbs: tuple[str, ...] = ALL_VERBS
    # Subresources beyond status, as (name, kind, group, version, verbs) for discovery (serviceaccounts/token).
    subresources: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> tuple[str, str]:
        """The storage identity shared by every version of this resource."""
        return (self.group, self.plural)

    @property
    def qualified_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def api_version_of(self, version: str) -> str:
        return f"{self.group}/{version}" if self.group else version

    def discovery_entry(self) -> list[dict[str, Any]]:
        """The APIResourceList entries (resource and its status subresource) for discovery."""
        entry: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular or self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        entries = [entry]
        if self.status_subresource:
            entries.append({"name": f"{self.plural}/status", "singularName": "", "namespaced": self.namespaced,
                            "kind": self.kind, "verbs": ["get", "patch", "update"]})
        for name, kind, group, version, verbs in self.subresources:
            entries.append({"name": f"{self.plural}/{name}", "singularName": "", "namespaced": self.namespaced,
                            "group": group, "version": version, "kind": kind, "verbs": list(verbs)})
        return entries


_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple:
    """Sort key putting versions in Kubernetes order: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > others."""
    match = _VERSION.match(version)
    if not match:
        return (3, version)
    major, level, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[level]
    return (rank, -int(major), -int(minor or 0))


def builtin(plural: str, kind: str, *, schema: dict[str, Any], group: str = "", version: str = "v1",
            namespaced: bool = True, short: tuple[str, ...] = (), status: bool = False, generation: bool = False,
            fields: tuple[str, ...] = (), name_rule: str = "subdomain", categories: tuple[str, ...] = (),
            verbs: tuple[str, ...] = ALL_VERBS,
            subresources: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = ()) -> ResourceType:
    """A built-in kind (served at one version, stored there) with `schema` as its body schema."""
    return ResourceType(
        group=group, version=version, plural=plural, kind=kind, namespaced=namespaced, singular=kind.lower(),
        short_names=short, categories=categories, list_kind=f"{kind}List", status_subresource=status,
        has_generation=generation, storage_version=version, schema=with_envelope(schema),
        field_labels=fields, name_rule=name_rule, verbs=verbs, subresources=subresources,
    )
