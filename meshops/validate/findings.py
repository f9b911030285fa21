"""What validation produces: findings with a stable code, a severity, the object, the field path,
a message that says how to fix it, and the places (file:line) a person must edit.

Codes are grouped: MSH1xx schema, MSH2xx mesh semantics, MSH3xx security, MSH4xx operability.
Every code is declared once in a catalogue (`Rule` rows in each checks module), so documentation
and suppression work from one table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..model.errors import Location
from ..model.manifest import ObjectKey
from ..yamlio.documents import Path


class Severity(str, Enum):
    """How bad a finding is: errors stop apply; warnings and info do not."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True)
class Rule:
    """A catalogue row: one stable code, its default severity, a short title, and the `istioctl
    analyze` message that reports the same problem (code and name), when there is one."""

    code: str
    severity: Severity
    title: str
    istioctl: str = ""


@dataclass
class Finding:
    """One problem found in one object."""

    code: str
    severity: Severity
    message: str  # what is wrong and how to fix it, one sentence or two
    object: ObjectKey | None
    path: Path = ()
    locations: list[Location] = field(default_factory=list)  # most specific first
    suppressed_by: str | None = None  # reason, when a suppression matched

    @property
    def json_path(self) -> str:
        """`.spec.http[0].route[1].weight` style path for messages."""
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else f".{part}"
        return text

    @property
    def location(self) -> Location | None:
        return self.locations[0] if self.locations else None

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "object": (
                {"group": self.object.group, "kind": self.object.kind, "namespace": self.object.namespace, "name": self.object.name}
                if self.object
                else None
            ),
            "path": self.json_path,
            "locations": [{"file": loc.file, "line": loc.line} for loc in self.locations],
            "suppressed": self.suppressed_by,
        }


def has_errors(findings: list[Finding]) -> bool:
    """True when any unsuppressed finding is an error (the pipeline must stop)."""
    return any(f.severity is Severity.ERROR and not f.suppressed_by for f in findings)
