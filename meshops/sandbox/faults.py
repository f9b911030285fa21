"""Fault injection: make chosen requests fail the way a struggling apiserver does.

A `Fault` picks requests by verb, resource, namespace and name, then fires on every match, on a
share of them (seeded, so a test is repeatable) or on the Nth ones (1-based, counted per fault),
at most `times` times. Firing means: wait `delay` seconds, then either drop the connection without
an answer, or answer `status` with the Status body a real server sends for it (429 with a
`Retry-After` header), or — with neither — go on and serve the request normally (a slow server).
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Collection, Iterable

from .status import ApiError

# Messages the apiserver (or the proxy in front of it) uses for these codes.
_MESSAGES = {
    429: "the server has received too many requests and has asked us to try again later",
    500: "Internal error occurred: injected fault",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be processing the request",
}


@dataclass
class Fault:
    """One injected failure rule (see module docstring)."""

    status: int | None = None
    share: float | None = None
    nth: int | Iterable[int] | None = None
    times: int | None = None
    delay: float = 0.0
    drop_connection: bool = False
    retry_after: int | None = None
    verbs: Collection[str] | None = None
    resources: Collection[str] | None = None
    namespaces: Collection[str] | None = None
    names: Collection[str] | None = None
    message: str | None = None
    seed: int | None = 0
    matched: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"fault status must be a 4xx or 5xx code, not {self.status}")
        if self.status is None and not self.drop_connection and not self.delay:
            raise ValueError("a fault needs a status, drop_connection=True or a delay")
        if self.share is not None and not 0.0 <= self.share <= 1.0:
            raise ValueError(f"fault share must be between 0 and 1, not {self.share}")
        if self.retry_after is not None and self.status is None:
            raise ValueError("retry_after needs a status (usually 429 or 503)")
        if isinstance(self.nth, int):
            self.nth = {self.nth}
        elif self.nth is not None:
            self.nth = set(self.nth)
        if self.nth is not None and any(n < 1 for n in self.nth):
            raise ValueError("nth counts matching requests from 1")
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def _selects(self, *, verb: str, resource: str | None, namespace: str | None, name: str | None) -> bool:
        return all((
            self.verbs is None or verb in self.verbs,
            self.resources is None or resource in self.resources,
            self.namespaces is None or namespace in self.namespaces,
            self.names is None or name in self.names,
        ))

    def fires(self, *, verb: str, resource: str | None, namespace: str | None, name: str | None) -> bool:
        """Count a request against this fault and say whether the fault hits it."""
        if not self._selects(verb=verb, resource=resource, namespace=namespace, name=name):
            return False
        with self._lock:
            self.matched += 1
            if self.times is not None and self.fired >= self.times:
                return False
            if self.nth is not None and self.matched not in self.nth:
                return False
            if self.share is not None and self._random.random() >= self.share:
                return False
            self.fired += 1
            return True

    def error(self) -> ApiError | None:
        """The answer this fault gives, or None when it only delays or drops."""
        if self.status is None:
            return None
        headers = {}
        details = None
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
            details = {"retryAfterSeconds": self.retry_after}
        message = self.message or _MESSAGES.get(self.status, "injected fault")
        return ApiError(self.status, message, details=details, headers=headers)


class Faults:
    """The active faults of one server; the first one that fires wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if f is not fault]

    def clear(self) -> None:
        with self._lock:
            self._faults = []

    def __len__(self) -> int:
        return len(self._faults)

    def pick(self, *, verb: str, resource: str | None, namespace: str | None, name: str | None) -> Fault | None:
        for fault in list(self._faults):
            if fault.fires(verb=verb, resource=resource, namespace=namespace, name=name):
                return fault
        return None
