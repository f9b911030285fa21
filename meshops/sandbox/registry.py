"""Which resources are served right now: the core table plus every established CRD.

Routing, discovery and OpenAPI read the registry; the write path updates it when a CRD is
created, changed or deleted, so a new kind appears in `/apis` the moment its CRD is stored, as in
a real cluster. Readers get immutable snapshots (the maps are replaced, never edited in place), so
request threads need no lock to read.
"""
from __future__ import annotations

import threading
from typing import Any

from . import crds
from .builtin import BUILTIN_TYPES
from .resources import ResourceType, version_priority


class Registry:
    """Served resource types by (group, version, plural) and by CRD name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._crd_types: dict[str, list[ResourceType]] = {}
        self._by_path: dict[tuple[str, str, str], ResourceType] = {}
        self._rebuild()

    def _rebuild(self) -> None:
        types = list(BUILTIN_TYPES) + [t for group in self._crd_types.values() for t in group]
        self._by_path = {(t.group, t.version, t.plural): t for t in types}
        # Rebuilt together with _by_path so a change of version set also changes the OpenAPI hash.
        self.generation = getattr(self, "generation", 0) + 1

    def resolve(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def all_types(self) -> list[ResourceType]:
        return list(self._by_path.values())

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for rtype in self._by_path.values():
            if rtype.group == group and rtype.version == version and rtype.kind == kind:
                return rtype
        return None

    def storage_type(self, group: str, plural: str) -> ResourceType | None:
        """The type in whose version objects of (group, plural) are stored."""
        for rtype in self._by_path.values():
            if rtype.group == group and rtype.plural == plural and rtype.version == rtype.storage_version:
                return rtype
        return None

    def groups(self) -> list[tuple[str, list[str]]]:
        """(group, versions most preferred first) for every served group, core groups first."""
        versions: dict[str, set[str]] = {}
        for rtype in self._by_path.values():
            versions.setdefault(rtype.group, set()).add(rtype.version)
        builtin = [t.group for t in BUILTIN_TYPES]
        order = sorted(versions, key=lambda g: (g not in builtin, builtin.index(g) if g in builtin else 0, g))
        return [(group, sorted(versions[group], key=version_priority)) for group in order]

    def resources(self, group: str, version: str) -> list[ResourceType]:
        return sorted((t for t in self._by_path.values() if t.group == group and t.version == version),
                      key=lambda t: t.plural)

    def install(self, crd: dict[str, Any]) -> None:
        """Serve the versions of a stored CRD (replacing what an earlier version of it served)."""
        types = crds.types_of(crd)
        with self._lock:
            self._crd_types[crd["metadata"]["name"]] = types
            self._rebuild()

    def remove(self, crd_name: str) -> None:
        with self._lock:
            if self._crd_types.pop(crd_name, None) is not None:
                self._rebuild()
