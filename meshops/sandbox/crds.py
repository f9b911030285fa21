"""CustomResourceDefinitions: what installing one adds to the API, checked the way the apiserver does.

A CRD write goes through the same write path as any object; this module supplies its checks
(names, exactly one storage version, a schema per version), the defaults and status a real server
reports once the CRD is established, and `types_of`, which turns a stored CRD into one
`ResourceType` per served version for the registry (discovery, routing, validation, SSA).
"""
from __future__ import annotations

import json
from typing import Any

from ..schema import celrules

from .resources import ResourceType, version_priority, with_envelope
from .status import cause

Causes = list[dict[str, str]]


def _names(crd: dict[str, Any]) -> dict[str, Any]:
    names = dict(((crd.get("spec") or {}).get("names")) or {})
    if names.get("kind"):
        names.setdefault("singular", str(names["kind"]).lower())
        names.setdefault("listKind", f"{names['kind']}List")
    return names


def defaults(crd: dict[str, Any], old: dict[str, Any] | None, *, now: str) -> None:
    """Fill defaulted names and the status a real cluster shows once the CRD is established."""
    spec = crd.setdefault("spec", {})
    spec["names"] = _names(crd)
    spec.setdefault("scope", "Namespaced")
    spec.setdefault("conversion", {"strategy": "None"})
    for version in spec.get("versions") or []:
        if isinstance(version, dict):
            version.setdefault("served", True)
    storage = [v.get("name") for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("storage")]
    stored = list(((old or {}).get("status") or {}).get("storedVersions") or [])
    for name in storage:
        if name not in stored:
            stored.append(name)
    # Conditions keep the time they first became true, so re-applying a CRD stays a no-op.
    earlier = ((old or {}).get("status") or {}).get("conditions") or [{}]
    condition = {"lastTransitionTime": earlier[0].get("lastTransitionTime") or now, "status": "True"}
    crd["status"] = {
        "acceptedNames": dict(spec["names"]),
        "conditions": [
            {**condition, "type": "NamesAccepted", "reason": "NoConflicts", "message": "no conflicts found"},
            {**condition, "type": "Established", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted"},
        ],
        "storedVersions": stored,
    }


def checks(crd: dict[str, Any]) -> Causes:
    """The apiextensions rules a CRD must satisfy before anything is served from it."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group")
    causes: Causes = []
    for field_name, value in (("spec.group", group), ("spec.names.plural", names.get("plural")),
                              ("spec.names.kind", names.get("kind"))):
        if not value:
            causes.append(cause(field_name, "FieldValueRequired", "Required value"))
    if group and names.get("plural") and crd["metadata"].get("name") != f"{names['plural']}.{group}":
        causes.append(cause("metadata.name", "FieldValueInvalid",
                            f'Invalid value: "{crd["metadata"].get("name")}": must be spec.names.plural+"."+spec.group'))
    if spec.get("scope", "Namespaced") not in ("Namespaced", "Cluster"):
        causes.append(cause("spec.scope", "FieldValueNotSupported",
                            f'Unsupported value: "{spec.get("scope")}": supported values: "Cluster", "Namespaced"'))
    versions = [v for v in spec.get("versions") or [] if isinstance(v, dict)]
    if not versions:
        causes.append(cause("spec.versions", "FieldValueInvalid", "Invalid value: []: must have exactly one version marked as storage version"))
        return causes
    if sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(cause("spec.versions", "FieldValueInvalid",
                            "Invalid value: " + repr([v.get("name") for v in versions]).replace("'", '"')
                            + ": must have exactly one version marked as storage version"))
    for index, version in enumerate(versions):
        if not version.get("name"):
            causes.append(cause(f"spec.versions[{index}].name", "FieldValueRequired", "Required value"))
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if not isinstance(schema, dict):
            causes.append(cause(f"spec.versions[{index}].schema.openAPIV3Schema", "FieldValueRequired",
                                "Required value: schemas are required"))
            continue
        where = f"spec.versions[{index}].schema.openAPIV3Schema"
        for path, rule, error in celrules.rule_compile_errors(schema, where):
            causes.append(cause(path, "FieldValueInvalid",
                                f"Invalid value: {json.dumps(rule)}: compilation failed: {error}"))
    return causes


def types_of(crd: dict[str, Any]) -> list[ResourceType]:
    """One ResourceType per served version, most preferred version first."""
    spec = crd.get("spec") or {}
    names = _names(crd)
    versions = [v for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("served", True)]
    storage = next((v["name"] for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("storage")), "")
    types = []
    for version in sorted(versions, key=lambda v: version_priority(v["name"])):
        subresources = version.get("subresources") or {}
        types.append(ResourceType(
            group=spec["group"], version=version["name"], plural=names["plural"], kind=names["kind"],
            namespaced=spec.get("scope", "Namespaced") == "Namespaced", singular=names.get("singular", ""),
            short_names=tuple(names.get("shortNames") or ()), categories=tuple(names.get("categories") or ()),
            list_kind=names.get("listKind", f"{names['kind']}List"), status_subresource="status" in subresources,
            has_generation=True, custom=True, storage_version=storage,
            schema=with_envelope((version.get("schema") or {}).get("openAPIV3Schema")),
            printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
        ))
    return types
