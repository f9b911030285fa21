"""The finding catalogue: every code meshops can report, its default severity and a title.

Rows live next to the checks that emit them (`RULES` in each module below), so a check and its
code are added together; this module collects them into one table for the report, suppression
(unknown codes are reported) and documentation. Adding a family of checks is adding its module to
`checks.CHECK_MODULES`; a code declared twice is a bug and fails loudly.
"""
from __future__ import annotations

from functools import lru_cache

from . import schema_checks, suppress
from .checks import CHECK_MODULES
from .findings import Rule

# Modules that declare `RULES: tuple[Rule, ...]`: the schema checks (MSH1xx), every check family,
# and suppression's own codes.
RULE_MODULES = (schema_checks, *CHECK_MODULES, suppress)


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Rule]:
    """Every rule by code, in code order."""
    rows: dict[str, Rule] = {}
    for module in RULE_MODULES:
        for rule in module.RULES:
            if rule.code in rows:
                raise RuntimeError(f"finding code {rule.code} is declared twice (again in {module.__name__})")
            rows[rule.code] = rule
    return dict(sorted(rows.items()))


def rule(code: str) -> Rule:
    """The catalogue row for `code` (a code missing from the catalogue is a bug in a check)."""
    return catalogue()[code]
