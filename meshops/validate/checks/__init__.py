"""Cross-resource checks (MSH2xx mesh semantics, MSH3xx security, MSH4xx operability).

Validate builds one `MeshIndex` over the rendered objects (and live ones, when a cluster was
read) and runs every check in `CHECK_MODULES` against it. A check is a function
`check(context) -> Iterable[Finding]` listed in its module's `CHECKS`; it reports only on rendered
objects, through `Context.finding`, which takes the severity from the catalogue and the file:line
locations from the manifest. Adding a check is writing the function and adding it (and its
`Rule` row) to a module's tables.
"""
from __future__ import annotations

from typing import Any

from ...model.manifest import Manifest
from ...model.readscope import OFFLINE, LiveScope
from ...source.envconfig import EnvConfig
from ..findings import Finding
from ..index import MeshIndex
from . import conflicts, gateway_api, operability, references, route_rules, security, workloads
from .context import Context

# The check families, in the order their findings are reported; each declares `CHECKS`
# (functions) and `RULES` (their catalogue rows).
CHECK_MODULES = (references, route_rules, conflicts, workloads, security, operability, gateway_api)


def run_checks(
    manifests: list[Manifest], *, config: EnvConfig | None = None, live: list[dict] | None = None, schemas: Any = None,
    read_scope: LiveScope = OFFLINE,
) -> list[Finding]:
    """Every cross-resource finding for `manifests` (+ `live` objects as context, read within `read_scope`), in check order."""
    severities = {rule.code: rule.severity for module in CHECK_MODULES for rule in module.RULES}
    context = Context(index=MeshIndex(manifests, live, read_scope), config=config, schemas=schemas, severities=severities)
    findings: list[Finding] = []
    for module in CHECK_MODULES:
        for check in module.CHECKS:
            findings.extend(check(context))
    return findings
