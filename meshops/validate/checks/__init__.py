"""Cross-resource checks (MSH2xx mesh semantics, MSH3xx security, MSH4xx operability).

Validate builds one `MeshIndex` over the rendered objects (and live ones, when a cluster was
read) and runs every check in `CHECK_MODULES` against it. A check is a function
`check(context) -> Iterable[Finding]` listed in its module's `CHECKS`; it reports only on rendered
objects, through `Context.finding`, which takes the severity from the catalogue and the file:line
locations from the manifest. Adding a check is writing the function and adding it (and its
`Rule` row) to a module's tables.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Iterable

from ...source.envconfig import EnvConfig
from ...model.manifest import Manifest
from ...yamlio.documents import Path
from ..catalogue import rule
from ..findings import Finding
from ..index import Entry, MeshIndex

# Modules that declare `CHECKS` (functions) and `RULES` (their catalogue rows).
CHECK_MODULES: tuple[str, ...] = (
    "meshops.validate.checks.references",
    "meshops.validate.checks.route_rules",
    "meshops.validate.checks.conflicts",
    "meshops.validate.checks.security",
    "meshops.validate.checks.operability",
)


@dataclass
class Context:
    """What every check receives: the indexes and the environment's settings."""

    index: MeshIndex
    config: EnvConfig | None = None
    schemas: Any = None  # the SchemaSet, when schema checks run (knows which versions are deprecated)

    @property
    def production(self) -> bool:
        return bool(self.config and self.config.production)

    def finding(self, code: str, entry: Entry, path: Path, message: str) -> Finding:
        """A finding on a rendered object, at `path`, with the catalogue's severity for `code`."""
        assert entry.manifest is not None, "checks report on rendered objects only"
        path = tuple(path)
        return Finding(
            code=code,
            severity=rule(code).severity,
            message=message,
            object=entry.manifest.key,
            path=path,
            locations=entry.manifest.locate(path),
        )


def run_checks(
    manifests: list[Manifest], *, config: EnvConfig | None = None, live: list[dict] | None = None, schemas: Any = None
) -> list[Finding]:
    """Every cross-resource finding for `manifests` (+ `live` objects as context), in check order."""
    context = Context(index=MeshIndex(manifests, live), config=config, schemas=schemas)
    findings: list[Finding] = []
    for module_name in CHECK_MODULES:
        for check in importlib.import_module(module_name).CHECKS:
            findings.extend(check(context))
    return findings


def quoted(names: Iterable[str]) -> str:
    """`a`, `b` and `c` for messages."""
    items = [f"`{name}`" for name in names]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
