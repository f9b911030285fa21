"""What clients ask before they ask for objects: `/version`, legacy discovery and OpenAPI v3.

The version decides which kubectl runs: the kubectl on our machines is a dispatcher that picks
`kubectl.1.<minor>` from the server's minor version, so we report 1.32. Discovery is the legacy JSON form (`APIVersions`,
`APIGroupList`, `APIGroup`, `APIResourceList`), which kubectl accepts in place of aggregated
discovery. OpenAPI v3 serves the index and one document per group/version with, per kind, the
PATCH operation carrying `x-kubernetes-group-version-kind` and the `fieldValidation` parameter
(that is how kubectl learns the server validates fields itself) and the kind's schema as a
component (for `kubectl explain`). Strategic merge patch is deliberately not advertised there, so
kubectl builds strategic patches for core kinds from its compiled-in types.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from .patches import APPLY_PATCH, JSON_PATCH, MERGE_PATCH
from .registry import Registry
from .resources import ResourceType

MAJOR, MINOR = "1", "32"
GIT_VERSION = f"v{MAJOR}.{MINOR}.0"

VERSION = {
    "major": MAJOR,
    "minor": MINOR,
    "gitVersion": GIT_VERSION,
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}

# Schema component names of the built-in groups (the rest reverse their group name).
_COMPONENT_PREFIX = {
    "": "io.k8s.api.core",
    "coordination.k8s.io": "io.k8s.api.coordination",
    "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
}


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_entry(group: str, versions: list[str]) -> dict[str, Any]:
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def api_group_list(registry: Registry) -> dict[str, Any]:
    groups = [_group_entry(group, versions) for group, versions in registry.groups() if group]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, group: str) -> dict[str, Any] | None:
    for name, versions in registry.groups():
        if name == group and group:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)}
    return None


def api_resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    types = registry.resources(group, version)
    if not types:
        return None
    resources = [entry for rtype in types for entry in rtype.discovery_entry()]
    group_version = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


# -- OpenAPI v3 ----------------------------------------------------------------------------------


def _component_name(rtype: ResourceType) -> str:
    prefix = _COMPONENT_PREFIX.get(rtype.group) or ".".join(reversed(rtype.group.split(".")))
    return f"{prefix}.{rtype.version}.{rtype.kind}"


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _query(name: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}


_WRITE_PARAMETERS = [_query("dryRun"), _query("fieldManager"), _query("fieldValidation")]


def _operation(rtype: ResourceType, action: str, *, request_types: list[str] | None = None) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{_component_name(rtype)}"}
    operation: dict[str, Any] = {
        "operationId": f"{action}{rtype.kind}",
        "parameters": list(_WRITE_PARAMETERS) + ([_query("force")] if action == "patch" else []),
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": rtype.group, "version": rtype.version, "kind": rtype.kind},
    }
    if request_types:
        operation["requestBody"] = {"content": {media: {"schema": {"type": "object"}} for media in request_types},
                                    "required": True}
    return operation


def openapi_document(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    types = registry.resources(group, version)
    if not types:
        return None
    prefix = "/" + _gv_path(group, version)
    paths: dict[str, Any] = {}
    components: dict[str, Any] = {}
    for rtype in types:
        scope = f"{prefix}/namespaces/{{namespace}}/{rtype.plural}" if rtype.namespaced else f"{prefix}/{rtype.plural}"
        paths[scope] = {"get": _operation(rtype, "list"), "post": _operation(rtype, "post")}
        paths[f"{scope}/{{name}}"] = {
            "get": _operation(rtype, "get"),
            "put": _operation(rtype, "put"),
            "delete": _operation(rtype, "delete"),
            "patch": _operation(rtype, "patch", request_types=[JSON_PATCH, MERGE_PATCH, APPLY_PATCH]),
        }
        components[_component_name(rtype)] = {
            **rtype.schema,
            "x-kubernetes-group-version-kind": [{"group": rtype.group, "version": rtype.version, "kind": rtype.kind}],
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
        "components": {"schemas": components},
    }


class OpenApiCache:
    """Serialized OpenAPI documents and their hashes, rebuilt when the served types change."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._generation = -1
        self._documents: dict[str, tuple[bytes, str]] = {}

    def _refresh(self) -> None:
        if self._generation == self.registry.generation:
            return
        generation = self.registry.generation
        documents = {}
        for group, versions in self.registry.groups():
            for version in versions:
                document = openapi_document(self.registry, group, version)
                if document is not None:
                    body = json.dumps(document, separators=(",", ":")).encode()
                    documents[_gv_path(group, version)] = (body, hashlib.sha512(body).hexdigest().upper())
        self._documents, self._generation = documents, generation

    def index(self) -> dict[str, Any]:
        self._refresh()
        return {"paths": {path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
                          for path, (_, digest) in sorted(self._documents.items())}}

    def document(self, path: str) -> bytes | None:
        self._refresh()
        entry = self._documents.get(path)
        return entry[0] if entry else None
