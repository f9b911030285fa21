"""Where validate gets its schemas: `SchemaSet`, one interface over three sources.

- `SchemaSet.shipped()`: the Istio and Gateway API kinds meshops ships (one DSL module per kind,
  written from the Istio and Gateway API references), for offline validation;
- `SchemaSet.from_crd_documents(docs)` / `from_crd_files(paths)`: CRDs given with `--crds` or kept
  in the config repo's `crds/` (what `meshops crds pull` saves);
- `SchemaSet.from_crds(crds)`: a cluster's own CRDs, read by the cluster client.

Validation asks it `schema_for(api_version, kind)` (an `openAPIV3Schema`, or None), which versions
a kind is served at, and whether a version is deprecated (MSH4xx). `overlay` lets a partial source
(a cluster without Telemetry, a `--crds` file with one kind) fall back to another.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Iterable

from ...model import kinds as kind_table
from .authorizationpolicy import AUTHORIZATION_POLICY
from .crd import ServedKind, crd_documents, served_kind, to_crd
from .destinationrule import DESTINATION_RULE
from .dsl import KindSchema
from .envoyfilter import ENVOY_FILTER
from .extensions import TRAFFIC_EXTENSION, WASM_PLUGIN
from .gateway import GATEWAY
from .gatewayapi_gateway import K8S_GATEWAY
from .gatewayclass import GATEWAY_CLASS
from .grpcroute import GRPC_ROUTE
from .httproute import HTTP_ROUTE
from .peerauthentication import PEER_AUTHENTICATION
from .proxyconfig import PROXY_CONFIG
from .referencegrant import REFERENCE_GRANT
from .requestauthentication import REQUEST_AUTHENTICATION
from .serviceentry import SERVICE_ENTRY
from .sidecar import SIDECAR
from .telemetry import TELEMETRY
from .virtualservice import VIRTUAL_SERVICE
from .workloadentry import WORKLOAD_ENTRY
from .workloadgroup import WORKLOAD_GROUP

# Every kind meshops ships a schema for, in the order `meshops crds export` prints them.
SHIPPED_KINDS: tuple[KindSchema, ...] = (
    SERVICE_ENTRY,
    WORKLOAD_ENTRY,
    WORKLOAD_GROUP,
    DESTINATION_RULE,
    GATEWAY,
    SIDECAR,
    PROXY_CONFIG,
    VIRTUAL_SERVICE,
    ENVOY_FILTER,
    PEER_AUTHENTICATION,
    REQUEST_AUTHENTICATION,
    AUTHORIZATION_POLICY,
    WASM_PLUGIN,
    TRAFFIC_EXTENSION,
    TELEMETRY,
    # The Gateway API (gateway.networking.k8s.io, standard channel), installed next to Istio's.
    GATEWAY_CLASS,
    REFERENCE_GRANT,
    K8S_GATEWAY,
    HTTP_ROUTE,
    GRPC_ROUTE,
)

# Kubernetes version names: v1 > v1beta2 > v1beta1 > v1alpha1 (GA, then beta, then alpha).
_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")
_STABILITY = {None: 2, "beta": 1, "alpha": 0}


def version_priority(version: str) -> tuple[int, int, int]:
    """Sort key for API versions, most stable and newest highest (unknown shapes lowest)."""
    match = _VERSION.match(version)
    if not match:
        return (-1, 0, 0)
    major, stability, minor = match.groups()
    return (_STABILITY[stability], int(major), int(minor or 0))


def field_paths(schema: dict[str, Any]) -> dict[str, list[str]]:
    """Every property name in `schema` -> the dotted paths where it is declared (`spec.trafficPolicy.tls`)."""
    found: dict[str, list[str]] = {}

    def walk(node: Any, path: str) -> None:
        if not isinstance(node, dict):
            return
        for name, sub in (node.get("properties") or {}).items():
            child = f"{path}.{name}" if path else name
            found.setdefault(name, []).append(child)
            walk(sub, child)
        if isinstance(node.get("items"), dict):
            walk(node["items"], path + "[]")
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], path + ".*")

    walk(schema, "")
    return found


class SchemaSet:
    """The kinds one schema source serves, by (group, kind)."""

    def __init__(self, served: Iterable[ServedKind], *, source: str) -> None:
        self.source = source
        self._kinds: dict[tuple[str, str], ServedKind] = {}
        for kind in served:
            self._kinds[(kind.group, kind.kind)] = kind
        self._groups = {group for group, _ in self._kinds}
        self._field_paths: dict[int, dict[str, list[str]]] = {}

    # --- constructors ---------------------------------------------------------------------------

    @classmethod
    def shipped(cls) -> "SchemaSet":
        """The schemas meshops ships (built once per process; callers must not modify them)."""
        return _shipped()

    @classmethod
    def from_crds(cls, crds: Iterable[dict[str, Any]], *, source: str = "cluster") -> "SchemaSet":
        """CRD dicts, e.g. as a cluster lists them (`apiextensions.k8s.io/v1`)."""
        return cls((served_kind(crd, source=source) for crd in crds), source=source)

    @classmethod
    def from_crd_documents(cls, documents: Iterable[Any], *, source: str) -> "SchemaSet":
        """Parsed YAML documents of `--crds` files: CRDs and `List`s of them; other kinds are skipped."""
        return cls.from_crds(crd_documents(documents), source=source)

    @classmethod
    def from_crd_files(cls, paths: Iterable[str]) -> "SchemaSet":
        """CRDs from files or directories (`--crds PATH`, the repo's `crds/`); broken YAML is a ConfigError."""
        from ...yamlio.files import read_yaml_documents, yaml_files

        files = yaml_files(list(paths))
        documents = [document.data for path in files for document in read_yaml_documents(path)]
        crds = crd_documents(documents)
        if not crds:
            from ...model.errors import ConfigError

            raise ConfigError(
                f"no CustomResourceDefinition in {', '.join(files) or ', '.join(map(str, paths))}",
                hint="pass CRD files (kubectl get crd -o yaml, or `meshops crds pull`)",
            )
        return cls.from_crds(crds, source=", ".join(files))

    def overlay(self, fallback: "SchemaSet") -> "SchemaSet":
        """This set, plus the kinds only `fallback` serves (a cluster without Telemetry, a partial --crds)."""
        merged = SchemaSet(list(fallback._kinds.values()), source=f"{self.source} + {fallback.source}")
        merged._kinds.update(self._kinds)
        merged._groups = {group for group, _ in merged._kinds}
        return merged

    # --- questions validate asks ----------------------------------------------------------------

    def served_kind(self, group: str, kind: str) -> ServedKind | None:
        return self._kinds.get((group, kind))

    def serves_group(self, group: str) -> bool:
        """True when this source knows the API group (an unknown kind in it is then a typo, not a custom CRD)."""
        return group in self._groups

    def kinds_in_group(self, group: str) -> list[str]:
        return sorted(kind for (g, kind) in self._kinds if g == group)

    def served_versions(self, group: str, kind: str) -> tuple[str, ...]:
        """Versions of a kind this source serves, most stable first (empty when it does not serve it)."""
        served = self._kinds.get((group, kind))
        return tuple(sorted(served.schemas, key=version_priority, reverse=True)) if served else ()

    def schema_for(self, api_version: str, kind: str) -> dict[str, Any] | None:
        """The `openAPIV3Schema` for objects of this apiVersion and kind, or None if not served (or schemaless)."""
        group, version = kind_table.split_api_version(api_version)
        served = self._kinds.get((group, kind))
        return served.schemas.get(version) if served else None

    def deprecation(self, api_version: str, kind: str) -> str | None:
        """Why this apiVersion should not be used any more, or None (the CRD says so, or a GA version exists)."""
        group, version = kind_table.split_api_version(api_version)
        served = self._kinds.get((group, kind))
        if not served or version not in served.schemas:
            return None
        if version in served.deprecation_warnings:
            return served.deprecation_warnings[version]
        best = self.served_versions(group, kind)[0]
        if best != version and version_priority(best)[0] == _STABILITY[None] and version_priority(version) < version_priority(best):
            return f"{api_version} {kind} is superseded by {group}/{best}; change apiVersion to {group}/{best}"
        return None

    def field_paths(self, schema: dict[str, Any]) -> dict[str, list[str]]:
        """`field_paths(schema)`, cached per schema (for "this field belongs under …" hints)."""
        paths = self._field_paths.get(id(schema))
        if paths is None:
            paths = self._field_paths[id(schema)] = field_paths(schema)
        return paths

    def __len__(self) -> int:
        return len(self._kinds)

    def __repr__(self) -> str:
        return f"SchemaSet({self.source!r}, {len(self._kinds)} kinds)"


@lru_cache(maxsize=1)
def _shipped() -> SchemaSet:
    return SchemaSet.from_crds([to_crd(kind) for kind in SHIPPED_KINDS], source="shipped")


def shipped_crds(group: str | None = None) -> list[dict[str, Any]]:
    """What `meshops crds export` prints: the shipped kinds as CRDs, optionally of one API group.

    Deep copies (through JSON) so no node is shared: YAML output has no anchors, callers may edit.
    """
    return json.loads(json.dumps([to_crd(kind) for kind in SHIPPED_KINDS if group in (None, kind.group)]))
