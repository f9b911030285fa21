"""`--state FILE`: the sandbox's objects kept across restarts.

The file is JSON (revision counter plus every stored object, CRDs included) and is always replaced
atomically: written to a temporary file in the same directory, flushed to disk, then renamed over
the old one, so a crash leaves either the previous or the new state, never half of one. Writes are
coalesced by a background thread (at most one per `DEBOUNCE` seconds) and done once more at stop.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from ..model.errors import ConfigError, Location
from ..yamlio.atomic_write import write_atomically
from .objects import dumps
from .store import Store

FORMAT = "meshops.dev/sandbox-state/v1"
# Long enough to fold a burst of writes (an apply of a whole environment) into one file write.
DEBOUNCE = 0.2


def load(path: Path) -> tuple[int, list[tuple[tuple[str, str], dict[str, Any]]]] | None:
    """(revision, objects) saved in `path`, or None when the file does not exist yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(f"cannot read the sandbox state: {error.strerror}", location=Location(str(path))) from None
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
        objects = [((entry["group"], entry["resource"]), entry["object"]) for entry in data["objects"]]
        return int(data["revision"]), objects
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConfigError(f"not a sandbox state file: {error}", location=Location(str(path)),
                          hint="point --state at a new file, or delete this one to start empty") from None


def save(path: Path, store: Store) -> None:
    revision, objects = store.snapshot()
    # Each object's JSON is cached by the store until it changes, so saving after a few writes
    # re-encodes only those objects.
    entries = [b'{"group":%s,"resource":%s,"object":%s}' % (dumps(group), dumps(resource),
                                                          store.encoded((group, resource), obj, "state", dumps))
               for (group, resource), obj in objects]
    payload = b'{"format":%s,"revision":%d,"objects":[%s]}' % (dumps(FORMAT), revision, b",".join(entries))
    write_atomically(path, payload)


class StateWriter:
    """Saves the store to `path` shortly after it changes, and once more on `close`."""

    def __init__(self, path: Path, store: Store) -> None:
        self.path = path
        self.store = store
        self._dirty = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sandbox-state", daemon=True)
        store.listeners.append(self._dirty.set)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping:
            self._dirty.wait()
            if self._stopping:
                return
            time.sleep(DEBOUNCE)
            self._dirty.clear()
            save(self.path, self.store)

    def close(self) -> None:
        self._stopping = True
        self._dirty.set()
        self._thread.join(timeout=5)
        save(self.path, self.store)
