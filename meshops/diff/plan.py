"""The plan: what apply would do to make the cluster match git, object by object.

`make_plan(desired, live, environment=…)` compares each rendered object with its live
counterpart after normalization and classifies it: create, update (with the RFC 6902 patch from
normalized live to normalized desired), unchanged, conflict (an object of that name exists but
meshops does not own it for this environment: never touched), or prune (owned by meshops for this
environment, no longer rendered). With `adopt`, an object nobody claims (created with kubectl) is an
update that adopts it (`Change.adopt`): its patch shows what taking it over changes, the fields
kubectl set included (`diff.adoption`). It is pure: the same inputs give the same plan.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Iterable

import jsonpatch

from ..model import kinds
from ..model.identity import Overlay, adopting, is_owned, no_overlay, ownership_problem
from ..model.manifest import Manifest, ObjectKey
from .adoption import adopted_managers, taken_over_fields
from .normalize import IgnoreRule, normalize_pair


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    PRUNE = "prune"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"


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
    adopt: bool = False  # an update that takes the object over (it is not meshops's yet)

    @property
    def order(self) -> int:
        return kinds.apply_order(self.key.group, self.key.kind)


@dataclass
class Plan:
    """Every change for one environment, in apply order."""

    environment: str
    revision: str | None
    changes: list[Change]

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
    def has_changes(self) -> bool:
        return any(change.action is not Action.UNCHANGED for change in self.changes)

    def summary(self) -> str:
        """`3 to create, 2 to update, 1 to prune, 40 unchanged` (+ adoptions and conflicts when any)."""
        adopted = f" ({len(self.adoptions)} adopted)" if self.adoptions else ""
        text = (
            f"{len(self.creates)} to create, {len(self.updates)} to update{adopted}, "
            f"{len(self.prunes)} to prune, {len(self.unchanged)} unchanged"
        )
        if self.conflicts:
            text += f", {len(self.conflicts)} in conflict"
        return text


def plan_object(
    manifest: Manifest,
    live: dict | None,
    *,
    environment: str,
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
    target = overlay(manifest.obj, live)
    if live is None:
        normalized, _ = normalize_pair(desired=target, live=None, ignore=ignore)
        return Change(Action.CREATE, key, manifest=manifest, desired=target, desired_normalized=normalized)
    problem = ownership_problem(live, environment, adopt=adopt)
    if problem:
        return Change(Action.CONFLICT, key, manifest=manifest, live=live, desired=target, reason=problem)
    takes_over = adopting(live, environment)
    takeover = taken_over_fields(live, target) if takes_over else None
    desired_normalized, live_normalized = normalize_pair(desired=target, live=live, ignore=ignore, takeover=takeover)
    # Equal objects are the common case; comparing them in C costs far less than building a patch.
    patch = [] if live_normalized == desired_normalized else jsonpatch.make_patch(live_normalized, desired_normalized).patch
    reason = ""
    if takes_over:
        managers = adopted_managers(live)
        reason = "adopts it" + (f", taking over the fields of {', '.join(managers)}" if managers else "")
    return Change(Action.UPDATE if patch else Action.UNCHANGED, key, manifest=manifest, live=live, desired=target,
                  desired_normalized=desired_normalized, live_normalized=live_normalized, patch=patch, reason=reason,
                  adopt=takes_over and bool(patch))


def make_plan(
    desired: Iterable[Manifest],
    live_objects: dict[ObjectKey, dict],
    *,
    environment: str,
    revision: str | None = None,
    ignore: list[IgnoreRule] = (),
    overlay: Overlay = no_overlay,
    adopt: bool = False,
) -> Plan:
    """Compare desired manifests with live objects (see module docstring)."""
    changes: list[Change] = []
    seen: set[ObjectKey] = set()
    for manifest in desired:
        seen.add(manifest.key)
        changes.append(plan_object(manifest, live_objects.get(manifest.key), environment=environment, ignore=ignore,
                                   overlay=overlay, adopt=adopt))
    for key, live in live_objects.items():
        if key in seen or not is_owned(live, environment):
            continue
        _, live_normalized = normalize_pair(desired=None, live=live, ignore=ignore)
        changes.append(Change(Action.PRUNE, key, live=live, live_normalized=live_normalized))
    changes.sort(key=lambda change: (change.order, change.key.namespace, change.key.name, change.key.kind))
    return Plan(environment=environment, revision=revision, changes=changes)
