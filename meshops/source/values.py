"""Layered values: `base` <- environment <- `--set`, deep-merged, checked, and traceable.

Maps merge key by key; lists and scalars from a later layer replace earlier ones (as Helm does,
since merging lists by position silently mixes two configurations). Every node of the merged
tree remembers the file and line that set it (`Values.origins`), which is how a finding on a
rendered field can name the values line to edit. The merged values are checked against the config
repo's `templates/values.schema.yaml` (JSON Schema) before rendering: a misspelled key is an
error at its line, not an empty string in the output.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator

import yaml

from ..schema import problems as schemacheck
from .envconfig import BASE_ENVIRONMENT, ENVIRONMENTS_DIR, TEMPLATES_DIR, VALUES_FILE
from ..model.errors import ConfigError, Location, UsageError
from .repo import Tree
from ..yamlio.documents import Document, Path, load_one

SCHEMA_FILE = f"{TEMPLATES_DIR}/values.schema.yaml"
_SET_SEGMENT = re.compile(r"(?:\\.|[^.\[\]])+|\[\d+\]")


@dataclass
class Layer:
    """One source of values: a file (with line map) or a `--set` argument."""

    label: str  # file path, or "--set key=value"
    data: dict[str, Any]
    document: Document | None = None

    def location(self, path: Path) -> Location:
        if self.document is None:
            return Location(self.label)
        return Location(self.label, self.document.line_of(path))


@dataclass
class Values:
    """Merged values plus where each node came from."""

    data: dict[str, Any]
    origins: dict[Path, Location] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def origin(self, path: Path) -> Location | None:
        probe = tuple(path)
        while probe:
            if probe in self.origins:
                return self.origins[probe]
            probe = probe[:-1]
        return None


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return override


def _paths(node: Any, path: Path) -> Iterator[Path]:
    """Every path in `node` (a layer without a line map: `--set`)."""
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, path + (index,))


def _record_origins(layers: list[Layer], origins: dict[Path, Location]) -> None:
    """Give every path of the merged tree the last layer that has it, at that layer's line.

    Maps merge key by key and a later list or scalar replaces an earlier one whole, so whichever
    layer has a merged path last is the one that set it (a list's items included). A path an
    earlier layer had and a later one replaced also gets an origin; nothing ever asks for it."""
    for layer in layers:
        if layer.document is None:
            origins.update((path, Location(layer.label)) for path in _paths(layer.data, ()) if path)
            continue
        label = layer.label
        origins.update((path, Location(label, line)) for path, line in layer.document.lines.items() if path)


def parse_set(argument: str) -> Layer:
    """`a.b[0].c=value` -> a one-key layer; the value is read as YAML (`true`, `5`, `[a, b]`)."""
    label = f"--set {argument}"
    key, sep, raw_value = argument.partition("=")
    segments = _SET_SEGMENT.findall(key)
    if not sep or not key or "".join(segments) != key.replace(".", ""):
        raise UsageError(f"cannot read {label!r}", hint="write --set path.to.key=value, e.g. --set services.reviews.version=v2")
    try:
        value = yaml.load(raw_value, Loader=yaml.CSafeLoader) if raw_value else ""
    except yaml.YAMLError:
        value = raw_value
    for segment in reversed(segments):
        if segment.startswith("["):
            raise UsageError(f"{label}: list indexes are not supported", hint="set the whole list: --set key=[a,b]")
        value = {segment.replace("\\.", "."): value}
    return Layer(label=label, data=value)


def _read_layer(tree: Tree, file: str, *, required: bool) -> Layer | None:
    raw = tree.read(file)
    if raw is None:
        if required:
            raise ConfigError("values file is missing", location=Location(file), hint="create it (it may be empty: {})")
        return None
    document = load_one(raw, filename=file)
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"values must be a mapping, not {type(data).__name__}",
            location=Location(file, document.start_line),
            hint="start the file with `key: value` lines",
        )
    return Layer(label=file, data=data, document=document)


def load_schema(tree: Tree) -> dict | None:
    """The config repo's values schema, or None when it has none."""
    raw = tree.read(SCHEMA_FILE)
    if raw is None:
        return None
    schema = load_one(raw, filename=SCHEMA_FILE).data
    if not isinstance(schema, dict):
        raise ConfigError("values schema must be a JSON Schema mapping", location=Location(SCHEMA_FILE, 1))
    return schema


def load_values(tree: Tree, environment: str, sets: list[str] | tuple[str, ...] = ()) -> Values:
    """Merge base, environment and `--set` layers and check them against the values schema."""
    layers = [
        layer
        for layer in (
            _read_layer(tree, f"{ENVIRONMENTS_DIR}/{BASE_ENVIRONMENT}/{VALUES_FILE}", required=False),
            _read_layer(tree, f"{ENVIRONMENTS_DIR}/{environment}/{VALUES_FILE}", required=True),
        )
        if layer is not None
    ]
    layers.extend(parse_set(argument) for argument in sets)
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = _merge(merged, layer.data)
    origins: dict[Path, Location] = {}
    _record_origins(layers, origins)
    values = Values(data=merged, origins=origins, files=[layer.label for layer in layers])
    schema = load_schema(tree)
    if schema is not None:
        for problem in schemacheck.check(merged, schema):
            where = values.origin(problem.path) or Location(layers[-1].label)
            dotted = ".".join(map(str, problem.path)) or "values"
            raise ConfigError(
                f"{dotted}: {problem.message}",
                location=where,
                hint=problem.hint or f"see {SCHEMA_FILE}",
            )
    return values
