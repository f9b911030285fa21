"""Apply verb: update — server-side apply guarded by the live resourceVersion.

An object meshops created by POST and has not applied since carries meshops's fields in an
`Update` managedFields entry; that entry is first turned into meshops's `Apply` entry (one JSON
patch guarded by the resourceVersion, as kubectl upgrades client-side-applied objects), because a
server-side apply never removes fields an `Update` entry still owns.

A stale resourceVersion (someone wrote between plan and write) is a race: the applier re-reads,
re-plans and writes again, so their change is kept. A field another field manager owns and git
wants different is a conflict, reported and left as is, unless `force_conflicts` (or the other
owner is meshops itself, e.g. a rollout decision) lets meshops take it over.

An update that adopts an object (`Change.adopt`) first moves the fields kubectl's managers own into
meshops's entry of `managedFields` (one JSON patch, guarded by the resourceVersion: `diff.adoption`),
then applies as any update does, so git's values win where kubectl's were and a field only kubectl
set is removed; the fields of every other manager still conflict.
"""
from __future__ import annotations

from ..cluster.api import APPLY_PATCH, JSON_PATCH, ApiError
from ..cluster.discovery import Resource
from ..diff.adoption import managed_fields_after_takeover
from ..diff.plan import Change
from ..model.identity import FIELD_MANAGER
from ..model.manifest import ObjectKey
from .context import ApplyContext, Done, Raced, failed
from .order import Write
from .result import Outcome


def update(context: ApplyContext, write: Write, resource: Resource) -> Done | Raced:
    """Server-side apply `write.body` over the live object it was planned against (adopting it first
    when the plan says so)."""
    live = write.change.live
    if write.change.adopt:
        taken = _take_over(context, resource, write.change, write.body)
        if isinstance(taken, Raced):
            return taken
        live = taken
    return _apply(context, write, resource, live)


def _apply(context: ApplyContext, write: Write, resource: Resource, live: dict, *, force: bool = False) -> Done | Raced:
    """The server-side apply itself, guarded by `live`'s resourceVersion."""
    change = write.change
    live = change.live
    if not context.dry_run and not force:
        live = _own_as_apply(context, resource, change.key, live) or live
    body = context.stamped(write.body)
    body.setdefault("metadata", {})["resourceVersion"] = (live.get("metadata") or {}).get("resourceVersion")
    try:
        context.api.request("PATCH", resource.item_path(change.key.namespace, change.key.name), body=body,
                            content_type=APPLY_PATCH, query=context.query(force="true" if force else "false"))
        return Outcome.UPDATED, ""
    except ApiError as error:
        conflicts = [cause for cause in error.causes if cause.get("reason") == "FieldManagerConflict"]
        if error.status == 409 and conflicts:
            ours = all(_conflicting_manager(cause) == FIELD_MANAGER for cause in conflicts)
            if (context.force_conflicts or ours) and not force:
                return _apply(context, write, resource, live, force=True)
            fields = ", ".join(cause.get("message", cause.get("field", "")) for cause in error.causes)
            return Outcome.CONFLICT, f"another field manager owns what git changes ({fields}); left as is (--force-conflicts takes over)"
        if error.status == 409:
            return Raced(context.read(resource, change))
        if error.not_found:
            return Raced(None)
        return failed(error)


def _take_over(context: ApplyContext, resource: Resource, change: Change, body: dict) -> dict | Raced:
    """Move kubectl's fields into meshops's managedFields entry; the object as it is now, or Raced.

    A server dry run cannot persist this step, so it is skipped there (the dry-run apply may then
    report conflicts with kubectl's managers that the real adoption resolves).
    """
    entries = managed_fields_after_takeover(change.live, body)
    if entries is None or context.dry_run:
        return change.live
    metadata = change.live.get("metadata") or {}
    patch = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": metadata.get("resourceVersion")},
        {"op": "replace", "path": "/metadata/managedFields", "value": entries},
    ]
    try:
        return context.api.request("PATCH", resource.item_path(change.key.namespace, change.key.name), body=patch,
                                   content_type=JSON_PATCH, query=context.query())
    except ApiError as error:
        if error.not_found:
            return Raced(None)
        if error.status in (409, 422):  # changed since the plan (the test op failed): re-plan
            return Raced(context.read(resource, change))
        raise


def _conflicting_manager(cause: dict) -> str:
    """The manager named in a FieldManagerConflict cause (`conflict with "kubectl-edit" using …`)."""
    message = cause.get("message", "")
    start = message.find('"')
    end = message.find('"', start + 1)
    return message[start + 1:end] if 0 <= start < end else ""


def _created_not_applied(entry: dict) -> bool:
    return entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Update" and not entry.get("subresource")


def _own_as_apply(context: ApplyContext, resource: Resource, key: ObjectKey, live: dict) -> dict | None:
    """The object after turning meshops's create-time `Update` entry into its `Apply` entry, or None
    when there is nothing to turn (meshops applied it before) or the upgrade did not happen.

    Only an object meshops never applied is upgraded, so rollout decisions (later `Update` writes)
    keep their own entry. The `test` op makes the upgrade fail if anyone wrote since the read; the
    apply that follows then meets the same stale resourceVersion (409) and the applier re-plans.
    """
    metadata = live.get("metadata") or {}
    entries = metadata.get("managedFields") or []
    if any(entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Apply" for entry in entries):
        return None
    if not any(_created_not_applied(entry) for entry in entries):
        return None
    converted = [{**entry, "operation": "Apply"} if _created_not_applied(entry) else entry for entry in entries]
    patch = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": metadata.get("resourceVersion")},
        {"op": "replace", "path": "/metadata/managedFields", "value": converted},
    ]
    try:
        return context.api.request("PATCH", resource.item_path(key.namespace, key.name),
                                   body=patch, content_type=JSON_PATCH, query=context.query())
    except ApiError:
        return None  # written in between (or refused): the guarded apply below decides
