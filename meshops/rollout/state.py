"""Rollout state: what a rollout knows about itself, kept on the VirtualService it steers.

The state lives in the `meshops.dev/rollout` annotation as one JSON object, written in the same
request as the route weights it describes, so whoever reads the VirtualService (another meshops
process after a crash, `meshops rollout status`, a person with kubectl) sees weights and state
that belong together. Schema (version 1; keys added later are optional, so older states still read):

    {
      "schema": 1,
      "phase": "Progressing",          # Progressing | Paused | Succeeded | Failed | Aborted
      "service": "reviews",            # the policy's service key (the VirtualService name)
      "rule": "default",               # the first steered HTTP rule (kept for older readers)
      "rules": ["default"],            # every HTTP rule the rollout steers (its name, or `#<index>` if unnamed)
      "stable": "v1", "canary": "v2",  # subsets (versions) the rules split between
      "weights": [5, 10, 25, 50],      # canary weights to walk, snapshotted from the policy at start
      "stages": ["mirror", "ab", "weight", ...],  # kind of each step (absent: all weight steps); 0 weight
                                       # for mirror and A/B steps (see `stages`)
      "match": [{"headers": {"x-canary": {"exact": "insider"}}}],  # A/B steps: who goes to the canary
      "mirrorPercent": 100,            # mirror steps: share of requests copied to the canary
      "split": "subset",               # what a version is: a subset of one host, or a Service ("service")
      "gates": [2],                    # steps after which a person approves (len(weights): the promotion)
      "approved": [2],                 # gates approved so far; "awaitingApproval": 2 | null, "approvedBy": "alice@laptop"
      "step": 2,                       # 0: canary at 0 %; n: canary at weights[n-1]
      "current": {"v1": 90, "v2": 10}, # what the rules route now (sums to 100)
      "failedChecks": 1,               # failed analyses in this run (cumulative, never reset)
      "inconclusiveAnalyses": 3,       # analyses the metrics source could not answer (counted apart)
      "threshold": 2,                  # failed analyses that roll back, snapshotted at start
      "lastAnalysis": {"decision": "fail", "at": T, "step": 2, "summary": "...",
                       "checks": [{"name", "outcome", "value", "min", "max", "unit", "reason"}]},
      "history": [{"seq": 7, "at": T, "reason": "StepAdvanced", "phase": "Progressing", "step": 2,
                   "current": {...}, "message": "...", "count": 2}],   # count: the same decision repeated (a long hold)
      "seq": 7,                        # decisions taken so far (numbers the history entries)
      "notified": 6,                   # decisions whose notifications were handled (sent or given up)
      "revision": "3f2a…",             # git revision that started this rollout
      "startedAt": T, "updatedAt": T, "lastStepAt": T, "lastAnalysisAt": T | null,
      "progressAt": T,                 # last progress (start, step, resume, approval): the progressDeadline counts from it
      "deadlineExceededAt": T | null,  # when `onTimeout: hold` reported the deadline (once)
      "pausedBy": "alice@laptop" | null,
      "endedBy": "analysis" | "git" | "alice@laptop" | null,   # who ended it (promoted, rolled back, cancelled)
      "message": "why the rollout is where it is (rollback reasons, who aborted)"
    }

T is RFC 3339 UTC with milliseconds. `history` keeps the last `HISTORY_LIMIT` decisions, and a
decision that repeats the previous one (same reason, step and weights: a hold that lasts) updates
that entry instead of adding one, so the annotation stays small (far below the 256 KiB Kubernetes
allows for all annotations together) and a long wait does not push the story out. Weights in the
JSON are integers: Istio route weights are whole percentages. Before it is written, the JSON goes
through `model.masking.mask_text`: no URL credentials ever reach the cluster.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from ..model.identity import ROLLOUT_ANNOTATION
from ..model.masking import mask_text
from ..model.steering import BY_SUBSET
from .stages import AB, MIRROR, WEIGHT, Stage

SCHEMA_VERSION = 1
DEFAULT_RULE = "default"
# Decisions kept in the annotation: enough to see how a rollout got where it is (a five-step
# rollout with a few holds), small enough that every write stays a few KiB.
HISTORY_LIMIT = 20


class Phase:
    """Where a rollout is. Only PROGRESSING moves by itself; PAUSED waits for a person."""

    PROGRESSING = "Progressing"
    PAUSED = "Paused"
    SUCCEEDED = "Succeeded"  # the canary is the stable version now (100 %)
    FAILED = "Failed"  # rolled back after `threshold` failed analyses; pinned until git names another version
    ABORTED = "Aborted"  # rolled back by a person or by git naming the stable version again


class Reason:
    """Why a rollout changed: the history entry and the Kubernetes Event reason, one per decision."""

    STARTED = "Started"  # apply: git names a new version, 0 % routed to it
    RESTARTED = "Restarted"  # git names yet another version mid-rollout, or a person retries: 0 % from the stable
    STEP_ADVANCED = "StepAdvanced"  # every check passed: the canary gets the next weight
    ANALYSIS_HELD = "AnalysisHeld"  # not enough to judge (too little traffic): same weight, ask again
    ANALYSIS_INCONCLUSIVE = "AnalysisInconclusive"  # the metrics source could not answer: same weight, ask again
    CANARY_NOT_READY = "CanaryNotReady"  # the canary Deployment is missing or has no ready pods: same weight
    AWAITING_APPROVAL = "AwaitingApproval"  # checks passed at a gate: same weight until `rollout approve`
    APPROVED = "Approved"  # a person approved the gate: the next passing analysis moves on
    DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"  # no step within progressDeadline, onTimeout: hold
    CHECK_FAILED = "CheckFailed"  # a failed analysis below the threshold: same weight, ask again
    PROMOTED = "Promoted"  # after the last step (or by hand): the canary takes 100 %
    ROLLED_BACK = "RolledBack"  # `threshold` failed analyses: the stable takes 100 %
    PAUSED = "Paused"
    RESUMED = "Resumed"
    ABORTED = "Aborted"  # by a person, or git named the stable version again


# Phases in which the rollout, not git, decides the weights of the steered rule.
ACTIVE_PHASES = frozenset({Phase.PROGRESSING, Phase.PAUSED})
# Ended by rolling back: the stable version keeps 100 % while git still names the canary.
ROLLED_BACK_PHASES = frozenset({Phase.FAILED, Phase.ABORTED})
TERMINAL_PHASES = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.ABORTED})
# `endedBy` of decisions nobody typed: the analysis judged, or git named another version.
BY_ANALYSIS = "analysis"
BY_GIT = "git"
# Decisions that leave the weights where they are and may repeat for a long time: a repetition
# updates the previous history entry, and only the first of a run is notified.
WAITING_REASONS = frozenset({Reason.ANALYSIS_HELD, Reason.ANALYSIS_INCONCLUSIVE, Reason.CANARY_NOT_READY,
                             Reason.AWAITING_APPROVAL, Reason.CHECK_FAILED})


def format_time(seconds: float | None) -> str | None:
    """Unix seconds as RFC 3339 UTC with milliseconds (what Kubernetes objects show)."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: Any) -> float | None:
    """The inverse of `format_time`; None for anything that is not a timestamp."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class RolloutState:
    """The parsed annotation (see the module docstring); times are unix seconds."""

    phase: str
    service: str
    stable: str
    canary: str
    weights: tuple[int, ...]
    step: int = 0
    current: dict[str, int] = field(default_factory=dict)
    rules: tuple[str, ...] = (DEFAULT_RULE,)
    failed_checks: int = 0
    inconclusive: int = 0
    threshold: int = 1
    last_analysis: dict[str, Any] | None = None
    history: tuple[dict[str, Any], ...] = ()
    revision: str | None = None
    started_at: float | None = None
    updated_at: float | None = None
    last_step_at: float | None = None
    last_analysis_at: float | None = None
    paused_by: str | None = None
    ended_by: str | None = None
    message: str = ""
    gates: tuple[int, ...] = ()
    approved: tuple[int, ...] = ()
    awaiting_approval: int | None = None
    approved_by: str | None = None
    progress_at: float | None = None
    deadline_exceeded_at: float | None = None
    seq: int = 0
    notified: int | None = None  # None: everything so far (states written before notifications existed)
    stages: tuple[str, ...] = ()  # kind of each step (empty: all weight steps)
    match: tuple[dict[str, Any], ...] = ()  # A/B steps' conditions
    mirror_percent: int = 0  # mirror steps' share
    split_by: str = BY_SUBSET  # what stable and canary name: subsets, or Services

    # --- reading the walk -------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE_PHASES

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL_PHASES

    @property
    def canary_weight(self) -> int:
        """The canary's weight at the current step (0 at step 0)."""
        return self.weights[self.step - 1] if 0 < self.step <= len(self.weights) else 0

    def stage_at(self, step: int) -> str:
        """The kind of step `step` (1-based; WEIGHT for step 0 and for states without stages)."""
        return self.stages[step - 1] if 0 < step <= len(self.stages) else WEIGHT

    def stage(self) -> Stage | None:
        """What the current step routes besides weights (None: weights alone, or the rollout ended)."""
        kind = self.stage_at(self.step)
        if not self.active or kind == WEIGHT:
            return None
        return Stage(kind=kind, canary=self.canary, match=self.match if kind == AB else (),
                     mirror_percent=self.mirror_percent if kind == MIRROR else 0)

    @property
    def last_step(self) -> bool:
        """Whether the next passing analysis promotes."""
        return self.step >= len(self.weights)

    @property
    def rule(self) -> str:
        """The first steered rule (older states steered exactly one)."""
        return self.rules[0]

    @property
    def gate_open(self) -> bool:
        """Whether a passing analysis at this step may move on (no gate here, or it was approved)."""
        return self.step not in self.gates or self.step in self.approved

    @property
    def progress_since(self) -> float | None:
        """Since when the rollout has not moved (the progress deadline counts from here)."""
        return self.progress_at if self.progress_at is not None else (self.last_step_at or self.started_at)

    @property
    def notified_through(self) -> int:
        return self.seq if self.notified is None else self.notified

    @property
    def pending_notifications(self) -> tuple[dict[str, Any], ...]:
        """History entries decided but not yet notified (posted on resume after a crash)."""
        return tuple(entry for entry in self.history if int(entry.get("seq") or 0) > self.notified_through)

    def split(self, canary_weight: int) -> dict[str, int]:
        """Stable and canary weights (summing to 100) for a canary weight."""
        return {self.stable: 100 - canary_weight, self.canary: canary_weight}

    # --- changing -------------------------------------------------------------------------------

    def decided(self, *, reason: str, at: float, note: str = "", **changes: Any) -> RolloutState:
        """A copy with `changes`, `updatedAt` moved to `at` and the decision (with `note`) in the history.

        A waiting decision that repeats the last entry (same reason, step and weights) replaces it
        with `count` + 1 instead of adding one.
        """
        seq = self.seq + 1
        changed = replace(self, updated_at=at, seq=seq, **changes)
        if self.notified is None:  # from here on, what is notified is recorded
            changed = replace(changed, notified=self.seq)
        entry = {
            "seq": seq,
            "at": format_time(at),
            "reason": reason,
            "phase": changed.phase,
            "step": changed.step,
            "current": dict(changed.current),
            "message": note,
        }
        history = changed.history
        last = history[-1] if history else None
        if (last is not None and reason in WAITING_REASONS and last.get("reason") == reason
                and last.get("step") == entry["step"] and last.get("current") == entry["current"]):
            entry["count"] = int(last.get("count") or 1) + 1
            history = history[:-1]
        return replace(changed, history=(*history, entry)[-HISTORY_LIMIT:])

    # --- JSON -----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "phase": self.phase,
            "service": self.service,
            "rule": self.rule,
            "rules": list(self.rules),
            "stable": self.stable,
            "canary": self.canary,
            "weights": list(self.weights),
            "stages": list(self.stages),
            "match": copy.deepcopy(list(self.match)),
            "mirrorPercent": self.mirror_percent,
            "split": self.split_by,
            "gates": list(self.gates),
            "approved": list(self.approved),
            "awaitingApproval": self.awaiting_approval,
            "approvedBy": self.approved_by,
            "step": self.step,
            "current": dict(self.current),
            "failedChecks": self.failed_checks,
            "inconclusiveAnalyses": self.inconclusive,
            "threshold": self.threshold,
            "lastAnalysis": copy.deepcopy(self.last_analysis),
            "history": [dict(entry) for entry in self.history],
            "seq": self.seq,
            "notified": self.notified,
            "revision": self.revision,
            "startedAt": format_time(self.started_at),
            "updatedAt": format_time(self.updated_at),
            "lastStepAt": format_time(self.last_step_at),
            "lastAnalysisAt": format_time(self.last_analysis_at),
            "progressAt": format_time(self.progress_at),
            "deadlineExceededAt": format_time(self.deadline_exceeded_at),
            "pausedBy": self.paused_by,
            "endedBy": self.ended_by,
            "message": self.message,
        }

    def to_annotation(self) -> str:
        """The annotation value: compact JSON with a stable key order (diffable by a person), URL credentials masked."""
        return mask_text(json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RolloutState | None:
        """The state in `data`, or None when required keys are missing or mistyped."""
        try:
            weights = tuple(int(weight) for weight in data["weights"])
            state = cls(
                phase=str(data["phase"]),
                service=str(data["service"]),
                stable=str(data["stable"]),
                canary=str(data["canary"]),
                weights=weights,
                step=int(data.get("step") or 0),
                current={str(k): int(v) for k, v in (data.get("current") or {}).items()},
                rules=tuple(str(rule) for rule in data.get("rules") or ()) or (str(data.get("rule") or DEFAULT_RULE),),
                failed_checks=int(data.get("failedChecks") or 0),
                inconclusive=int(data.get("inconclusiveAnalyses") or 0),
                threshold=max(1, int(data.get("threshold") or 1)),
                last_analysis=data.get("lastAnalysis") if isinstance(data.get("lastAnalysis"), dict) else None,
                history=tuple(entry for entry in data.get("history") or [] if isinstance(entry, dict)),
                revision=data.get("revision"),
                started_at=parse_time(data.get("startedAt")),
                updated_at=parse_time(data.get("updatedAt")),
                last_step_at=parse_time(data.get("lastStepAt")),
                last_analysis_at=parse_time(data.get("lastAnalysisAt")),
                paused_by=data.get("pausedBy"),
                ended_by=data.get("endedBy"),
                message=str(data.get("message") or ""),
                gates=tuple(int(gate) for gate in data.get("gates") or ()),
                approved=tuple(int(gate) for gate in data.get("approved") or ()),
                awaiting_approval=_optional_int(data.get("awaitingApproval")),
                approved_by=data.get("approvedBy"),
                progress_at=parse_time(data.get("progressAt")),
                deadline_exceeded_at=parse_time(data.get("deadlineExceededAt")),
                seq=int(data.get("seq") or 0),
                notified=_optional_int(data.get("notified")),
                stages=tuple(str(kind) for kind in data.get("stages") or ()),
                match=tuple(entry for entry in data.get("match") or () if isinstance(entry, dict)),
                mirror_percent=int(data.get("mirrorPercent") or 0),
                split_by=str(data.get("split") or BY_SUBSET),
            )
        except (KeyError, TypeError, ValueError):
            return None
        valid = state.weights and 0 <= state.step <= len(state.weights)
        return state if valid and all(kind in (WEIGHT, AB, MIRROR) for kind in state.stages) else None


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def state_of(obj: dict | None) -> RolloutState | None:
    """The rollout state annotated on an object; None when absent or unreadable."""
    raw = (((obj or {}).get("metadata") or {}).get("annotations") or {}).get(ROLLOUT_ANNOTATION)
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return RolloutState.from_dict(data) if isinstance(data, dict) else None

