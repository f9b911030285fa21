"""Fourth stage: carry out a plan, every write guarded, in make-before-break order.

Writes and their guards:
- create: POST, so an object someone else created in the meantime is never touched (409
  AlreadyExists); if the existing object is ours (a retried POST whose first answer was lost, or
  another meshops run) it is re-read and re-planned.
- update: server-side apply (`fieldManager=meshops`, `force=false`) with the live
  `resourceVersion` in the body as a precondition. A stale version (someone wrote in between) is
  re-read and re-planned, so their change is kept; a field another manager owns and git wants
  different is a conflict, reported, not overwritten (unless `force_conflicts`).
- prune: DELETE with uid + resourceVersion preconditions, only for objects still ours.

Transient errors are retried inside `KubeApi`; anything left undone is an `ObjectResult` with
outcome conflict/failed. `dry_run` sends the same requests with `dryRun=All`.
"""
from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from ..cluster.api import APPLY_PATCH, JSON_PATCH, ApiError, KubeApi
from ..cluster.discovery import Discovery, Resource
from ..model.identity import FIELD_MANAGER, REVISION_ANNOTATION, Overlay, is_owned, no_overlay, ownership_problem
from ..diff.normalize import IgnoreRule, normalize_pair
from ..diff.plan import Action, Change, Plan
from ..model.errors import ClusterError
from .order import Phase, Write, schedule
from .result import ApplyResult, ObjectResult, Outcome

# How often one object is re-read and re-planned after losing a write race before giving up.
MAX_REPLANS = 5
# Concurrent writes inside one order group (namespaces, then rules, then routes …).
WORKERS = 8

Progress = Callable[[ObjectResult, int, int], None]


def _conflicting_manager(cause: dict) -> str:
    """The manager named in a FieldManagerConflict cause (`conflict with "kubectl-edit" using …`)."""
    message = cause.get("message", "")
    start = message.find('"')
    end = message.find('"', start + 1)
    return message[start + 1:end] if 0 <= start < end else ""


@dataclass
class Applier:
    """Runs plans against one cluster for one environment."""

    api: KubeApi
    discovery: Discovery
    environment: str
    revision: str | None
    dry_run: bool = False
    force_conflicts: bool = False
    ignore: tuple[IgnoreRule, ...] = ()
    overlay: Overlay = no_overlay
    workers: int = WORKERS
    _new_namespaces: frozenset[str] = frozenset()

    # --- helpers -------------------------------------------------------------------------
    def _query(self, **extra: object) -> dict:
        query = {"fieldManager": FIELD_MANAGER, **extra}
        if self.dry_run:
            query["dryRun"] = "All"
        return query

    def _resource(self, change: Change) -> Resource:
        obj = change.desired or change.live or {}
        resource = self.discovery.resolve(obj.get("apiVersion", ""), change.key.kind)
        if resource is None:
            raise ClusterError(f"{change.key}: {obj.get('apiVersion')} is not served by the cluster", hint="install the CRD first")
        return resource

    def _stamped(self, body: dict) -> dict:
        stamped = copy.deepcopy(body)
        if self.revision:
            stamped.setdefault("metadata", {}).setdefault("annotations", {})[REVISION_ANNOTATION] = self.revision
        return stamped

    def _read(self, resource: Resource, change: Change) -> dict | None:
        try:
            return self.api.request("GET", resource.item_path(change.key.namespace, change.key.name))
        except ApiError as error:
            if error.not_found:
                return None
            raise

    def _replan(self, change: Change, live: dict | None) -> Change:
        """The same object planned again against what is live now."""
        if change.manifest is None:
            return change
        target = self.overlay(change.manifest.obj, live)
        if live is None:
            return Change(Action.CREATE, change.key, manifest=change.manifest, desired=target)
        problem = ownership_problem(live, self.environment)
        if problem:
            return Change(Action.CONFLICT, change.key, manifest=change.manifest, live=live, desired=target, reason=problem)
        desired_normalized, live_normalized = normalize_pair(desired=target, live=live, ignore=list(self.ignore))
        action = Action.UPDATE if desired_normalized != live_normalized else Action.UNCHANGED
        return Change(action, change.key, manifest=change.manifest, live=live, desired=target,
                      desired_normalized=desired_normalized, live_normalized=live_normalized)

    # --- verbs ---------------------------------------------------------------------------
    def _create(self, write: Write, resource: Resource, attempts: int) -> tuple[Outcome, str]:
        change = write.change
        body = self._stamped(write.body)
        try:
            created = self.api.request("POST", resource.collection_path(change.key.namespace), body=body, query=self._query())
        except ApiError as error:
            if not error.already_exists:
                return Outcome.FAILED, f"{error.status} {error.reason}: {error.server_message}"
        else:
            if not self.dry_run:
                self._adopt(resource, change, created)
            return Outcome.CREATED, ""
        live = self._read(resource, change)
        return self._after_race(write, resource, live, attempts, created=True)

    def _adopt(self, resource: Resource, change: Change, created: dict) -> None:
        """Turn the Update entry a POST leaves in managedFields into meshops's Apply entry.

        POST is what guarantees we never touch an object someone else created, but it records our
        fields under an Update entry, and a later server-side apply never removes fields an Update
        entry owns, so a field dropped from git would linger. Rewriting the entry's operation is
        the upgrade kubectl performs when moving objects from client-side to server-side apply;
        the `test` op makes it a no-op if anyone wrote in between.
        """
        metadata = created.get("metadata") or {}
        entries = metadata.get("managedFields") or []
        if not any(e.get("manager") == FIELD_MANAGER and e.get("operation") == "Update" for e in entries):
            return
        converted = [
            {**entry, "operation": "Apply"} if entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Update" else entry
            for entry in entries
        ]
        patch = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": metadata.get("resourceVersion")},
            {"op": "replace", "path": "/metadata/managedFields", "value": converted},
        ]
        try:
            self.api.request("PATCH", resource.item_path(change.key.namespace, change.key.name), body=patch,
                             content_type=JSON_PATCH, query=self._query())
        except ApiError:
            pass  # someone wrote in between; the object is still ours and the next apply converges

    def _update(self, write: Write, resource: Resource, attempts: int, force: bool = False) -> tuple[Outcome, str]:
        change = write.change
        body = self._stamped(write.body)
        body.setdefault("metadata", {})["resourceVersion"] = (change.live.get("metadata") or {}).get("resourceVersion")
        query = self._query(force="true" if force else "false")
        try:
            self.api.request("PATCH", resource.item_path(change.key.namespace, change.key.name), body=body,
                             content_type=APPLY_PATCH, query=query)
            return Outcome.UPDATED, ""
        except ApiError as error:
            conflicts = [c for c in error.causes if c.get("reason") == "FieldManagerConflict"]
            if error.status == 409 and conflicts:
                ours = all(_conflicting_manager(c) == FIELD_MANAGER for c in conflicts)
                if (self.force_conflicts or ours) and not force:
                    return self._update(write, resource, attempts, force=True)
                fields = ", ".join(c.get("message", c.get("field", "")) for c in error.causes)
                return Outcome.CONFLICT, f"another field manager owns what git changes ({fields}); left as is (--force-conflicts takes over)"
            if error.status == 409:
                live = self._read(resource, change)
                return self._after_race(write, resource, live, attempts, created=False)
            if error.not_found:
                return self._after_race(write, resource, None, attempts, created=False)
            return Outcome.FAILED, f"{error.status} {error.reason}: {error.server_message}"

    def _after_race(self, write: Write, resource: Resource, live: dict | None, attempts: int, *, created: bool) -> tuple[Outcome, str]:
        """Someone wrote between our read and our write: re-plan against what is there now."""
        if attempts >= MAX_REPLANS:
            return Outcome.FAILED, f"kept changing under us ({MAX_REPLANS} re-plans); run apply again"
        change = self._replan(write.change, live)
        if change.action is Action.CONFLICT:
            return Outcome.CONFLICT, change.reason
        if change.action is Action.UNCHANGED:
            return (Outcome.CREATED if created else Outcome.UNCHANGED), "already as desired"
        expanded = write.body is not write.change.desired  # keep the expand-phase extra subsets
        retry = Write(change, write.body if expanded else change.desired, write.phase)
        if change.action is Action.CREATE:
            return self._create(retry, resource, attempts + 1)
        return self._update(retry, resource, attempts + 1)

    def _prune(self, write: Write, resource: Resource, attempts: int = 0) -> tuple[Outcome, str]:
        change = write.change
        metadata = change.live.get("metadata") or {}
        if not is_owned(change.live, self.environment):
            return Outcome.CONFLICT, "no longer managed by meshops for this environment; left alone"
        options = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": "Background",
            "preconditions": {"uid": metadata.get("uid"), "resourceVersion": metadata.get("resourceVersion")},
        }
        try:
            self.api.request("DELETE", resource.item_path(change.key.namespace, change.key.name), body=options,
                             query={"dryRun": "All"} if self.dry_run else None)
            return Outcome.PRUNED, ""
        except ApiError as error:
            if error.not_found:
                return Outcome.PRUNED, "already gone"
            if error.status != 409 or attempts >= MAX_REPLANS:
                return Outcome.FAILED, f"{error.status} {error.reason}: {error.server_message}"
        live = self._read(resource, change)
        if live is None:
            return Outcome.PRUNED, "already gone"
        retry = Change(Action.PRUNE, change.key, live=live)
        return self._prune(Write(retry, None, write.phase), resource, attempts + 1)

    def _perform(self, write: Write) -> ObjectResult:
        change = write.change
        if self.dry_run and change.key.namespace in self._new_namespaces:
            return ObjectResult(change.key, Outcome.SKIPPED, write.phase.value,
                                f"namespace {change.key.namespace} is created by this apply; a server dry run cannot check objects in it")
        resource = self._resource(change)
        if write.phase is Phase.PRUNE:
            outcome, message = self._prune(write, resource)
        elif change.action is Action.CREATE:
            outcome, message = self._create(write, resource, 0)
        else:
            if write.phase is Phase.EXPAND and write.body is not change.desired:
                expanded, live = normalize_pair(desired=write.body, live=change.live, ignore=list(self.ignore))
                if expanded == live:
                    return ObjectResult(change.key, Outcome.UNCHANGED, write.phase.value, "keeps subsets still routed to")
            if write.phase is Phase.CONTRACT:
                # the expand write moved resourceVersion on: re-read before contracting
                live = self._read(resource, change)
                body = write.body
                change = self._replan(change, live)
                if change.action is Action.CONFLICT:
                    return ObjectResult(change.key, Outcome.CONFLICT, write.phase.value, change.reason)
                contracted, now = normalize_pair(desired=body, live=live, ignore=list(self.ignore))
                if contracted == now:
                    return ObjectResult(change.key, Outcome.UPDATED, write.phase.value, "")
                change = Change(Action.UPDATE, change.key, manifest=change.manifest, live=live, desired=change.desired)
                write = Write(change, body, write.phase)
            outcome, message = self._update(write, resource, 0)
        return ObjectResult(change.key, outcome, write.phase.value, message)

    # --- the run -------------------------------------------------------------------------
    def run(self, plan: Plan, *, prune: bool = True, progress: Progress | None = None) -> ApplyResult:
        """Apply `plan`; conflicts and failures are reported per object, never raised."""
        result = ApplyResult(environment=self.environment, revision=self.revision, dry_run=self.dry_run)
        self._new_namespaces = {c.key.name for c in plan.creates if c.key.kind == "Namespace" and c.key.group == ""}
        before = self.api.stats.by_method.copy()
        for change in plan.changes:
            if change.action is Action.CONFLICT:
                result.results.append(ObjectResult(change.key, Outcome.CONFLICT, "plan", change.reason))
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
        after = self.api.stats.by_method
        result.writes = sum(after.get(m, 0) - before.get(m, 0) for m in ("POST", "PATCH", "PUT", "DELETE"))
        return result
