"""Core Kubernetes kinds (Service, Namespace, ConfigMap …) checked with the JSON schemas that the
`kubernetes-validate` package bundles, offline.

We use the package's data, not its `validate()` call: that call recompiles the schema every time
(about 7 ms an object, 70 s for 10,000 Services) and stops at the first error. Here each kind's
validator is compiled once, on first use, and reports every problem the way the Istio checks do.
A kind the package has no schema for is "unknown" (None), exactly like its SchemaNotFoundError.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

_SCHEMA_DIR = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-local-strict$")


def _bundled_versions() -> dict[tuple[int, int], str]:
    try:
        root = resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
        names = [entry.name for entry in root.iterdir()]
    except (ModuleNotFoundError, FileNotFoundError):
        return {}
    found = {}
    for name in names:
        match = _SCHEMA_DIR.match(name)
        if match:
            found[(int(match.group(1)), int(match.group(2)))] = name
    return found


def _file_stem(api_version: str, kind: str) -> str:
    """`apps/v1` Deployment -> `deployment-apps-v1`; `v1` Service -> `service-v1` (the package's naming)."""
    group, _, version = api_version.rpartition("/")
    prefix = f"{group.split('.')[0]}-" if group else ""
    return f"{kind.lower()}-{prefix}{version}"


@lru_cache(maxsize=4)
def core_schemas(version: str | None = None) -> "CoreSchemas":
    """One `CoreSchemas` per Kubernetes version per process (the definitions file is 1.3 MB)."""
    return CoreSchemas(version)


class CoreSchemas:
    """Compiled validators for core kinds of one Kubernetes minor version (newest bundled by default)."""

    def __init__(self, version: str | None = None) -> None:
        self.requested = version
        self._directory: Any = None
        self._validators: dict[tuple[str, str], Any] = {}
        self._registry: Any = None

    def _schema_directory(self) -> Any:
        if self._directory is None:
            bundled = _bundled_versions()
            if not bundled:
                self._directory = False
                return False
            wanted = max(bundled)
            if self.requested:
                match = re.match(r"^v?(\d+)\.(\d+)", self.requested)
                if match:
                    minor = (int(match.group(1)), int(match.group(2)))
                    older = [v for v in bundled if v <= minor]
                    wanted = max(older) if older else min(bundled)
            self._directory = resources.files("kubernetes_validate").joinpath("kubernetes-json-schema", bundled[wanted])
        return self._directory

    def validator(self, api_version: str, kind: str) -> Any | None:
        """A jsonschema validator for this core kind, or None when no bundled schema exists."""
        key = (api_version, kind)
        if key in self._validators:
            return self._validators[key]
        directory = self._schema_directory()
        validator = None
        if directory:
            path = directory.joinpath(f"{_file_stem(api_version, kind)}.json")
            if path.is_file():
                validator = self._compile(json.loads(path.read_text()), directory)
        self._validators[key] = validator
        return validator

    def _compile(self, schema: dict[str, Any], directory: Any) -> Any:
        import jsonschema
        from referencing import Registry, Resource

        if self._registry is None:
            definitions = json.loads(directory.joinpath("_definitions.json").read_text())
            self._registry = Registry().with_resource(definitions["$id"], Resource.from_contents(definitions))
        registry = self._registry.with_resource(schema.get("$id", "urn:meshops:core"), Resource.from_contents(schema))
        return jsonschema.Draft202012Validator(schema, registry=registry)
