"""After apply: the rollouts a revision started, driven to the end (`--wait`) or looked at.

Rollout state lives on each VirtualService (`meshops.dev/rollout`, written by the rollout
engine), so reconcile needs no memory of its own: it lists the environment's VirtualServices and
reads their phases. An environment whose rollouts are still active is Progressing and holds back
the next environment in promotion order; a rollout that failed for this revision fails it.
`drive_rollouts` is the single place that calls the rollout engine.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..cluster.api import KubeApi
from ..cluster.discovery import Discovery
from ..cluster.live import list_objects, owner_selector
from ..rollout.overlay import ACTIVE_PHASES, rollout_state
from .lock import Phase

VIRTUAL_SERVICE = ("networking.istio.io/v1", "VirtualService")
FAILED_PHASES = frozenset({"Failed", "RolledBack", "Aborted"})


@dataclass
class RolloutsResult:
    """Where the environment's rollouts stand: a phase for the Lease record and one row per rollout."""

    phase: str
    reason: str
    rollouts: list[dict[str, Any]] = field(default_factory=list)


def rollout_states(api: KubeApi, discovery: Discovery, *, environment: str, namespace: str) -> list[dict[str, Any]]:
    """One row per VirtualService of the environment that carries rollout state."""
    resource = discovery.resolve(*VIRTUAL_SERVICE)
    if resource is None:
        return []
    rows = []
    for obj in list_objects(api, resource, namespace=namespace, label_selector=owner_selector(environment)):
        state = rollout_state(obj)
        if state:
            rows.append({"virtualService": obj["metadata"]["name"], "phase": str(state.get("phase", "")),
                         "revision": state.get("revision"), "step": state.get("step"), "reason": state.get("reason")})
    return rows


def summarize(rows: list[dict[str, Any]], *, revision: str) -> RolloutsResult:
    """Progressing while any rollout is active; Failed if one failed for this revision; else Succeeded."""
    active = [row for row in rows if row["phase"] in ACTIVE_PHASES]
    if active:
        names = ", ".join(f"{row['virtualService']} ({row['phase']})" for row in active)
        return RolloutsResult(Phase.PROGRESSING, f"rollouts still running: {names}", rows)
    failed = [row for row in rows if row["phase"] in FAILED_PHASES and row.get("revision") in (revision, None)]
    if failed:
        names = ", ".join(f"{row['virtualService']}" + (f" ({row['reason']})" if row.get("reason") else "") for row in failed)
        return RolloutsResult(Phase.FAILED, f"rollout failed: {names}", rows)
    done = [row for row in rows if row.get("revision") == revision]
    return RolloutsResult(Phase.SUCCEEDED, f"{len(done)} rollouts succeeded" if done else "no rollout started", rows)


def drive_rollouts(*, api: KubeApi, environment: str, config: Any, emit: Callable[[str], None]) -> None:
    """Run the environment's active rollouts until each ends (the rollout engine, issue 6).

    The engine is not part of this build yet: apply moves routes directly, so nothing is active
    and there is nothing to drive. Wiring it is this one call.
    """
    return None


def finish_rollouts(*, api: KubeApi, discovery: Discovery, environment: str, namespace: str, revision: str,
                    wait: bool, config: Any, emit: Callable[[str], None]) -> RolloutsResult:
    """Drive (when `wait`) and then summarize the environment's rollouts."""
    if wait:
        drive_rollouts(api=api, environment=environment, config=config, emit=emit)
    return summarize(rollout_states(api, discovery, environment=environment, namespace=namespace), revision=revision)
