"""Suppressions: the last step of validate, after every check has run.

A finding someone has decided to live with is kept (reports show it dimmed, JSON marks it) but no
longer counts as an error. Two places say so, each with a reason:

- on the object, `metadata.annotations["meshops.dev/suppress"]: "MSH201,MSH305: why"` (several
  entries separated by `;`), for findings on that object;
- in the environment's meshops.yaml, `suppress: [{code, kind?, name?, namespace?, reason}]`
  (`code` and `name` may use `*` wildcards), for findings in that environment.

A suppression that cannot work (no reason, a code that does not exist) is itself reported (MSH404),
so a typo does not silently keep a finding alive.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Collection, Iterable

from ..source.envconfig import EnvConfig
from ..model.errors import Location
from ..model.manifest import Manifest, ObjectKey
from .findings import Finding, Rule, Severity

SUPPRESS_ANNOTATION = "meshops.dev/suppress"

RULES = (Rule("MSH404", Severity.WARNING, "Suppression that cannot take effect (no reason, unknown code)"),)

# A code (MSH201) or a pattern of codes (MSH2*).
_CODE = re.compile(r"^[A-Z*?][A-Z0-9*?]*$")


@dataclass(frozen=True)
class Suppression:
    """One rule of the form: findings with these codes (on this object / matching these fields) are accepted."""

    codes: tuple[str, ...]
    reason: str
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    key: ObjectKey | None = None  # set for annotations: only findings on that object

    def matches(self, finding: Finding) -> bool:
        if not any(fnmatchcase(finding.code, code) for code in self.codes):
            return False
        target = finding.object
        if self.key is not None:
            return target == self.key
        if target is None:
            return self.kind is None and self.name is None and self.namespace is None
        return (
            (self.kind is None or self.kind.lower() == target.kind.lower())
            and (self.name is None or fnmatchcase(target.name, self.name))
            and (self.namespace is None or self.namespace == target.namespace)
        )


def parse_annotation(value: str) -> list[tuple[list[str], str]]:
    """`"MSH201,MSH305: reason; MSH402: other reason"` -> [([codes], reason), ...]; ValueError if malformed."""
    entries = []
    for part in value.split(";"):
        if not part.strip():
            continue
        codes_text, separator, reason = part.partition(":")
        codes = [code.strip().upper() for code in codes_text.split(",") if code.strip()]
        if not separator or not reason.strip():
            raise ValueError(f"{part.strip()!r} has no reason: write `CODE[,CODE]: why this is acceptable`")
        if not codes or not all(_CODE.match(code) for code in codes):
            raise ValueError(f"{codes_text.strip()!r} is not a list of finding codes such as MSH201,MSH305")
        entries.append((codes, reason.strip()))
    return entries


def _unknown_codes(codes: Iterable[str], known: Collection[str]) -> list[str]:
    return [code for code in codes if not any(fnmatchcase(known_code, code) for known_code in known)]


def _problem(message: str, *, key: ObjectKey | None, locations: list[Location], path: tuple = ()) -> Finding:
    return Finding(code="MSH404", severity=Severity.WARNING, message=message, object=key, path=path, locations=locations)


def _from_annotations(manifests: Iterable[Manifest], known: Collection[str]) -> tuple[list[Suppression], list[Finding]]:
    suppressions: list[Suppression] = []
    problems: list[Finding] = []
    path = ("metadata", "annotations", SUPPRESS_ANNOTATION)
    for manifest in manifests:
        metadata = manifest.obj.get("metadata")
        annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
        value = annotations.get(SUPPRESS_ANNOTATION) if isinstance(annotations, dict) else None
        if value is None:
            continue
        try:
            entries = parse_annotation(str(value))
        except ValueError as error:
            problems.append(_problem(f"suppression ignored: {error}", key=manifest.key, locations=manifest.locate(path), path=path))
            continue
        for codes, reason in entries:
            for code in _unknown_codes(codes, known):
                problems.append(_problem(
                    f"suppression names {code}, which is no meshops finding code (see `meshops validate --list-codes`)",
                    key=manifest.key, locations=manifest.locate(path), path=path,
                ))
            suppressions.append(Suppression(codes=tuple(codes), reason=reason, key=manifest.key))
    return suppressions, problems


def _from_config(config: EnvConfig | None, known: Collection[str]) -> tuple[list[Suppression], list[Finding]]:
    rows: Any = config.section("suppress") if config else None
    suppressions: list[Suppression] = []
    problems: list[Finding] = []
    for row_index, row in enumerate(rows or ()):
        code = str(row["code"]).upper()
        for unknown in _unknown_codes([code], known):
            problems.append(_problem(
                f"suppression names {unknown}, which is no meshops finding code (see `meshops validate --list-codes`)",
                key=None, locations=[config.location("suppress", row_index, "code")],
            ))
        suppressions.append(Suppression(
            codes=(code,), reason=str(row["reason"]), kind=row.get("kind"), name=row.get("name"), namespace=row.get("namespace"),
        ))
    return suppressions, problems


def apply_suppressions(findings: list[Finding], *, manifests: Iterable[Manifest], config: EnvConfig | None,
                       known: Collection[str]) -> list[Finding]:
    """Mark suppressed findings in place (`suppressed_by` = the reason); return MSH404 findings to add."""
    from_annotations, problems = _from_annotations(manifests, known)
    from_config, config_problems = _from_config(config, known)
    by_key: dict[ObjectKey, list[Suppression]] = {}
    for suppression in from_annotations:
        by_key.setdefault(suppression.key, []).append(suppression)
    for finding in findings:
        candidates = by_key.get(finding.object, []) if finding.object is not None else []
        for suppression in (*candidates, *from_config):
            if suppression.matches(finding):
                finding.suppressed_by = suppression.reason
                break
    return problems + config_problems
