"""Watch: a list's changes as a stream of `{"type": ..., "object": ...}` events.

Start points follow the apiserver: no resourceVersion (or "0") first sends the current objects as
ADDED; a resourceVersion N replays the changes after N from the store's history, or sends one
ERROR event with a 410 Expired Status when N is older than the history. `sendInitialEvents=true`
sends the current objects and then, with `allowWatchBookmarks`, a BOOKMARK annotated
`k8s.io/initial-events-end`. Selectors see transitions: an object that stops matching is sent as
DELETED, one that starts matching as ADDED. A stream ends after `timeoutSeconds` or at shutdown.
"""
from __future__ import annotations

import time
from typing import Any, Iterator

from .objects import served
from .resources import ResourceType
from .selectors import Selection
from .status import expired
from .store import Change, Store

# The apiserver ends watches after a random time of 30 to 60 minutes unless timeoutSeconds is given.
DEFAULT_TIMEOUT = 1800.0
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


class Watch:
    """One watch request; iterate `events()` to stream it."""

    def __init__(self, *, store: Store, rtype: ResourceType, namespace: str | None, selection: Selection,
                 query: dict[str, str]) -> None:
        self.store = store
        self.rtype = rtype
        self.namespace = namespace
        self.selection = selection
        self.resource_version = query.get("resourceVersion") or ""
        self.send_initial = query.get("sendInitialEvents") == "true"
        self.bookmarks = query.get("allowWatchBookmarks") == "true"
        timeout = query.get("timeoutSeconds")
        self.timeout = float(timeout) if timeout and timeout.isdigit() else DEFAULT_TIMEOUT

    def _visible(self, obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        if self.namespace is not None and (obj["metadata"].get("namespace") or "") != self.namespace:
            return False
        return self.selection.matches(obj)

    def _event(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        return {"type": kind, "object": served(obj, self.rtype)}

    def _translate(self, change: Change) -> dict[str, Any] | None:
        if change.group_resource != self.rtype.group_resource:
            return None
        now_visible = change.type != "DELETED" and self._visible(change.obj)
        was_visible = change.type != "ADDED" and self._visible(change.old)
        if change.type == "DELETED":
            return self._event("DELETED", change.obj) if was_visible else None
        if now_visible and was_visible:
            return self._event("MODIFIED", change.obj)
        if now_visible:
            return self._event("ADDED", change.obj)
        if was_visible:
            return self._event("DELETED", change.obj)
        return None

    def _bookmark(self, revision: int, *, initial_end: bool) -> dict[str, Any]:
        metadata: dict[str, Any] = {"resourceVersion": str(revision)}
        if initial_end:
            metadata["annotations"] = {INITIAL_EVENTS_END: "true"}
        return {"type": "BOOKMARK", "object": {"apiVersion": self.rtype.api_version, "kind": self.rtype.kind,
                                               "metadata": metadata}}

    def events(self) -> Iterator[dict[str, Any]]:
        deadline = time.monotonic() + self.timeout
        with self.store.lock:
            revision = self.store.revision
            initial = self.store.items(self.rtype.group_resource, self.namespace)
        if self.send_initial or self.resource_version in ("", "0"):
            for obj in initial:
                if self.selection.matches(obj):
                    yield self._event("ADDED", obj)
            if self.send_initial and self.bookmarks:
                yield self._bookmark(revision, initial_end=True)
        else:
            try:
                revision = int(self.resource_version)
            except ValueError:
                revision = -1
            if revision < 0 or self.store.changes_since(revision) is None:
                error = expired(f"too old resource version: {self.resource_version} ({self.store.compacted})")
                yield {"type": "ERROR", "object": error.status}
                return
        while True:
            with self.store.changed:
                while self.store.revision <= revision and not self.store.closed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return
                    self.store.changed.wait(min(remaining, 1.0))
                if self.store.closed:
                    return
                changes = self.store.changes_since(revision)
            if changes is None:  # this watcher fell behind the history
                yield {"type": "ERROR", "object": expired(f"too old resource version: {revision}").status}
                return
            for change in changes:
                revision = change.revision
                event = self._translate(change)
                if event is not None:
                    yield event
            if time.monotonic() >= deadline:
                return
