"""The request log: every API call the sandbox answered, so tests and benchmarks can count them.

`server.log.count(verb="patch", resource="virtualservices", status=200)` is how a test proves that
a diff cost one LIST per kind, or that apply retried exactly twice after injected 503s. Filters
compare attributes of `LogEntry` for equality; a set, tuple or list means "any of these".
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any, Iterator


@dataclass(frozen=True)
class LogEntry:
    """One answered request."""

    method: str
    path: str
    verb: str  # get, list, watch, create, update, patch, delete, deletecollection (lower-case method elsewhere)
    status: int
    resource: str | None = None
    subresource: str = ""
    group: str = ""
    version: str = ""
    namespace: str | None = None
    name: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    content_type: str | None = None
    field_manager: str | None = None
    user_agent: str = ""
    duration: float = 0.0  # seconds until the answer was ready (a watch: until its stream began)
    injected: bool = False  # answered by an injected fault
    time: float = 0.0
    body: bytes = b""  # the request body as sent (tests check what a write asked for, e.g. route weights)


_FIELDS = {f.name for f in fields(LogEntry)}


def _matches(entry: LogEntry, filters: dict[str, Any]) -> bool:
    for name, wanted in filters.items():
        value = getattr(entry, name)
        if isinstance(wanted, (set, frozenset, tuple, list)):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True


class RequestLog:
    """Thread-safe, append-only (until `clear`) list of `LogEntry`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LogEntry] = []

    def append(self, entry: LogEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self, **filters: Any) -> list[LogEntry]:
        unknown = set(filters) - _FIELDS
        if unknown:
            raise TypeError(f"unknown request log field(s): {', '.join(sorted(unknown))}")
        with self._lock:
            snapshot = list(self._entries)
        return [entry for entry in snapshot if _matches(entry, filters)]

    def count(self, **filters: Any) -> int:
        return len(self.entries(**filters))

    def counts(self) -> Counter:
        """Requests per (verb, resource, status)."""
        return Counter((e.verb, e.resource, e.status) for e in self.entries())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[LogEntry]:
        return iter(self.entries())
