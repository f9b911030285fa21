"""What a reconcile hands back: one line per environment, the revision, and one exit code.

The CLI prints it (text or JSON), `meshops serve` and the controller log it and count it in
`/metrics`. Each environment ends in one `Outcome`; the first that stops the promotion chain
decides the exit code, so CI fails on the environment that needs attention, and says which.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..model.errors import ExitCode


class Outcome(str, Enum):
    APPLIED = "applied"  # applied, and the rollouts it started (if any) succeeded
    PROGRESSING = "progressing"  # applied; rollouts still running in the cluster (later environments wait)
    SKIPPED = "skipped"  # nothing to do (the reason says why)
    BLOCKED = "blocked"  # not started: an earlier environment failed or is still rolling out
    FROZEN = "frozen"  # a freeze window is open
    BUSY = "busy"  # another reconcile held the environment's lock too long
    FAILED = "failed"  # render/validate/apply/rollout failed (stage and reason say where)

    @property
    def stops_promotion(self) -> bool:
        return self in (Outcome.PROGRESSING, Outcome.FROZEN, Outcome.BUSY, Outcome.FAILED)


@dataclass
class EnvReport:
    """How one environment ended."""

    environment: str
    outcome: Outcome
    reason: str
    stage: str = ""
    exit_code: int = ExitCode.OK
    applied_before: str | None = None
    apply: dict[str, Any] | None = None
    rollouts: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0

    def line(self) -> str:
        stage = f" at {self.stage}" if self.stage and self.outcome is Outcome.FAILED else ""
        return f"{self.environment}: {self.outcome.value}{stage}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "stage": self.stage or None,
            "appliedBefore": self.applied_before,
            "apply": self.apply,
            "rollouts": self.rollouts,
            "durationSeconds": round(self.duration, 3),
        }


@dataclass
class ReconcileReport:
    """All environments of one reconcile, in promotion order."""

    repo: str  # the location, credentials masked
    ref: str
    revision: str
    environments: list[EnvReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exit_code == ExitCode.OK

    @property
    def exit_code(self) -> int:
        """The exit code of the first environment that did not end well (0 if none)."""
        for report in self.environments:
            if report.exit_code != ExitCode.OK:
                return report.exit_code
        return ExitCode.OK

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for report in self.environments:
            counts[report.outcome.value] = counts.get(report.outcome.value, 0) + 1
        parts = ", ".join(f"{count} {name}" for name, count in counts.items()) or "no environments"
        return f"revision {self.revision[:12]}: {parts}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "ref": self.ref,
            "revision": self.revision,
            "ok": self.ok,
            "environments": [report.to_dict() for report in self.environments],
        }
