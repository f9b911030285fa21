"""The sandbox's etcd: objects by (group, plural) and (namespace, name), one revision counter, and
the change history that watches replay.

Stored objects are never edited after `put` (writes build new dicts), so readers can serialize
them without copying. Every change gets the next cluster-wide revision, which becomes the object's
`metadata.resourceVersion`, exactly like etcd's mod revision. `lock` is held by the write path
for a whole read-check-write, which is what makes resourceVersion preconditions atomic.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable

GroupResource = tuple[str, str]
Key = tuple[str, str]  # (namespace or "", name)

# How many changes a watch can replay; older starting points get 410 Gone, as after etcd compaction.
HISTORY = 100_000


@dataclass(frozen=True)
class Change:
    """One entry of the change history (what a watch event is made from)."""

    revision: int
    type: str  # ADDED, MODIFIED, DELETED
    group_resource: GroupResource
    obj: dict[str, Any]
    old: dict[str, Any] | None


def key_of(obj: dict[str, Any]) -> Key:
    metadata = obj["metadata"]
    return (metadata.get("namespace") or "", metadata["name"])


class Store:
    """Objects, revisions and history; thread-safe."""

    def __init__(self, *, history: int = HISTORY) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.revision = 1
        self.closed = False
        self._objects: dict[GroupResource, dict[Key, dict[str, Any]]] = {}
        self._history: deque[Change] = deque(maxlen=history)
        self._compacted = 0  # newest revision no longer in the history
        # Serialized forms of stored objects by (group_resource, key, variant): LISTs join bytes
        # instead of re-encoding every object. Dropped whenever the object changes.
        self._encoded: dict[tuple[GroupResource, Key], dict[str, tuple[dict[str, Any], bytes]]] = {}
        self.listeners: list[Callable[[], None]] = []

    def get(self, group_resource: GroupResource, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects.get(group_resource, {}).get((namespace, name))

    def items(self, group_resource: GroupResource, namespace: str | None = None) -> list[dict[str, Any]]:
        """Objects in key order (namespace, then name), as etcd returns a range."""
        with self.lock:
            bucket = list(self._objects.get(group_resource, {}).items())
        if namespace is not None:
            bucket = [entry for entry in bucket if entry[0][0] == namespace]
        bucket.sort(key=lambda entry: entry[0])
        return [obj for _, obj in bucket]

    def encoded(self, group_resource: GroupResource, obj: dict[str, Any], variant: str,
                encode: Callable[[dict[str, Any]], bytes]) -> bytes:
        """`encode(obj)` for a stored object, computed once per object and variant."""
        variants = self._encoded.setdefault((group_resource, key_of(obj)), {})
        cached = variants.get(variant)
        if cached is not None and cached[0] is obj:
            return cached[1]
        data = encode(obj)
        variants[variant] = (obj, data)
        return data

    def count(self, group_resource: GroupResource) -> int:
        return len(self._objects.get(group_resource, {}))

    def group_resources(self) -> list[GroupResource]:
        with self.lock:
            return [gr for gr, bucket in self._objects.items() if bucket]

    def put(self, group_resource: GroupResource, obj: dict[str, Any], *, old: dict[str, Any] | None) -> dict[str, Any]:
        """Store `obj` (created or replacing `old`) under the next revision and record the change."""
        with self.lock:
            self.revision += 1
            obj["metadata"]["resourceVersion"] = str(self.revision)
            self._objects.setdefault(group_resource, {})[key_of(obj)] = obj
            self._forget_encoded(group_resource, key_of(obj))
            self._record(Change(self.revision, "MODIFIED" if old else "ADDED", group_resource, obj, old))
        return obj

    def delete(self, group_resource: GroupResource, key: Key) -> dict[str, Any] | None:
        """Remove an object; the DELETED change carries it with the deletion's revision."""
        with self.lock:
            old = self._objects.get(group_resource, {}).pop(key, None)
            if old is None:
                return None
            self._forget_encoded(group_resource, key)
            self.revision += 1
            gone = {**old, "metadata": {**old["metadata"], "resourceVersion": str(self.revision)}}
            self._record(Change(self.revision, "DELETED", group_resource, gone, old))
            return gone

    def _forget_encoded(self, group_resource: GroupResource, key: Key) -> None:
        self._encoded.pop((group_resource, key), None)

    def _record(self, change: Change) -> None:
        if len(self._history) == self._history.maxlen:
            self._compacted = self._history[0].revision
        self._history.append(change)
        self.changed.notify_all()
        for listener in self.listeners:
            listener()

    def changes_since(self, revision: int) -> list[Change] | None:
        """Changes after `revision`, or None when the history no longer reaches back that far."""
        with self.lock:
            if revision < self._compacted:
                return None
            if not self._history or self._history[-1].revision <= revision:
                return []
            return [change for change in self._history if change.revision > revision]

    @property
    def compacted(self) -> int:
        return self._compacted

    def close(self) -> None:
        """Wake every watcher so it can end its stream (server shutdown)."""
        with self.lock:
            self.closed = True
            self.changed.notify_all()

    def snapshot(self) -> tuple[int, list[tuple[GroupResource, dict[str, Any]]]]:
        with self.lock:
            return self.revision, [(gr, obj) for gr, bucket in self._objects.items() for obj in bucket.values()]

    def restore(self, revision: int, objects: Iterable[tuple[GroupResource, dict[str, Any]]]) -> None:
        """Load objects as they were saved (revisions kept), without history."""
        with self.lock:
            for group_resource, obj in objects:
                self._objects.setdefault(group_resource, {})[key_of(obj)] = obj
            self.revision = max(self.revision, revision)
            self._compacted = self.revision
