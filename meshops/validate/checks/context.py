"""What every cross-resource check receives: the indexes, the environment, and how to report.

Check modules import this (never the registry in `checks/__init__`), so the registry can import
them without a cycle.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ...source.envconfig import EnvConfig
from ...yamlio.documents import Path
from ..findings import Finding, Severity
from ..index import Entry, MeshIndex


@dataclass
class Context:
    """What every check receives: the indexes and the environment's settings."""

    index: MeshIndex
    config: EnvConfig | None = None
    schemas: Any = None  # the SchemaSet, when schema checks run (knows which versions are deprecated)
    severities: Mapping[str, Severity] = field(default_factory=dict)  # code -> severity, from the check modules' RULES

    @property
    def production(self) -> bool:
        return bool(self.config and self.config.production)

    def finding(self, code: str, entry: Entry, path: Path, message: str) -> Finding:
        """A finding on a rendered object, at `path`, with the severity its rule row gives `code`."""
        assert entry.manifest is not None, "checks report on rendered objects only"
        path = tuple(path)
        return Finding(
            code=code,
            severity=self.severities[code],
            message=message,
            object=entry.manifest.key,
            path=path,
            locations=entry.manifest.locate(path),
        )


def quoted(names: Iterable[str]) -> str:
    """`a`, `b` and `c` for messages."""
    items = [f"`{name}`" for name in names]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
