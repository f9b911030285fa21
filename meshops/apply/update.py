"""Apply verb: update — server-side apply guarded by the live resourceVersion.

A stale resourceVersion (someone wrote between plan and write) is a race: the applier re-reads,
re-plans and writes again, so their change is kept. A field another field manager owns and git
wants different is a conflict, reported and left as is, unless `force_conflicts` (or the other
owner is meshops itself, e.g. a rollout decision) lets meshops take it over.
"""
from __future__ import annotations

from ..cluster.api import APPLY_PATCH, ApiError
from ..cluster.discovery import Resource
from ..model.identity import FIELD_MANAGER
from .context import ApplyContext, Done, Raced, failed
from .order import Write
from .result import Outcome


def update(context: ApplyContext, write: Write, resource: Resource, *, force: bool = False) -> Done | Raced:
    """Server-side apply `write.body` over the live object it was planned against."""
    change = write.change
    body = context.stamped(write.body)
    body.setdefault("metadata", {})["resourceVersion"] = (change.live.get("metadata") or {}).get("resourceVersion")
    try:
        context.api.request("PATCH", resource.item_path(change.key.namespace, change.key.name), body=body,
                            content_type=APPLY_PATCH, query=context.query(force="true" if force else "false"))
        return Outcome.UPDATED, ""
    except ApiError as error:
        conflicts = [cause for cause in error.causes if cause.get("reason") == "FieldManagerConflict"]
        if error.status == 409 and conflicts:
            ours = all(_conflicting_manager(cause) == FIELD_MANAGER for cause in conflicts)
            if (context.force_conflicts or ours) and not force:
                return update(context, write, resource, force=True)
            fields = ", ".join(cause.get("message", cause.get("field", "")) for cause in error.causes)
            return Outcome.CONFLICT, f"another field manager owns what git changes ({fields}); left as is (--force-conflicts takes over)"
        if error.status == 409:
            return Raced(context.read(resource, change))
        if error.not_found:
            return Raced(None)
        return failed(error)


def _conflicting_manager(cause: dict) -> str:
    """The manager named in a FieldManagerConflict cause (`conflict with "kubectl-edit" using …`)."""
    message = cause.get("message", "")
    start = message.find('"')
    end = message.find('"', start + 1)
    return message[start + 1:end] if 0 <= start < end else ""
