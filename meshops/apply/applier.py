"""Fourth stage: carry out a plan, every write guarded, in make-before-break order.

The order is a table (`order.schedule`); each verb has its own module (`create`, `update`,
`prune`); this module runs the groups, settles write races by re-planning, and reports.

Writes and their guards:
- create: POST, so an object someone else created in the meantime is never touched (409
  AlreadyExists); if the existing object is ours (a retried POST whose first answer was lost, or
  another meshops run) it is re-read and re-planned.
- update: server-side apply (`fieldManager=meshops`, `force=false`) with the live
  `resourceVersion` in the body as a precondition. A stale version (someone wrote in between) is
  re-read and re-planned, so their change is kept; a field another manager owns and git wants
  different is a conflict, reported, not overwritten (unless `force_conflicts`).
- prune: DELETE with uid + resourceVersion preconditions, only for objects still ours (owner
  annotation and labels) and not opted out; what the plan kept is reported as kept. The
  mass-prune brake (`brakes`) runs before the applier is called.

Transient errors are retried inside `KubeApi`; anything left undone is an `ObjectResult` with
outcome conflict/failed. `dry_run` sends the same requests with `dryRun=All`.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from ..cluster.api import KubeApi
from ..cluster.discovery import Discovery, Resource
from ..diff.normalize import IgnoreRule, normalize_pair
from ..diff.plan import Action, Change, Plan
from ..model.errors import ClusterError
from ..model.identity import Overlay, Owner, no_overlay
from ..model.scope import Scope
from .context import ApplyContext, Done, Raced
from .create import create
from .order import Phase, Write, schedule
from .prune import prune
from .result import ApplyResult, ObjectResult, Outcome
from .update import update

# How often one object is re-read and re-planned after losing a write race before giving up.
MAX_REPLANS = 5
# Concurrent writes inside one order group (namespaces, then rules, then routes …).
WORKERS = 8

Progress = Callable[[ObjectResult, int, int], None]


class Applier:
    """Runs plans against one cluster for one environment."""

    def __init__(
        self,
        api: KubeApi,
        discovery: Discovery,
        *,
        owner: Owner,
        revision: str | None,
        dry_run: bool = False,
        force_conflicts: bool = False,
        ignore: tuple[IgnoreRule, ...] = (),
        overlay: Overlay = no_overlay,
        adopt: bool = False,
        scope: Scope | None = None,
        workers: int = WORKERS,
    ) -> None:
        self.context = ApplyContext(api, discovery, owner, revision, dry_run=dry_run, force_conflicts=force_conflicts,
                                    ignore=ignore, overlay=overlay, adopt=adopt, scope=scope)
        self.workers = workers
        self._new_namespaces: set[str] = set()

    def _settle(self, write: Write, resource: Resource) -> Done:
        """Create or update, and after a lost race re-plan against what is there and write again."""
        for attempt in range(MAX_REPLANS + 1):
            verb = create if write.change.action is Action.CREATE else update
            outcome = verb(self.context, write, resource)
            if not isinstance(outcome, Raced):
                return outcome
            if attempt == MAX_REPLANS:
                break
            was_create = write.change.action is Action.CREATE
            change = self.context.replan(write.change, outcome.live)
            if change.action is Action.CONFLICT:
                return Outcome.CONFLICT, change.reason
            if change.action is Action.UNCHANGED:
                return (Outcome.CREATED if was_create else Outcome.UNCHANGED), "already as desired"
            expanded = write.body is not write.change.desired  # keep the expand-phase extra subsets
            write = Write(change, write.body if expanded else change.desired, write.phase)
        return Outcome.FAILED, f"kept changing under us ({MAX_REPLANS} re-plans); run apply again"

    def _perform(self, write: Write) -> ObjectResult:
        change = write.change
        if self.context.dry_run and change.key.namespace in self._new_namespaces:
            return ObjectResult(change.key, Outcome.SKIPPED, write.phase.value,
                                f"namespace {change.key.namespace} is created by this apply; a server dry run cannot check objects in it")
        resource = self.context.resource(change)
        if write.phase is Phase.PRUNE:
            outcome, message = prune(self.context, write, resource)
        elif change.action is Action.CREATE:
            outcome, message = self._settle(write, resource)
        else:
            if write.phase is Phase.EXPAND and write.body is not change.desired:
                expanded, live = normalize_pair(desired=write.body, live=change.live, ignore=list(self.context.ignore))
                if expanded == live:
                    return ObjectResult(change.key, Outcome.UNCHANGED, write.phase.value, "keeps subsets still routed to")
            if write.phase is Phase.CONTRACT:
                # the expand write moved resourceVersion on: re-read before contracting
                live = self.context.read(resource, change)
                body = write.body
                change = self.context.replan(change, live)
                if change.action is Action.CONFLICT:
                    return ObjectResult(change.key, Outcome.CONFLICT, write.phase.value, change.reason)
                contracted, now = normalize_pair(desired=body, live=live, ignore=list(self.context.ignore))
                if contracted == now:
                    return ObjectResult(change.key, Outcome.UPDATED, write.phase.value, "")
                change = Change(Action.UPDATE, change.key, manifest=change.manifest, live=live, desired=change.desired,
                                adopt=change.adopt)
                write = Write(change, body, write.phase)
            outcome, message = self._settle(write, resource)
        return ObjectResult(change.key, outcome, write.phase.value, message)

    # --- the run -------------------------------------------------------------------------
    def run(self, plan: Plan, *, prune: bool = True, progress: Progress | None = None) -> ApplyResult:
        """Apply `plan`; conflicts and failures are reported per object, never raised."""
        result = ApplyResult(environment=self.context.environment, revision=self.context.revision, dry_run=self.context.dry_run)
        self._new_namespaces = {c.key.name for c in plan.creates if c.key.kind == "Namespace" and c.key.group == ""}
        before = self.context.api.stats.by_method.copy()
        for change in plan.changes:
            if change.action is Action.CONFLICT:
                result.results.append(ObjectResult(change.key, Outcome.CONFLICT, "plan", change.reason))
            elif change.action is Action.KEEP:
                result.results.append(ObjectResult(change.key, Outcome.KEPT, "plan", change.reason))
            elif change.action is Action.UNCHANGED or (change.action is Action.PRUNE and not prune):
                result.results.append(ObjectResult(change.key, Outcome.UNCHANGED, "plan", "" if prune else "prune skipped (--no-prune)"))
        groups = schedule(plan, prune=prune)
        contracted = {w.change.key for group in groups for w in group if w.phase is Phase.CONTRACT}
        total = sum(len(group) for group in groups)
        done = 0
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            for index, group in enumerate(groups):
                try:
                    for write, object_result in zip(group, pool.map(self._perform, group)):
                        done += 1
                        if write.phase is Phase.EXPAND and write.change.key in contracted and object_result.outcome.done:
                            continue  # reported once, by its contract write
                        result.results.append(object_result)
                        if progress:
                            progress(object_result, done, total)
                except ClusterError as error:
                    # The cluster went away: say what was not done, object by object, and stop.
                    finished = {r.key for r in result.results}
                    for write in [w for g in groups[index:] for w in g if w.change.key not in finished]:
                        result.results.append(ObjectResult(write.change.key, Outcome.FAILED, write.phase.value,
                                                           f"not attempted: {error.message}"))
                    break
        after = self.context.api.stats.by_method
        result.writes = sum(after.get(m, 0) - before.get(m, 0) for m in ("POST", "PATCH", "PUT", "DELETE"))
        return result
