"""Apply order as data: which writes go first so traffic never points at nothing.

Phases run one after another; inside a phase, writes are grouped by the kind's `order` from
`meshops.model.kinds` (ascending: namespaces, then ServiceEntries/DestinationRules/Gateways, then
VirtualServices, then policies) and a group finishes before the next starts.

- EXPAND: creates and updates. A DestinationRule update that drops subsets a live VirtualService
  still routes to is written with those subsets kept for now (expand), so the route never points
  at a missing subset while the VirtualServices are being rewritten.
- CONTRACT: the desired DestinationRules for the expanded ones, after every VirtualService
  stopped using the dropped subsets (still keeping any subset a written VirtualService routes to,
  such as the stable version while a canary rollout runs).
- PRUNE: deletions, in *descending* order: routes go before the subsets and hosts they use.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import Enum

from ..diff.plan import Action, Change, Plan


class Phase(str, Enum):
    EXPAND = "expand"
    CONTRACT = "contract"
    PRUNE = "prune"


@dataclass
class Write:
    """One write to perform: the change it serves, the object to send (None for deletes), its phase."""

    change: Change
    body: dict | None
    phase: Phase

    @property
    def order(self) -> int:
        return self.change.order


def _routed_subsets(vs: dict | None, namespace: str, into: dict[tuple[str, str], set[str]]) -> None:
    for protocol in ("http", "tcp", "tls"):
        for rule in ((vs or {}).get("spec") or {}).get(protocol) or []:
            for route in rule.get("route") or []:
                destination = route.get("destination") or {}
                if destination.get("subset"):
                    host = destination.get("host", "").split(".")[0]
                    into.setdefault((namespace, host), set()).add(destination["subset"])


def _subsets_in_use(plan: Plan) -> tuple[dict[tuple[str, str], set[str]], dict[tuple[str, str], set[str]]]:
    """(namespace, host) -> subsets routed to: (by live or to-be-written VirtualServices, by to-be-written ones).

    The first keeps subsets alive while VirtualServices are rewritten (expand); the second keeps
    those the written VirtualServices still use afterwards, e.g. the stable subset while a rollout
    (the overlay) still sends it traffic although git already names the new version (contract).
    """
    during: dict[tuple[str, str], set[str]] = {}
    after: dict[tuple[str, str], set[str]] = {}
    for change in plan.changes:
        if change.key.kind != "VirtualService" or change.action is Action.PRUNE:
            continue
        final = change.desired if change.action in (Action.CREATE, Action.UPDATE) else change.live
        _routed_subsets(change.live, change.key.namespace, during)
        _routed_subsets(final, change.key.namespace, during)
        _routed_subsets(final, change.key.namespace, after)
    return during, after


def _with_subsets_kept(change: Change, in_use: dict[tuple[str, str], set[str]]) -> dict | None:
    """The desired DestinationRule plus live subsets still in use, or None if nothing to keep."""
    desired = change.desired
    host = ((desired.get("spec") or {}).get("host") or "").split(".")[0]
    wanted = {subset.get("name") for subset in (desired.get("spec") or {}).get("subsets") or []}
    keep = [
        subset
        for subset in ((change.live or {}).get("spec") or {}).get("subsets") or []
        if subset.get("name") not in wanted and subset.get("name") in in_use.get((change.key.namespace, host), set())
    ]
    if not keep:
        return None
    body = copy.deepcopy(desired)
    body.setdefault("spec", {}).setdefault("subsets", []).extend(copy.deepcopy(keep))
    return body


def schedule(plan: Plan, *, prune: bool = True) -> list[list[Write]]:
    """Groups of writes; each group may run concurrently, groups run in sequence."""
    during, after = _subsets_in_use(plan)
    expand: list[Write] = []
    contract: list[Write] = []
    for change in plan.changes:
        if change.action not in (Action.CREATE, Action.UPDATE):
            continue
        body = change.desired
        if change.action is Action.UPDATE and change.key.kind == "DestinationRule":
            expanded = _with_subsets_kept(change, during)
            if expanded is not None:
                expand.append(Write(change, expanded, Phase.EXPAND))
                contract.append(Write(change, _with_subsets_kept(change, after) or body, Phase.CONTRACT))
                continue
        expand.append(Write(change, body, Phase.EXPAND))
    prunes = [Write(change, None, Phase.PRUNE) for change in plan.prunes] if prune else []
    groups: list[list[Write]] = []
    for writes, descending in ((expand, False), (contract, False), (prunes, True)):
        by_order: dict[int, list[Write]] = {}
        for write in writes:
            by_order.setdefault(write.order, []).append(write)
        for order in sorted(by_order, reverse=descending):
            groups.append(by_order[order])
    return groups
