"""Manifests: the objects that flow from render through validate, diff and apply.

A `Manifest` is a Kubernetes object (plain dict, as JSON would give it) plus a `SourceMap` that
answers "which file and line must a person edit to change the field at this JSON path?". For a
rendered object that is the template line and the values lines behind it; for a manifest file read
with `-f`, the line in that file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from . import kinds
from .errors import Location
from ..yamlio.documents import Document, Path


@dataclass(frozen=True, order=True)
class ObjectKey:
    """Identity of an object in a cluster: group, kind, namespace ('' if cluster-scoped), name."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


def key_of(obj: dict) -> ObjectKey:
    """The identity of a Kubernetes object dict (tolerates missing fields: validate reports them)."""
    api_version = obj.get("apiVersion") if isinstance(obj.get("apiVersion"), str) else ""
    group, _ = kinds.split_api_version(api_version)
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return ObjectKey(
        group=group,
        kind=str(obj.get("kind") or ""),
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name") or ""),
    )


class SourceMap(Protocol):
    """Where the fields of one object come from."""

    def locate(self, path: Path) -> list[Location]:
        """Places to edit for the field at `path`, most specific first (never empty)."""
        ...


@dataclass
class FileSource:
    """A manifest read from a file as it is: every path maps to a line in that file."""

    file: str
    document: Document

    def locate(self, path: Path) -> list[Location]:
        return [Location(self.file, self.document.line_of(path))]


@dataclass
class Manifest:
    """One desired object and where it came from.

    Its identity (`key`: group, kind, namespace, name) is read from `obj` once, when first asked
    for: an object does not change its identity once it is a Manifest (render stamps the default
    namespace before making one).
    """

    obj: dict[str, Any]
    source: SourceMap
    _key: ObjectKey | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def key(self) -> ObjectKey:
        if self._key is None:
            self._key = key_of(self.obj)
        return self._key

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion") or "")

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def namespace(self) -> str:
        return self.key.namespace

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.obj.get("spec")
        return spec if isinstance(spec, dict) else {}

    def locate(self, path: Path = ()) -> list[Location]:
        """See `SourceMap.locate`."""
        return self.source.locate(tuple(path))

    def location(self, path: Path = ()) -> Location:
        """The single most specific place to edit for `path`."""
        return self.locate(path)[0]
