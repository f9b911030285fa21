"""What apply reports: one outcome per object, and whether everything got done."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..model.manifest import ObjectKey


class Outcome(str, Enum):
    CREATED = "created"
    UPDATED = "updated"
    PRUNED = "pruned"
    UNCHANGED = "unchanged"
    KEPT = "kept"  # no longer rendered, but a guard keeps it (owner, scope, Namespace, opt-out): the message says which
    SKIPPED = "skipped"  # dry run: its namespace is created by this same apply, the server cannot check it yet
    CONFLICT = "conflict"  # left alone: not ours, or another field manager owns what we would change
    FAILED = "failed"  # kept failing (after retries) or was refused (e.g. 422 Invalid)

    @property
    def done(self) -> bool:
        return self not in (Outcome.CONFLICT, Outcome.FAILED)


@dataclass
class ObjectResult:
    key: ObjectKey
    outcome: Outcome
    phase: str = ""
    message: str = ""


@dataclass
class ApplyResult:
    """Every object's outcome, in the order they were written."""

    environment: str
    revision: str | None
    dry_run: bool
    results: list[ObjectResult] = field(default_factory=list)
    writes: int = 0  # write requests sent (POST/PATCH/DELETE), retries included

    @property
    def ok(self) -> bool:
        return all(result.outcome.done for result in self.results)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome is outcome)

    def summary(self) -> str:
        parts = [f"{self.count(o)} {o.value}" for o in Outcome if self.count(o)]
        prefix = "dry run (server): " if self.dry_run else ""
        return prefix + (", ".join(parts) if parts else "nothing to do")

    def to_dict(self) -> dict:
        return {
            "environment": self.environment,
            "revision": self.revision,
            "dryRun": self.dry_run,
            "ok": self.ok,
            "writes": self.writes,
            "results": [
                {"kind": r.key.kind, "namespace": r.key.namespace, "name": r.key.name, "outcome": r.outcome.value,
                 "phase": r.phase, "message": r.message}
                for r in self.results
            ],
        }
