"""Namespace deletion as a cluster does it: Terminating first, emptied by a controller, gone last.

A DELETE of a namespace only marks it (`deletionTimestamp`, `status.phase: Terminating`; its
`spec.finalizers` keeps `kubernetes`), and from then on nothing new may be created in it (the
write path answers 403 Forbidden, `unable to create new content in namespace x because it is being
terminated`). After `delay` seconds this controller — the namespace controller of
kube-controller-manager — deletes what the namespace holds (objects with finalizers are only marked
and keep the namespace Terminating until they go), then removes the `kubernetes` finalizer and the
namespace itself. The delay is what lets `kubectl delete -f` of a namespace and the objects in it
delete each of them, as on a real cluster.
"""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from .status import forbidden

if TYPE_CHECKING:
    from .deletes import Deleter

NAMESPACES = ("", "namespaces")
# Namespaces the apiserver refuses to delete.
UNDELETABLE = frozenset({"default", "kube-system", "kube-public"})
# Seconds between a namespace's DELETE and the controller emptying it (kube-controller-manager reacts
# within a second or so; kubectl's deletes of the namespace's own objects come well before that).
DEFAULT_DELAY = 0.5
# How often a Terminating namespace whose objects still have finalizers is looked at again.
RETRY = 0.2


def refuse_undeletable(name: str) -> None:
    if name in UNDELETABLE:
        raise forbidden("namespaces", "", name, "this namespace may not be deleted")


class NamespaceController:
    """Empties and removes Terminating namespaces in the background (see module docstring)."""

    def __init__(self, *, deleter: "Deleter", delay: float = DEFAULT_DELAY) -> None:
        self.deleter = deleter
        self.store = deleter.store
        self.delay = delay
        self._due: dict[str, float] = {}
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        for namespace in self.store.items(NAMESPACES):  # Terminating ones from a state file
            if namespace["metadata"].get("deletionTimestamp"):
                self.terminate(namespace["metadata"]["name"])
        self._thread = threading.Thread(target=self._run, name="sandbox-namespace-controller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def terminate(self, name: str) -> None:
        """Schedule the clean-up of a namespace that was just marked Terminating."""
        with self._wake:
            self._due.setdefault(name, time.monotonic() + self.delay)
            self._wake.notify_all()

    def _run(self) -> None:
        while True:
            with self._wake:
                if self._stopping:
                    return
                now = time.monotonic()
                ready = [name for name, due in self._due.items() if due <= now]
                if not ready:
                    wait = min(self._due.values(), default=now + 1.0) - now
                    self._wake.wait(max(wait, 0.01))
                    continue
            for name in ready:
                finished = self._empty(name)
                with self._wake:
                    if finished:
                        self._due.pop(name, None)
                    else:
                        self._due[name] = time.monotonic() + RETRY

    def _empty(self, name: str) -> bool:
        """Delete the namespace's objects, then the namespace once nothing is left; True when done."""
        with self.store.lock:
            namespace = self.store.get(NAMESPACES, "", name)
            if namespace is None or not namespace["metadata"].get("deletionTimestamp"):
                return True
            remaining = 0
            for group_resource in self.store.group_resources():
                if group_resource == NAMESPACES:
                    continue
                rtype = self.deleter.registry.storage_type(*group_resource)
                for obj in self.store.items(group_resource, name):
                    if rtype is not None and obj["metadata"].get("finalizers"):
                        self.deleter.mark(rtype, obj)
                        remaining += 1
                    else:
                        self.store.delete(group_resource, (name, obj["metadata"]["name"]))
            if remaining:
                return False
            self.store.delete(NAMESPACES, ("", name))
            return True
