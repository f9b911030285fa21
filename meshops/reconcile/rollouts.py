"""After apply: the rollouts a revision started, driven to the end (`--wait`) or looked at.

Rollout state lives on each VirtualService or HTTPRoute (`meshops.dev/rollout`, written by the rollout
engine), so reconcile needs no memory of its own: it lists the environment's VirtualServices and
reads their phases — only those this repository owns (labels and the `meshops.dev/owner`
annotation, or labels alone on objects from before owner annotations): another repository's
environment of the same name neither holds this one back nor fails it. An environment whose rollouts are still active is Progressing and holds back
the next environment in promotion order; a rollout that failed for this revision fails it.
Driving them is the use case every entry point shares, `meshops.pipeline.rollouts.drive_rollouts`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..cluster.api import KubeApi
from ..cluster.discovery import Discovery
from ..cluster.target import Connection
from ..model.identity import Claim, Owner, claim_of, owner_selector
from ..cluster.live import list_objects
from ..rollout.router import ROUTERS
from ..rollout.state import ACTIVE_PHASES, BY_GIT, ROLLED_BACK_PHASES, state_of
from ..pipeline.operator import Operator
from .lock import Phase


@dataclass
class RolloutsResult:
    """Where the environment's rollouts stand: a phase for the Lease record and one row per rollout."""

    phase: str
    reason: str
    rollouts: list[dict[str, Any]] = field(default_factory=list)


def rollout_states(api: KubeApi, discovery: Discovery, *, owner: Owner, namespace: str) -> list[dict[str, Any]]:
    """One row per route object (VirtualService, HTTPRoute) of `owner`'s environment that carries rollout state."""
    rows = []
    for group, kind in ROUTERS:
        resource = discovery.preferred(group, kind)
        if resource is None:
            continue
        for obj in list_objects(api, resource, namespace=namespace, label_selector=owner_selector(owner.environment)):
            state = state_of(obj)
            if state is not None and claim_of(obj, owner) is not Claim.OTHERS:
                # `virtualService` names the route object whatever its kind (the key older readers know).
                rows.append({"virtualService": obj["metadata"]["name"], "kind": kind, "service": state.service,
                             "phase": state.phase, "stable": state.stable, "canary": state.canary, "step": state.step,
                             "revision": state.revision, "endedBy": state.ended_by, "reason": state.message})
    return rows


def summarize(rows: list[dict[str, Any]], *, revision: str) -> RolloutsResult:
    """Progressing while any rollout is active; Failed if one failed for this revision; else Succeeded."""
    active = [row for row in rows if row["phase"] in ACTIVE_PHASES]
    if active:
        names = ", ".join(f"{row['virtualService']} ({row['phase']})" for row in active)
        return RolloutsResult(Phase.PROGRESSING, f"rollouts still running: {names}", rows)
    # Rolled back by the analysis or by a person: later environments must not get this revision.
    # Git naming the stable version again (a revert) is a change like any other, not a failure.
    failed = [row for row in rows if row["phase"] in ROLLED_BACK_PHASES and row.get("endedBy") != BY_GIT
              and row.get("revision") in (revision, None)]
    if failed:
        names = ", ".join(f"{row['virtualService']}" + (f" ({row['reason']})" if row.get("reason") else "") for row in failed)
        return RolloutsResult(Phase.FAILED, f"rollout failed: {names}", rows)
    done = [row for row in rows if row.get("revision") == revision]
    return RolloutsResult(Phase.SUCCEEDED, f"{len(done)} rollouts succeeded" if done else "no rollout started", rows)


def _drive(connection: Connection, config: Any, *, operator: Operator | None, owner: Owner, emit: Callable[[str], None],
           label: str) -> None:
    """Run the environment's active rollouts until each ends, one line per decision."""
    from ..pipeline.rollouts import active_rollouts, drive_rollouts, notifier_of, rollout_store
    from ..rollout.driver import Tick

    if all(connection.discovery.preferred(group, kind) is None for group, kind in ROUTERS):
        return  # no routed kind served (neither Istio nor the Gateway API installed): no rollout can exist
    store = rollout_store(connection, owner=owner)
    notifier = notifier_of(config, operator=operator)
    refs = active_rollouts(store, config.name, notifier=notifier)
    if not refs:
        return
    emit(f"{label}: driving {len(refs)} rollouts: {', '.join(ref.name for ref in refs)}")

    def progress(tick: Tick) -> None:
        line = tick.line()
        if line:
            emit(f"{label}: {line}")

    drive_rollouts(connection, config, owner=owner, refs=refs, store=store, operator=operator, notifier=notifier, on_tick=progress)


def finish_rollouts(connection: Connection, config: Any, *, revision: str, wait: bool, operator: Operator | None,
                    owner: Owner, emit: Callable[[str], None], label: str | None = None) -> RolloutsResult:
    """Drive (when `wait`) and then summarize `owner`'s rollouts of the environment on `connection`'s cluster
    (`label` names it in progress lines: the environment, or environment/cluster)."""
    if wait:
        _drive(connection, config, operator=operator, owner=owner, emit=emit, label=label or config.name)
    return summarize(rollout_states(connection.api, connection.discovery, owner=owner, namespace=config.namespace),
                     revision=revision)
