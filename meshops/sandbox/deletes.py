"""DELETE and deletecollection, with what a deletion drags along.

Preconditions (`uid`, `resourceVersion` in DeleteOptions) are checked under the store lock. An
object with finalizers is only marked (`deletionTimestamp`) and goes when an update removes its
last finalizer (`Writer` calls `remove` then). Unlike a real cluster, where a namespace
controller empties a Terminating namespace in the background, a deleted namespace takes its
objects with it at once; a deleted CRD takes its objects and stops being served.
"""
from __future__ import annotations

from typing import Callable

from .namespaces import refuse_undeletable
from .objects import Clock, clone, served, timestamp
from .reads import stored
from .registry import Registry
from .resources import ResourceType
from .status import precondition_conflict, success
from .store import Store

CRD_RESOURCE = ("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACES = ("", "namespaces")
# Kinds whose DELETE answers with the object (the others answer with a Success Status).
RETURNS_DELETED_OBJECT = {CRD_RESOURCE, NAMESPACES, ("", "services"), ("", "pods")}


class Deleter:
    def __init__(self, *, registry: Registry, store: Store, clock: Clock) -> None:
        self.registry = registry
        self.store = store
        self.clock = clock
        # Told the name of every namespace that becomes Terminating (the namespace controller).
        self.on_terminating: Callable[[str], None] = lambda name: None

    def delete(self, rtype: ResourceType, namespace: str, name: str, *, options: dict, dry_run: bool) -> dict:
        with self.store.lock:
            old = stored(self.store, rtype, namespace, name)
            self._delete_preconditions(rtype, old, options)
            if rtype.group_resource == NAMESPACES:
                refuse_undeletable(name)
                return served(self._terminate(rtype, old, dry_run=dry_run), rtype)
            if old["metadata"].get("finalizers"):
                return served(self.mark(rtype, old, dry_run=dry_run), rtype)
            if dry_run:
                return self._deleted_response(rtype, served(old, rtype))
            return self._deleted_response(rtype, served(self.remove(rtype, old), rtype))

    def _terminate(self, rtype: ResourceType, old: dict, *, dry_run: bool) -> dict:
        """A namespace goes Terminating; the namespace controller empties and removes it later."""
        if old["metadata"].get("deletionTimestamp"):
            return old
        marked = clone(old)
        marked["metadata"].update(deletionTimestamp=timestamp(self.clock()), deletionGracePeriodSeconds=0)
        marked["status"] = {**(marked.get("status") or {}), "phase": "Terminating"}
        if dry_run:
            return marked
        stored_namespace = self.store.put(rtype.group_resource, marked, old=old)
        self.on_terminating(old["metadata"]["name"])
        return stored_namespace

    def mark(self, rtype: ResourceType, old: dict, *, dry_run: bool = False) -> dict:
        """An object with finalizers is only marked; it goes once its last finalizer is removed."""
        if old["metadata"].get("deletionTimestamp"):
            return old
        marked = clone(old)
        marked["metadata"].update(deletionTimestamp=timestamp(self.clock()), deletionGracePeriodSeconds=0)
        if dry_run:
            return marked
        return self.store.put(rtype.group_resource, marked, old=old)

    def remove(self, rtype: ResourceType, old: dict) -> dict:
        """Delete a stored object now (and what depends on it); returns it as deleted."""
        metadata = old["metadata"]
        gone = self.store.delete(rtype.group_resource, (metadata.get("namespace") or "", metadata["name"]))
        if gone is None:  # deleted meanwhile (a collection delete read it before taking the lock)
            return old
        self._after_delete(rtype, gone)
        return gone

    def delete_collection(self, rtype: ResourceType, namespace: str | None, selected: list[dict], *,
                          dry_run: bool) -> dict:
        items = []
        with self.store.lock:
            for obj in selected:
                metadata = obj["metadata"]
                if dry_run:
                    items.append(served(obj, rtype))
                    continue
                if rtype.group_resource == NAMESPACES:
                    items.append(served(self._terminate(rtype, obj, dry_run=False), rtype))
                elif metadata.get("finalizers"):
                    items.append(served(self.mark(rtype, obj, dry_run=False), rtype))
                else:
                    items.append(served(self.remove(rtype, obj), rtype))
        return {"apiVersion": rtype.api_version, "kind": rtype.list_kind,
                "metadata": {"resourceVersion": str(self.store.revision)}, "items": items}

    def _delete_preconditions(self, rtype: ResourceType, old: dict, options: dict) -> None:
        preconditions = (options or {}).get("preconditions") or {}
        metadata = old["metadata"]
        for field_name, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            wanted = preconditions.get(field_name)
            if wanted and wanted != metadata.get(field_name):
                raise precondition_conflict(rtype.plural, rtype.group, metadata["name"],
                                            f"Precondition failed: {label} in precondition: {wanted}, "
                                            f"{label} in object meta: {metadata.get(field_name)}")

    def _deleted_response(self, rtype: ResourceType, obj: dict) -> dict:
        if rtype.custom or rtype.group_resource in RETURNS_DELETED_OBJECT:
            return obj
        metadata = obj["metadata"]
        return success(resource=rtype.plural, group=rtype.group, name=metadata["name"], uid=metadata.get("uid", ""))

    def _after_delete(self, rtype: ResourceType, gone: dict) -> None:
        if rtype.group_resource == CRD_RESOURCE:
            spec = gone.get("spec") or {}
            group_resource = (spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))
            for obj in self.store.items(group_resource):
                self.store.delete(group_resource, (obj["metadata"].get("namespace") or "", obj["metadata"]["name"]))
            self.registry.remove(gone["metadata"]["name"])
