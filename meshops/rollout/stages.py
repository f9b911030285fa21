"""Stages of a rollout walk besides weight steps: A/B (header or cookie matches) and mirroring.

A rollout walks a list of steps, each judged by one analysis before the next. A weight step sends
a share of every request to the canary. Two more kinds of step come first when the policy asks
for them, and move no user traffic by weight at all:

- **mirror** (`mirror: {percent, analyses}`): the steered rules copy `percent` of their requests
  to the canary (VirtualService `mirror`/`mirrorPercentage`, HTTPRoute `RequestMirror` filter);
  the responses are discarded, users are served by the stable version alone, and the analysis
  judges the canary's own metrics;
- **A/B** (`abTest: {match, analyses}`): only requests matching `match` (headers, a cookie regex)
  go to the canary, through a rule the rollout inserts before each steered rule (named
  `model.steering.STAGE_RULE_PREFIX` + its position); everyone else stays on the stable version.

Walk order: mirror steps, A/B steps, then the weight steps (or promotion, `then: promote`).
`Stage` is what a router must write for the current step besides the weights; it is derived from
the rollout state (which snapshots match and percent at start), so a resumed driver writes the same.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WEIGHT = "weight"
AB = "ab"
MIRROR = "mirror"
STAGE_KINDS = (WEIGHT, AB, MIRROR)
# How a header condition compares: Istio's StringMatch keys that the Gateway API can express too
# (HTTPRoute header matches are Exact or RegularExpression; there is no prefix match).
HEADER_MATCH_TYPES = ("exact", "regex")


@dataclass(frozen=True)
class Stage:
    """What the current step routes besides the weights: A/B matches, or a mirror percentage."""

    kind: str  # AB or MIRROR
    canary: str
    match: tuple[dict[str, Any], ...] = ()  # AB: [{headers: {name: {exact|regex: value}}}], any of them
    mirror_percent: int = 0  # MIRROR: share of the steered rules' requests copied to the canary

    def describe(self) -> str:
        if self.kind == MIRROR:
            return f"{self.mirror_percent} % of requests mirrored to {self.canary} (responses discarded)"
        return f"requests matching {describe_match(self.match)} to {self.canary}"


def describe_match(match: tuple[dict[str, Any], ...] | list) -> str:
    """`x-canary=insider or cookie~^(.*?;)?(canary=always)(;.*)?$`: A/B conditions as people read them."""
    alternatives = []
    for entry in match:
        parts = []
        for name, condition in sorted((entry.get("headers") or {}).items()):
            kind, value = next(iter(condition.items()))
            parts.append(f"{name}={value}" if kind == "exact" else f"{name}~{value}")
        alternatives.append(" and ".join(parts))
    return " or ".join(alternatives)


@dataclass(frozen=True)
class Walk:
    """What a rollout snapshots at its start besides the weights: the kind of each step, the A/B
    conditions, the mirror percentage, and what a version is (a subset, or a Service)."""

    stages: tuple[str, ...] = ()
    match: tuple[dict[str, Any], ...] = ()
    mirror_percent: int = 0
    split_by: str = "subset"

    @classmethod
    def of_state(cls, state: Any) -> Walk:
        """The walk a rollout state carries (a retry walks it again)."""
        return cls(stages=state.stages, match=state.match, mirror_percent=state.mirror_percent, split_by=state.split_by)

    def state_fields(self) -> dict[str, Any]:
        return {"stages": self.stages, "match": self.match, "mirror_percent": self.mirror_percent,
                "split_by": self.split_by}
