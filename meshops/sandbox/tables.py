"""Server-side printing: `meta.k8s.io/v1` Tables for clients that ask for them (`kubectl get`).

kubectl sends `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...` and prints the columns the
server chooses. For a custom resource these are NAME plus the CRD version's `additionalPrinterColumns`
(simple JSONPaths; `date` columns shown as ages such as `5m`), or NAME and AGE when it declares none —
so `kubectl get virtualservices` shows GATEWAYS, HOSTS and AGE as on a real cluster. Built-in kinds
get the apiserver's columns for the kinds meshops users look at (namespaces, config maps, services,
deployments, RBAC bindings), NAME and AGE for the rest. Rows carry the object's metadata
(`includeObject=Metadata`, the default) or the whole object (`includeObject=Object`). A watch
(`kubectl get -w`) streams one-row Tables, the column definitions in the first event only.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from .resources import ResourceType

_NAME = {"name": "Name", "type": "string", "format": "name", "priority": 0,
         "description": "Name must be unique within a namespace."}
_AGE = {"name": "Age", "type": "string", "format": "", "priority": 0,
        "description": "CreationTimestamp is a timestamp representing the server time when this object was created."}


def wants_table(accept: str) -> bool:
    """Whether the first acceptable media type of an Accept header is a meta.k8s.io Table."""
    first = accept.split(",")[0]
    return "as=Table" in first and "g=meta.k8s.io" in first


def human_duration(seconds: float) -> str:
    """apimachinery's HumanDuration: `45s`, `3m20s`, `5h`, `2d3h`, `400d`, `3y20d`."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    seconds = int(seconds)
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    years = days // 365
    if years < 8:
        return f"{years}y{days % 365}d" if days % 365 else f"{years}y"
    return f"{years}y"


def age(timestamp: Any, now: datetime) -> str:
    if not isinstance(timestamp, str):
        return "<unknown>"
    try:
        created = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return "<invalid>"
    return human_duration((now - created).total_seconds())


def json_path(obj: Any, path: str) -> Any:
    """The value at a simple JSONPath (`.spec.hosts`, `.status.conditions[0].type`), or None."""
    node = obj
    for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path.strip().strip("{}")):
        if name:
            node = node.get(name) if isinstance(node, dict) else None
        else:
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) else None
        if node is None:
            return None
    return node


def _cell(value: Any, column_type: str, now: datetime) -> Any:
    """A CRD column value as the apiserver's table convertor renders it."""
    if value is None:
        return None
    if column_type == "string":
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if column_type == "integer" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if column_type == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if column_type == "boolean" and isinstance(value, bool):
        return value
    if column_type == "date" and isinstance(value, str):
        return age(value, now)
    return None


def _custom_columns(rtype: ResourceType) -> list[dict[str, Any]]:
    return list(rtype.printer_columns) or [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]


def _ports(service: dict[str, Any]) -> str:
    ports = (service.get("spec") or {}).get("ports") or []
    shown = [f"{p.get('port')}" + (f":{p['nodePort']}" if p.get("nodePort") else "") + f"/{p.get('protocol', 'TCP')}"
             for p in ports if isinstance(p, dict)]
    return ",".join(shown) or "<none>"


def _ready(obj: dict[str, Any]) -> str:
    status = obj.get("status") or {}
    return f"{status.get('readyReplicas', 0)}/{(obj.get('spec') or {}).get('replicas', 0)}"


# (group, plural) -> extra columns after NAME (before AGE): (definition, value of an object).
Column = tuple[dict[str, Any], Callable[[dict[str, Any]], Any]]


def _column(name: str, column_type: str = "string") -> dict[str, Any]:
    return {"name": name, "type": column_type, "format": "", "priority": 0, "description": ""}


BUILTIN_COLUMNS: dict[tuple[str, str], list[Column]] = {
    ("", "namespaces"): [(_column("Status"), lambda o: (o.get("status") or {}).get("phase", ""))],
    ("", "configmaps"): [(_column("Data", "integer"),
                          lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))],
    ("", "secrets"): [(_column("Type"), lambda o: o.get("type", "")),
                      (_column("Data", "integer"), lambda o: len(o.get("data") or {}))],
    ("", "services"): [(_column("Type"), lambda o: (o.get("spec") or {}).get("type", "")),
                       (_column("Cluster-IP"), lambda o: (o.get("spec") or {}).get("clusterIP", "")),
                       (_column("External-IP"), lambda o: "<none>"),
                       (_column("Port(s)"), _ports)],
    ("apps", "deployments"): [(_column("Ready"), _ready),
                              (_column("Up-to-date", "integer"), lambda o: (o.get("status") or {}).get("updatedReplicas", 0)),
                              (_column("Available", "integer"), lambda o: (o.get("status") or {}).get("availableReplicas", 0))],
    ("rbac.authorization.k8s.io", "rolebindings"): [
        (_column("Role"), lambda o: f"{(o.get('roleRef') or {}).get('kind')}/{(o.get('roleRef') or {}).get('name')}")],
    ("rbac.authorization.k8s.io", "clusterrolebindings"): [
        (_column("Role"), lambda o: f"ClusterRole/{(o.get('roleRef') or {}).get('name')}")],
}


def _row_object(obj: dict[str, Any], include: str) -> dict[str, Any] | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata") or {}}


def table(rtype: ResourceType, objects: list[dict[str, Any]], *, list_metadata: dict[str, Any], now: datetime,
          include_object: str = "Metadata") -> dict[str, Any]:
    """The Table of `objects` of `rtype` (one row each)."""
    if rtype.custom:
        columns = _custom_columns(rtype)
        definitions = [_NAME] + [{"name": c.get("name", ""), "type": c.get("type", "string"),
                                  "format": c.get("format", ""), "description": c.get("description", ""),
                                  "priority": c.get("priority", 0)} for c in columns]
        cells: Callable[[dict[str, Any]], list[Any]] = lambda obj: [obj["metadata"]["name"]] + [
            _cell(json_path(obj, str(c.get("jsonPath", ""))), str(c.get("type", "string")), now) for c in columns]
    else:
        extra = BUILTIN_COLUMNS.get(rtype.group_resource, [])
        definitions = [_NAME] + [definition for definition, _ in extra] + [_AGE]
        cells = lambda obj: ([obj["metadata"]["name"]] + [value(obj) for _, value in extra]
                             + [age(obj["metadata"].get("creationTimestamp"), now)])
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": cells(obj)}
        shown = _row_object(obj, include_object)
        if shown is not None:
            row["object"] = shown
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_metadata,
            "columnDefinitions": definitions, "rows": rows}


def watch_rows(rtype: ResourceType, events: Iterator[dict[str, Any]], *, now: Callable[[], datetime],
               include_object: str = "Metadata") -> Iterator[dict[str, Any]]:
    """Watch events whose objects are one-row Tables (bookmarks and errors pass unchanged)."""
    first = True
    for event in events:
        if event.get("type") in ("BOOKMARK", "ERROR"):
            yield event
            continue
        obj = event["object"]
        converted = table(rtype, [obj], list_metadata={"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                          now=now(), include_object=include_object)
        if not first:
            converted["columnDefinitions"] = []
        first = False
        yield {"type": event["type"], "object": converted}
