"""The plan: what apply would do to make the cluster match git, object by object.

`make_plan(desired, live, owner=…, scope=…)` compares each rendered object with its live
counterpart after normalization and classifies it: create, update (with the RFC 6902 patch from
normalized live to normalized desired), unchanged, conflict (an object of that name exists but
this owner — repository and environment — does not own it: never touched), prune, or keep.
What git no longer renders is pruned only when all of these hold (anything else is kept, and the
plan says why):
- owner: the labels *and* the owner annotation name this repository and environment
  (`model.identity`); objects with the labels but no annotation only with `adopt`;
- scope: inside the environment's namespaces and the operator's allow-list (`model.scope`);
- brakes: not a Namespace (unless `prune_namespaces`), not opted out with `meshops.dev/prune:
  disabled`. The mass-prune brake judges the whole plan, in `apply.brakes`.
The desired side carries the owner annotation, so an object applied before owner annotations is
an update that records its owner. With `adopt`, an object git renders that nobody else claims
(created with kubectl; `model.identity.adoption_problem`) is an update that adopts it
(`Change.adopt`): its patch shows what taking it over changes, the fields kubectl set included
(`diff.adoption`). A Namespace the operator names exactly in the allow-list is adopted that way
without `adopt` (`adoptable`). It is pure: the same inputs give the same plan.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Iterable

import jsonpatch

from ..model import kinds
from ..model.identity import (
    OWNER_ANNOTATION,
    PRUNE_ANNOTATION,
    PRUNE_DISABLED,
    Claim,
    Overlay,
    Owner,
    claim_of,
    is_owned,
    no_overlay,
    ownership_problem,
    prune_disabled,
    with_owner,
)
from ..model.manifest import Manifest, ObjectKey
from ..model.scope import Scope
from .adoption import adopted_managers, taken_over_fields
from .normalize import IgnoreRule, normalize_desired, normalize_pair, unchanged


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    PRUNE = "prune"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"
    KEEP = "keep"  # no longer rendered, but not pruned: the reason says which guard kept it


@dataclass
class Change:
    """One object's fate in a plan."""

    action: Action
    key: ObjectKey
    manifest: Manifest | None = None  # the rendered object (None for prunes)
    live: dict | None = None  # the full live object (None for creates)
    desired: dict | None = None  # what to write: the rendered object as the rollout overlay leaves it
    desired_normalized: dict | None = None
    live_normalized: dict | None = None
    patch: list[dict] = field(default_factory=list)  # RFC 6902, live -> desired (normalized)
    reason: str = ""
    owned: bool = False  # the live object is this owner's (fully, or adopted): counts for the mass-prune brake
    # An update that takes the object over with `adopt`: kubectl's fields move to meshops first (`diff.adoption`).
    adopt: bool = False

    @property
    def order(self) -> int:
        return kinds.apply_order(self.key.group, self.key.kind)

    def portable(self) -> Change:
        """The change as outputs show it, without the objects it was made from (the rendered manifest,
        the whole live object): small enough to send between processes (`pipeline.forked`)."""
        shown = self.action is not Action.UNCHANGED  # an unchanged object shows its name only
        return Change(self.action, self.key, desired_normalized=self.desired_normalized if shown else None,
                      live_normalized=self.live_normalized if shown else None, patch=self.patch, reason=self.reason,
                      owned=self.owned, adopt=self.adopt)


@dataclass
class Plan:
    """Every change for one environment, in apply order."""

    environment: str
    revision: str | None
    changes: list[Change]

    def portable(self) -> Plan:
        """The plan as outputs show it (`Change.portable`)."""
        return Plan(self.environment, self.revision, [change.portable() for change in self.changes])

    def of(self, action: Action) -> list[Change]:
        return [change for change in self.changes if change.action is action]

    @property
    def creates(self) -> list[Change]:
        return self.of(Action.CREATE)

    @property
    def updates(self) -> list[Change]:
        return self.of(Action.UPDATE)

    @property
    def prunes(self) -> list[Change]:
        return self.of(Action.PRUNE)

    @property
    def unchanged(self) -> list[Change]:
        return self.of(Action.UNCHANGED)

    @property
    def conflicts(self) -> list[Change]:
        return self.of(Action.CONFLICT)

    @property
    def adoptions(self) -> list[Change]:
        """Updates that take an object over from whoever created it."""
        return [change for change in self.updates if change.adopt]

    @property
    def kept(self) -> list[Change]:
        return self.of(Action.KEEP)

    @property
    def owned(self) -> int:
        """How many objects in the cluster this plan's owner owns now (what a prune share is a share of)."""
        return sum(1 for change in self.changes if change.owned)

    @property
    def has_changes(self) -> bool:
        """Whether apply would write anything (kept objects are left as they are)."""
        return any(change.action not in (Action.UNCHANGED, Action.KEEP) for change in self.changes)

    def summary(self) -> str:
        """`3 to create, 2 to update, 1 to prune, 40 unchanged` (+ adoptions, conflicts and kept objects when any)."""
        adopted = f" ({len(self.adoptions)} adopted)" if self.adoptions else ""
        text = (
            f"{len(self.creates)} to create, {len(self.updates)} to update{adopted}, "
            f"{len(self.prunes)} to prune, {len(self.unchanged)} unchanged"
        )
        if self.conflicts:
            text += f", {len(self.conflicts)} in conflict"
        if self.kept:
            text += f", {len(self.kept)} kept"
        return text


def plan_object(
    manifest: Manifest,
    live: dict | None,
    *,
    owner: Owner,
    ignore: list[IgnoreRule] = (),
    overlay: Overlay = no_overlay,
    adopt: bool = False,
) -> Change:
    """One rendered object's change against its live counterpart (None: it does not exist).

    The one classification of create / conflict / update / unchanged: `make_plan` uses it for
    every object, apply again for an object it lost a write race on. With `adopt`, an object
    nobody claims is an update that takes it over.
    """
    key = manifest.key
    overlaid = overlay(manifest.obj, live)
    target = with_owner(overlaid, owner)
    normalized = (with_owner(_normalized(manifest, ignore), owner) if overlaid is manifest.obj and not _ignores_any(manifest, ignore)
                  else normalize_desired(target, ignore))
    if live is None:
        return Change(Action.CREATE, key, manifest=manifest, desired=target, desired_normalized=normalized)
    problem = ownership_problem(live, owner, adopt=adopt)
    if problem:
        return Change(Action.CONFLICT, key, manifest=manifest, live=live, desired=target, reason=problem)
    claim = claim_of(live, owner)
    takes_over = adopt and claim is not Claim.OURS
    takeover = taken_over_fields(live, target) if takes_over else None
    if takeover is None and unchanged(desired_normalized=normalized, live=live, ignore=ignore):
        # The common case, told without copying the live object: both sides normalize to `normalized`.
        desired_normalized = live_normalized = normalized
        patch = []
    else:
        desired_normalized, live_normalized = normalize_pair(desired=target, live=live, ignore=ignore,
                                                             desired_normalized=normalized, takeover=takeover)
        # Equal objects are still common; comparing them in C costs far less than building a patch.
        patch = [] if live_normalized == desired_normalized else jsonpatch.make_patch(live_normalized, desired_normalized).patch
    reason = ""
    if claim is not Claim.OURS:
        managers = adopted_managers(live) if takes_over else []
        reason = f"adopted: records {OWNER_ANNOTATION}: {owner}" + (
            f", taking over the fields of {', '.join(managers)}" if managers else "")
    return Change(Action.UPDATE if patch else Action.UNCHANGED, key, manifest=manifest, live=live, desired=target,
                  desired_normalized=desired_normalized, live_normalized=live_normalized, patch=patch, owned=True,
                  reason=reason, adopt=takes_over and bool(patch))


def adoptable(key: ObjectKey, *, adopt: bool, scope: Scope) -> bool:
    """Whether a rendered object nobody else claims may be adopted (`adoption_problem` still decides if it is claimed).

    With `adopt` (a person's `--adopt`), any. Without it, only a Namespace the operator names exactly
    in the allow-list (`AllowList.names`): the operator creates a managed namespace before meshops
    runs (its RoleBinding lives there) and, by naming it, already lets meshops create and prune it,
    so taking over the existing one grants nothing more. A pattern, the default allow-list or the
    repository itself never makes anything adoptable.
    """
    if adopt:
        return True
    return key.kind == "Namespace" and key.group == "" and scope.allowed.names(key.name)


def prune_verdict(live: dict, key: ObjectKey, *, owner: Owner, scope: Scope, adopt: bool = False,
                  prune_namespaces: bool = False) -> tuple[Action, str] | None:
    """What happens to a live object git no longer renders: PRUNE, KEEP with the reason, or None (not ours to show).

    Apply asks again before each delete, with the object as it is then.
    """
    claim = claim_of(live, owner)
    if claim is Claim.OTHERS:
        return None
    reason = scope.prune_problem(key)
    if reason is None and not is_owned(live, owner, adopt=adopt):
        recorded = ((live.get("metadata") or {}).get("annotations") or {}).get(OWNER_ANNOTATION)
        reason = (f"{OWNER_ANNOTATION}: {recorded}, from before the environment listed its clusters" if recorded else
                  f"labelled for {owner.environment} without {OWNER_ANNOTATION} (applied by an earlier meshops, or by hand)")
        reason += f"; --adopt makes it {owner}'s and prunes it"
    if reason is None and prune_disabled(live):
        reason = f"opted out of pruning ({PRUNE_ANNOTATION}: {PRUNE_DISABLED})"
    if reason is None and key.kind == "Namespace" and key.group == "" and not prune_namespaces:
        reason = "Namespaces are pruned only with --prune-namespaces (everything in them would go too)"
    return (Action.KEEP, reason) if reason else (Action.PRUNE, "")


def _normalized(manifest: Manifest, ignore: list[IgnoreRule]) -> dict:
    """The rendered object normalized, once per manifest and ignore rules (clusters sharing a render share it).

    Without the owner annotation, which differs between the clusters of an environment: the
    caller adds it to the (shared, never changed) result, which is what normalizing the
    annotated object gives when no ignore rule applies to it (`_ignores_any`).
    """
    key = ("normalized", tuple(ignore))
    found = manifest.derived.get(key)
    if found is None:
        found = manifest.derived[key] = normalize_desired(manifest.obj, ignore)
    return found


def _ignores_any(manifest: Manifest, ignore: list[IgnoreRule]) -> bool:
    """Whether an ignore rule applies to the object (it might remove the owner annotation too)."""
    return any(rule.applies_to(manifest.obj) for rule in ignore)


def make_plan(
    desired: Iterable[Manifest],
    live_objects: dict[ObjectKey, dict],
    *,
    owner: Owner,
    scope: Scope,
    revision: str | None = None,
    ignore: list[IgnoreRule] = (),
    overlay: Overlay = no_overlay,
    adopt: bool = False,
    prune_namespaces: bool = False,
) -> Plan:
    """Compare desired manifests with live objects (see module docstring)."""
    changes: list[Change] = []
    seen: set[ObjectKey] = set()
    for manifest in desired:
        seen.add(manifest.key)
        changes.append(plan_object(manifest, live_objects.get(manifest.key), owner=owner, ignore=ignore, overlay=overlay,
                                   adopt=adoptable(manifest.key, adopt=adopt, scope=scope)))
    for key, live in live_objects.items():
        if key in seen:
            continue
        verdict = prune_verdict(live, key, owner=owner, scope=scope, adopt=adopt, prune_namespaces=prune_namespaces)
        if verdict is None:
            continue
        action, reason = verdict
        _, live_normalized = normalize_pair(desired=None, live=live, ignore=ignore)
        changes.append(Change(action, key, live=live, live_normalized=live_normalized, reason=reason,
                              owned=claim_of(live, owner) is Claim.OURS or action is Action.PRUNE))
    changes.sort(key=lambda change: (change.order, change.key.namespace, change.key.name, change.key.kind))
    return Plan(environment=owner.environment, revision=revision, changes=changes)
