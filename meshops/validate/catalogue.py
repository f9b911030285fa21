"""The finding catalogue: every code meshops can report, its default severity and a title.

Rows live next to the checks that emit them (`RULES` in each module below), so a check and its
code are added together; this module collects them into one table for the report, suppression
(unknown codes are reported) and documentation. Adding a family of checks is adding a module name
to `RULE_MODULES`; a code declared twice is a bug and fails loudly.
"""
from __future__ import annotations

import importlib
from functools import lru_cache

from .findings import Rule

# Modules that declare `RULES: tuple[Rule, ...]`.
RULE_MODULES: tuple[str, ...] = (
    "meshops.validate.schema_checks",  # MSH1xx, the schema checks
    "meshops.validate.checks.references",
    "meshops.validate.checks.route_rules",
    "meshops.validate.checks.conflicts",
    "meshops.validate.checks.security",
    "meshops.validate.checks.operability",
    "meshops.validate.suppress",
)


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Rule]:
    """Every rule by code, in code order."""
    rows: dict[str, Rule] = {}
    for module_name in RULE_MODULES:
        module = importlib.import_module(module_name)
        for rule in module.RULES:
            if rule.code in rows:
                raise RuntimeError(f"finding code {rule.code} is declared twice (again in {module_name})")
            rows[rule.code] = rule
    return dict(sorted(rows.items()))


def rule(code: str) -> Rule:
    """The catalogue row for `code` (a code missing from the catalogue is a bug in a check)."""
    return catalogue()[code]
