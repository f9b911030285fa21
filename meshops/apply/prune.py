"""Apply verb: prune — DELETE with uid and resourceVersion preconditions, only while the object is ours.

The plan chose the object (owner, scope and brakes: `diff.plan.prune_verdict`); the verb checks
again with the object as it is now, because labels, the owner annotation or the opt-out
annotation may have changed since. A 409 means the object changed since it was read: it is read
again and, if it is still ours and not opted out, deleted with the new preconditions (a bounded
number of times).
"""
from __future__ import annotations

from ..cluster.api import ApiError
from ..cluster.discovery import Resource
from ..diff.plan import Action, Change
from ..model.identity import PRUNE_ANNOTATION, PRUNE_DISABLED, is_owned, prune_disabled
from .context import ApplyContext, Done, failed
from .order import Write
from .result import Outcome

# How often a prune re-reads an object that changed under it before giving up.
MAX_RETRIES = 5


def prune(context: ApplyContext, write: Write, resource: Resource) -> Done:
    """Delete the object of `write` if it is still meshops's for this environment."""
    change = write.change
    for _ in range(MAX_RETRIES + 1):
        if not is_owned(change.live, context.owner, adopt=context.adopt):
            return Outcome.CONFLICT, f"no longer {context.owner}'s; left alone"
        if prune_disabled(change.live):
            return Outcome.KEPT, f"opted out of pruning meanwhile ({PRUNE_ANNOTATION}: {PRUNE_DISABLED})"
        metadata = change.live.get("metadata") or {}
        options = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": "Background",
            "preconditions": {"uid": metadata.get("uid"), "resourceVersion": metadata.get("resourceVersion")},
        }
        try:
            context.api.request("DELETE", resource.item_path(change.key.namespace, change.key.name), body=options,
                                query={"dryRun": "All"} if context.dry_run else None)
            return Outcome.PRUNED, ""
        except ApiError as error:
            if error.not_found:
                return Outcome.PRUNED, "already gone"
            if error.status != 409:
                return failed(error)
            last = error
        live = context.read(resource, change)
        if live is None:
            return Outcome.PRUNED, "already gone"
        change = Change(Action.PRUNE, change.key, live=live)
    return failed(last)
