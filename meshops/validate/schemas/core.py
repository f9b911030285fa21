"""Core Kubernetes kinds (Service, Namespace, ConfigMap …) checked with the JSON schemas that the
`kubernetes-validate` package bundles, offline.

We use the package's data, not its `validate()` call: that call recompiles the schema every time
(about 7 ms an object, 70 s for 10,000 Services) and stops at the first error. Here each kind's
validator is compiled once, on first use, and reports every problem the way the Istio checks do.
A valid object (the common case) is confirmed by a compiled validator (fastjsonschema, cached on
disk like the Istio ones) made from the kind's schema with its definitions inlined, ~30x faster;
only an invalid one pays for jsonschema's complete error list.
A kind the package has no schema for is "unknown" (None), exactly like its SchemaNotFoundError.
"""
from __future__ import annotations

import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...schema.compiled import FastValidators

_SCHEMA_DIR = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-local-strict$")


def _package_directory() -> Path | None:
    """Where kubernetes-validate is installed, found without importing it (its import pulls in jsonschema)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    return Path(list(spec.submodule_search_locations)[0]) if spec and spec.submodule_search_locations else None


def _bundled_versions() -> dict[tuple[int, int], str]:
    package = _package_directory()
    try:
        root = package / "kubernetes-json-schema"
        names = [entry.name for entry in root.iterdir()]
    except (TypeError, FileNotFoundError, NotADirectoryError):
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
        self._fast = FastValidators()
        self._known: dict[tuple[str, str], bool] = {}
        self._registry: Any = None
        self._definitions: dict[str, Any] | None = None

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
            self._directory = _package_directory() / "kubernetes-json-schema" / bundled[wanted]
        return self._directory

    def has_schema(self, api_version: str, kind: str) -> bool:
        """Whether a bundled schema exists for this core kind (else it is "unknown", as in kubernetes-validate)."""
        key = (api_version, kind)
        if key not in self._known:
            directory = self._schema_directory()
            self._known[key] = bool(directory) and directory.joinpath(f"{_file_stem(api_version, kind)}.json").is_file()
        return self._known[key]

    def validator(self, api_version: str, kind: str) -> Any | None:
        """A jsonschema validator for this core kind, or None when no bundled schema exists."""
        key = (api_version, kind)
        if key not in self._validators:
            schema = self._schema(api_version, kind)
            self._validators[key] = self._compile(schema, self._schema_directory()) if schema is not None else None
        return self._validators[key]

    def _schema(self, api_version: str, kind: str) -> dict[str, Any] | None:
        if not self.has_schema(api_version, kind):
            return None
        return json.loads(self._schema_directory().joinpath(f"{_file_stem(api_version, kind)}.json").read_text())

    def fast_validator(self, api_version: str, kind: str) -> Any | None:
        """A compiled validator that confirms a valid object of this kind (raises on an invalid one),
        or None when there is none (yet): then `validator` decides alone."""
        return self._fast.get((api_version, kind), lambda: self.inlined_schema(api_version, kind))

    def inlined_schema(self, api_version: str, kind: str) -> dict[str, Any] | None:
        """The kind's schema with its definitions inlined (what the compiled validator is made from), or None."""
        schema = self._schema(api_version, kind)
        if schema is None:
            return None
        if self._definitions is None:
            self._definitions = json.loads(self._schema_directory().joinpath("_definitions.json").read_text())["$defs"]
        return inline_definitions(schema, self._definitions)

    def _compile(self, schema: dict[str, Any], directory: Any) -> Any:
        import jsonschema
        from referencing import Registry, Resource

        if self._registry is None:
            definitions = json.loads(directory.joinpath("_definitions.json").read_text())
            self._registry = Registry().with_resource(definitions["$id"], Resource.from_contents(definitions))
        registry = self._registry.with_resource(schema.get("$id", "urn:meshops:core"), Resource.from_contents(schema))
        return jsonschema.Draft202012Validator(schema, registry=registry)


_REF_PREFIX = re.compile(r"^(?:/api/_definitions\.json)?#/\$defs/")
# Keywords jsonschema treats as annotations here (no format checker is given), so the compiled
# validator must not check them either, or it would refuse what jsonschema accepts.
_ANNOTATIONS = frozenset({"format", "description", "$schema", "$id", "x-kubernetes-group-version-kind"})


def inline_definitions(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """`schema` as one self-contained document: every definition it reaches written in place of its
    `$ref` (a compiled validator checks inline schemas much faster than it calls referenced ones),
    except where a definition refers to itself, which stays a local `$ref` into `$defs`."""
    needed: dict[str, Any] = {}

    def expand(node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [expand(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        reference = node.get("$ref")
        if isinstance(reference, str) and _REF_PREFIX.match(reference):
            name = _REF_PREFIX.sub("", reference)
            if name not in stack:
                siblings = {key: value for key, value in node.items() if key != "$ref" and key not in _ANNOTATIONS}
                inlined = expand(definitions[name], stack + (name,))
                return {**inlined, **expand(siblings, stack)} if siblings else inlined
            if name not in needed:
                needed[name] = None
                needed[name] = expand(definitions[name], (name,))
            return {"$ref": f"#/$defs/{name}"}
        copied = {}
        for key, value in node.items():
            if key in ("properties", "patternProperties") and isinstance(value, dict):
                copied[key] = {name: expand(sub, stack) for name, sub in value.items()}  # property names, not keywords
            elif key not in _ANNOTATIONS:
                copied[key] = expand(value, stack)
        return copied

    bundled = expand(schema, ())
    if needed:
        bundled["$defs"] = needed
    return bundled
