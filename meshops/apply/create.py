"""Apply verb: create — one POST, so an object someone else created meanwhile is never touched.

The POST records meshops's fields under an `Update` entry of managedFields; `update` turns that
entry into meshops's `Apply` entry before the first server-side apply of the object (the deferred
upgrade kubectl performs when an object moves from client-side to server-side apply), so a
create costs one write and later applies can still remove fields git drops.
"""
from __future__ import annotations

from ..cluster.api import ApiError
from ..cluster.discovery import Resource
from .context import ApplyContext, Done, Raced, failed
from .order import Write
from .result import Outcome


def create(context: ApplyContext, write: Write, resource: Resource) -> Done | Raced:
    """POST the object; an object of that name already there is a race for the applier to re-plan."""
    change = write.change
    try:
        context.api.request("POST", resource.collection_path(change.key.namespace),
                            body=context.stamped(write.body), query=context.query())
    except ApiError as error:
        if not error.already_exists:
            return failed(error)
        return Raced(context.read(resource, change))
    return Outcome.CREATED, ""
