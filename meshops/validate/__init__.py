"""Third stage: validate what render produced (or `-f` files) before anything touches a cluster.

`validate(manifests, schemas=, config=, live=)` returns every finding, in a stable order:
1. schema checks (MSH1xx) against a `SchemaSet` when one is given;
2. cross-resource checks (MSH2xx routing, MSH3xx security, MSH4xx operability) over indexes of the
   rendered objects plus, when a cluster was read, its live objects (`live`: plain object dicts as
   the API server lists them, Pods included for the subset and selector checks; `read_scope` says where
   pods and Secrets were read, so "matches nothing" is reported only where it was looked for);
3. suppressions (object annotations and meshops.yaml `suppress:`), which mark findings as accepted.

It is pure: no files, no cluster, no printing. Diff and apply call it and stop on `has_errors`.
"""
from __future__ import annotations

from typing import Any, Iterable

from ..source.envconfig import EnvConfig
from ..model.manifest import Manifest
from ..model.readscope import OFFLINE, LiveScope
from ..yamlio.gcpause import paused_gc
from .findings import Finding, Severity, has_errors

__all__ = ["Finding", "Severity", "has_errors", "sort_findings", "validate"]


def validate(
    manifests: Iterable[Manifest],
    *,
    schemas: Any = None,
    config: EnvConfig | None = None,
    live: list[dict] | None = None,
    read_scope: LiveScope = OFFLINE,
) -> list[Finding]:
    """Every finding for `manifests` (see module docstring); `schemas` is a `SchemaSet` or None."""
    from .catalogue import catalogue
    from .checks import run_checks
    from .suppress import apply_suppressions

    manifests = list(manifests)
    findings: list[Finding] = []
    # Indexes and findings are acyclic; without the pause, collections walking every input object
    # made 10,000 services cost 1.2-1.4x more per object than 1,000 (benchmarks/validate.py).
    with paused_gc():
        if schemas is not None:
            from .schema_checks import check_schemas

            findings.extend(check_schemas(manifests, schemas))
        findings.extend(run_checks(manifests, config=config, live=live, schemas=schemas, read_scope=read_scope))
        findings.extend(apply_suppressions(findings, manifests=manifests, config=config, known=catalogue()))
    return sort_findings(findings)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """File, line, then code: the order a person fixes things in, identical for identical input."""

    def key(finding: Finding) -> tuple:
        location = finding.location
        return (
            location.file if location else "",
            location.line or 0 if location else 0,
            finding.code,
            str(finding.object or ""),
            finding.json_path,
            finding.message,
        )

    return sorted(findings, key=key)
