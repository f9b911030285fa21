"""The mass-prune brake: a plan that would delete much of what an environment owns stops before any write.

Owner checks and the scope decide *which* objects may be pruned, one by one (`diff.plan`); this
brake judges the plan as a whole, because the most damaging commits look harmless object by
object: `git rm -r templates`, a values file emptied by a bad merge, a template that stopped
rendering after a refactor. Refused unless a person passes `--allow-mass-prune`:
- an empty render that would prune anything (whatever meshops.yaml says: `allowEmpty: true` only
  lets an empty environment render and validate, it is the repository's word, not the operator's);
- pruning more than `max_percent` of the objects the environment owns (more than one object:
  removing a single object is never a mass prune, whatever the size of the environment).
`reconcile`, `serve` and the controller never pass it on their own: the environment stops with
the reason on its Lease record and a Kubernetes Event, and waits for a person.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..diff.plan import Plan
from ..model.errors import MeshopsError

# Default share of an environment's owned objects one apply may prune without --allow-mass-prune.
# Removing a whole service (Service, DestinationRule, VirtualService) from an environment of ten
# objects stays under it; losing most of the templates does not.
DEFAULT_MAX_PRUNE_PERCENT = 30.0
# A prune of this many objects is never "mass", so small environments can still remove one thing.
ALWAYS_ALLOWED_PRUNES = 1


@dataclass(frozen=True)
class PruneBrake:
    """How much one apply may prune on its own (the operator's flags, never the repository)."""

    max_percent: float = DEFAULT_MAX_PRUNE_PERCENT
    allow_mass_prune: bool = False


class MassPrune(MeshopsError):
    """The plan would prune too much of what the environment owns: nothing is written."""


def check_prune_brake(plan: Plan, *, rendered: int, brake: PruneBrake) -> None:
    """Raise MassPrune when `plan` prunes an empty render's objects or more than the allowed share."""
    prunes = len(plan.prunes)
    if brake.allow_mass_prune or not prunes:
        return
    owned = max(plan.owned, prunes)
    environment = plan.environment
    examples = ", ".join(str(change.key) for change in plan.prunes[:3]) + (", …" if prunes > 3 else "")
    hint = (f"check `meshops render --env {environment}` and `meshops diff --env {environment}`; if the deletions are "
            "intended, apply once with --allow-mass-prune; nothing was written")
    if rendered == 0:
        # `allowEmpty: true` in meshops.yaml lets the render pass; the repository cannot release this brake.
        raise MassPrune(f"renders no objects, and applying that would prune all {prunes} objects it owns ({examples}): "
                        "a removed or emptied template directory?", obj=f"environment {environment}",
                        hint=hint + "; meshops.yaml `allowEmpty: true` only lets an empty environment render, it never "
                                    "allows the deletions")
    share = 100.0 * prunes / owned
    if prunes > ALWAYS_ALLOWED_PRUNES and share > brake.max_percent:
        raise MassPrune(f"would prune {prunes} of the {owned} objects it owns ({share:.0f} % > {brake.max_percent:g} %): "
                        f"{examples}", obj=f"environment {environment}", hint=hint)
