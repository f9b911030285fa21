"""People's commands on a rollout: pause, resume, promote, abort — each one guarded write.

The same state the engine reads: a rollout paused from a laptop stops advancing in the CI job that
drives it (within `engine.MAX_SLEEP`), and a promote or abort ends it there too. Every command
names who gave it (`user@host`) in the state and in the Event.
"""
from __future__ import annotations

import getpass
import socket
import time
from typing import Callable

from ..model.errors import UsageError
from .decide import Decision, commanded
from .event_recorder import EventRecorder
from .store import LiveRollout, RolloutRef, RolloutStore


def default_actor() -> str:
    """Who is giving the command, as `user@host` (the state and the Event record it)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def run_command(
    store: RolloutStore,
    ref: RolloutRef,
    *,
    command: str,
    actor: str,
    clock: Callable[[], float] = time.time,
    events: EventRecorder | None = None,
) -> tuple[LiveRollout, Decision | None]:
    """Carry out `command` on the rollout of `ref`; the decision is None when it was already in effect."""

    def decide(live: LiveRollout) -> Decision | None:
        if live.state is None:
            raise UsageError(f"{ref.described} has no rollout", obj=str(ref),
                             hint="a rollout starts when git names a new version and `meshops apply` runs")
        return commanded(live.state, command, now=clock(), actor=actor)

    return store.update(ref, decide, events=events)
