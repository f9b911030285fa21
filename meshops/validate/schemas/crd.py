"""CustomResourceDefinitions in and out: shipped kinds as `apiextensions.k8s.io/v1` CRDs, and CRDs
(from `--crds` files, a config repo's `crds/`, or a cluster) read back into served kinds.

A CRD is the one format all three schema sources share, so `SchemaSet` is built from CRDs either way
and a cluster's own schema always wins over ours by being the same kind of thing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ...model.errors import ConfigError
from ...model.kinds import GATEWAY_API_GROUP
from .dsl import KindSchema

CRD_API_VERSION = "apiextensions.k8s.io/v1"
CRD_KIND = "CustomResourceDefinition"
# Label on exported CRDs so a cluster operator can tell meshops' schemas from Istio's own.
SHIPPED_LABEL = "meshops.dev/schemas"


# `kubectl get` columns beyond NAME, as Istio's own CRDs declare them (name, JSON path, type); every
# kind also gets AGE, so `kubectl get vs` against a sandbox with the shipped CRDs reads like a cluster.
PRINTER_COLUMNS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "VirtualService": (("Gateways", ".spec.gateways", "string"), ("Hosts", ".spec.hosts", "string")),
    "DestinationRule": (("Host", ".spec.host", "string"),),
    "ServiceEntry": (("Hosts", ".spec.hosts", "string"), ("Location", ".spec.location", "string"),
                     ("Resolution", ".spec.resolution", "string")),
    "WorkloadEntry": (("Address", ".spec.address", "string"),),
    "AuthorizationPolicy": (("Action", ".spec.action", "string"),),
    "PeerAuthentication": (("Mode", ".spec.mtls.mode", "string"),),
}
AGE_COLUMN = {"name": "Age", "jsonPath": ".metadata.creationTimestamp", "type": "date"}


# The Gateway API kinds' columns, as its CRDs declare them (AGE included, where they put it).
_ACCEPTED = '.status.conditions[?(@.type=="Accepted")].status'
_PROGRAMMED = '.status.conditions[?(@.type=="Programmed")].status'
GATEWAY_API_PRINTER_COLUMNS: dict[str, tuple[dict[str, Any], ...]] = {
    "GatewayClass": ({"name": "Controller", "jsonPath": ".spec.controllerName", "type": "string"},
                     {"name": "Accepted", "jsonPath": _ACCEPTED, "type": "string"}, AGE_COLUMN,
                     {"name": "Description", "jsonPath": ".spec.description", "type": "string", "priority": 1}),
    "Gateway": ({"name": "Class", "jsonPath": ".spec.gatewayClassName", "type": "string"},
                {"name": "Address", "jsonPath": ".status.addresses[*].value", "type": "string"},
                {"name": "Programmed", "jsonPath": _PROGRAMMED, "type": "string"}, AGE_COLUMN),
    "HTTPRoute": ({"name": "Hostnames", "jsonPath": ".spec.hostnames", "type": "string"}, AGE_COLUMN),
    "GRPCRoute": ({"name": "Hostnames", "jsonPath": ".spec.hostnames", "type": "string"}, AGE_COLUMN),
}


def _printer_columns(kind: KindSchema) -> list[dict[str, Any]]:
    if kind.group == GATEWAY_API_GROUP:
        return [dict(column) for column in GATEWAY_API_PRINTER_COLUMNS.get(kind.kind, (AGE_COLUMN,))]
    columns = [{"name": name, "jsonPath": path, "type": type_} for name, path, type_ in PRINTER_COLUMNS.get(kind.kind, ())]
    return columns + [dict(AGE_COLUMN)]


def to_crd(kind: KindSchema) -> dict[str, Any]:
    """The CRD a cluster would need to serve `kind` with our schema (first version stored)."""
    schema = kind.open_api_v3_schema()
    group_category = kind.group.replace(".", "-")
    names: dict[str, Any] = {
        "kind": kind.kind,
        "listKind": f"{kind.kind}List",
        "plural": kind.plural,
        "singular": kind.singular,
        "categories": list(kind.categories) or ["istio-io", group_category],
    }
    if kind.short_names:
        names["shortNames"] = list(kind.short_names)
    metadata: dict[str, Any] = {"name": f"{kind.plural}.{kind.group}", "labels": {SHIPPED_LABEL: "shipped"}}
    if kind.annotations:
        metadata["annotations"] = dict(kind.annotations)
    return {
        "apiVersion": CRD_API_VERSION,
        "kind": CRD_KIND,
        "metadata": metadata,
        "spec": {
            "group": kind.group,
            "names": names,
            "scope": "Namespaced" if kind.namespaced else "Cluster",
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": version == kind.stored_version,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}} if kind.has_status else {},
                    "additionalPrinterColumns": _printer_columns(kind),
                }
                for version in kind.versions
            ],
        },
    }


@dataclass
class ServedKind:
    """One kind as a schema source serves it: schema per served version, deprecations, plural."""

    group: str
    kind: str
    plural: str
    namespaced: bool
    schemas: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # None: no schema (anything goes)
    deprecation_warnings: dict[str, str] = field(default_factory=dict)


def _require(condition: bool, what: str, source: str) -> None:
    if not condition:
        raise ConfigError(
            f"not a usable CustomResourceDefinition: {what}",
            obj=source,
            hint=f"CRDs must be {CRD_API_VERSION} with spec.group, spec.names and spec.versions[].schema.openAPIV3Schema",
        )


def served_kind(crd: dict[str, Any], *, source: str) -> ServedKind:
    """A CRD dict (as YAML files or the API server give it) turned into a `ServedKind`."""
    name = str((crd.get("metadata") or {}).get("name") or "?")
    where = f"{source}: CustomResourceDefinition {name}"
    _require(crd.get("apiVersion") == CRD_API_VERSION, f"apiVersion {crd.get('apiVersion')!r}", where)
    spec = crd.get("spec")
    _require(isinstance(spec, dict), "no spec", where)
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    _require(isinstance(spec.get("group"), str) and isinstance(names.get("kind"), str), "no spec.group or spec.names.kind", where)
    versions = spec.get("versions")
    _require(isinstance(versions, list) and versions, "no spec.versions", where)
    served = ServedKind(
        group=spec["group"],
        kind=names["kind"],
        plural=str(names.get("plural") or names["kind"].lower() + "s"),
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
    )
    for version in versions:
        _require(isinstance(version, dict) and isinstance(version.get("name"), str), "a version without a name", where)
        if not version.get("served", True):
            continue
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        _require(schema is None or isinstance(schema, dict), f"version {version['name']} has a malformed schema", where)
        served.schemas[version["name"]] = schema
        if version.get("deprecated"):
            served.deprecation_warnings[version["name"]] = str(
                version.get("deprecationWarning") or f"{served.group}/{version['name']} {served.kind} is deprecated"
            )
    return served


def crd_documents(documents: Iterable[Any]) -> list[dict[str, Any]]:
    """The CRDs among parsed YAML documents, `List` wrappers opened, other kinds skipped."""
    found: list[dict[str, Any]] = []
    for document in documents:
        if not isinstance(document, dict):
            continue
        if document.get("kind") == CRD_KIND:
            found.append(document)
        elif str(document.get("kind", "")).endswith("List") and isinstance(document.get("items"), list):
            found.extend(crd_documents(document["items"]))
    return found
