"""Apply verb: create — a POST, so an object someone else created meanwhile is never touched.

After the POST, meshops's managedFields entry is turned from Update into Apply (the upgrade kubectl
performs when moving an object from client-side to server-side apply), so later server-side
applies can remove fields git drops.
"""
from __future__ import annotations

from ..cluster.api import JSON_PATCH, ApiError
from ..cluster.discovery import Resource
from ..model.identity import FIELD_MANAGER
from ..model.manifest import ObjectKey
from .context import ApplyContext, Done, Raced, failed
from .order import Write
from .result import Outcome


def create(context: ApplyContext, write: Write, resource: Resource) -> Done | Raced:
    """POST the object; an object of that name already there is a race for the applier to re-plan."""
    change = write.change
    try:
        created = context.api.request("POST", resource.collection_path(change.key.namespace),
                                      body=context.stamped(write.body), query=context.query())
    except ApiError as error:
        if not error.already_exists:
            return failed(error)
        return Raced(context.read(resource, change))
    if not context.dry_run:
        _own_as_apply(context, resource, change.key, created)
    return Outcome.CREATED, ""


def _own_as_apply(context: ApplyContext, resource: Resource, key: ObjectKey, created: dict) -> None:
    """Turn the Update entry a POST leaves in managedFields into meshops's Apply entry.

    POST is what guarantees we never touch an object someone else created, but it records our
    fields under an Update entry, and a later server-side apply never removes fields an Update
    entry owns, so a field dropped from git would linger. The `test` op makes this a no-op if
    anyone wrote in between.
    """
    metadata = created.get("metadata") or {}
    entries = metadata.get("managedFields") or []
    ours = lambda entry: entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Update"  # noqa: E731
    if not any(ours(entry) for entry in entries):
        return
    converted = [{**entry, "operation": "Apply"} if ours(entry) else entry for entry in entries]
    patch = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": metadata.get("resourceVersion")},
        {"op": "replace", "path": "/metadata/managedFields", "value": converted},
    ]
    try:
        context.api.request("PATCH", resource.item_path(key.namespace, key.name),
                            body=patch, content_type=JSON_PATCH, query=context.query())
    except ApiError:
        pass  # someone wrote in between; the object is still ours and the next apply converges
