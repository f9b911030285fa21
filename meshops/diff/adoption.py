"""Adoption: which fields meshops takes over from the people who created an object with kubectl.

An object created by `kubectl apply` (client-side: manager `kubectl-client-side-apply`, an Update
entry) or `kubectl apply --server-side` (manager `kubectl`, an Apply entry) has its fields owned by
those managers. Server-side apply as `meshops` would then conflict on every field git changes and
never remove a field git leaves out. So adoption moves their fields into meshops's Apply entry of
`managedFields` first — what kubectl's client-side to server-side upgrade does for its own managers —
and the diff compares as if that were done: a field kubectl set and git does not have is shown as
removed. Labels and annotations git does not set are left with their owner (a Namespace keeps its
`istio-injection`), and so are the fields of every other manager (controllers, other tools).
"""
from __future__ import annotations

import copy

from ..model.identity import ADOPTED_MANAGERS, FIELD_MANAGER

# managedFields keys (fieldsV1) of the metadata maps people add to without git saying so.
_METADATA = "f:metadata"
_OPEN_MAPS = ("f:labels", "f:annotations")


def _merge(into: dict, tree: dict) -> dict:
    for key, sub in tree.items():
        _merge(into.setdefault(key, {}), sub if isinstance(sub, dict) else {})
    return into


def _split(fields: dict, desired: dict) -> tuple[dict, dict]:
    """(fields to take over, fields left with their manager): labels and annotations git does not set stay."""
    taken = copy.deepcopy(fields)
    kept: dict = {}
    metadata = taken.get(_METADATA)
    wanted = desired.get("metadata") if isinstance(desired.get("metadata"), dict) else {}
    if isinstance(metadata, dict):
        for open_map in _OPEN_MAPS:
            entries = metadata.get(open_map)
            if not isinstance(entries, dict):
                continue
            in_git = wanted.get(open_map[2:]) if isinstance(wanted.get(open_map[2:]), dict) else {}
            stay = {key: value for key, value in entries.items() if key.startswith("f:") and key[2:] not in in_git}
            if stay:
                kept.setdefault(_METADATA, {})[open_map] = {**stay, **({".": {}} if "." in entries else {})}
                for key in stay:
                    del entries[key]
                if set(entries) <= {"."}:
                    del metadata[open_map]
        if not metadata:
            del taken[_METADATA]
    return taken, kept


def _adopted(entry: dict) -> bool:
    return entry.get("manager") in ADOPTED_MANAGERS and not entry.get("subresource")


def taken_over_fields(live: dict, desired: dict) -> dict | None:
    """The fieldsV1 tree meshops takes over when adopting `live` to write `desired` (None: nothing)."""
    taken: dict = {}
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if _adopted(entry):
            _merge(taken, _split(entry.get("fieldsV1") or {}, desired)[0])
    return taken or None


def adopted_managers(live: dict) -> list[str]:
    """The kubectl managers whose fields an adoption of `live` takes over, sorted."""
    return sorted({entry["manager"] for entry in (live.get("metadata") or {}).get("managedFields") or [] if _adopted(entry)})


def managed_fields_after_takeover(live: dict, desired: dict) -> list[dict] | None:
    """`live`'s managedFields with the kubectl managers' fields moved into meshops's Apply entry
    (None when there is nothing to move)."""
    entries = (live.get("metadata") or {}).get("managedFields") or []
    if not any(_adopted(entry) for entry in entries):
        return None
    result: list[dict] = []
    ours: dict | None = None
    taken: dict = {}
    newest = ""
    for entry in entries:
        if _adopted(entry):
            moved, kept = _split(entry.get("fieldsV1") or {}, desired)
            _merge(taken, moved)
            newest = max(newest, str(entry.get("time") or ""))
            if kept:
                result.append({**entry, "fieldsV1": kept})
        elif entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Apply" and not entry.get("subresource"):
            ours = copy.deepcopy(entry)
            result.append(ours)
        else:
            result.append(entry)
    if ours is None:
        ours = {"manager": FIELD_MANAGER, "operation": "Apply", "apiVersion": desired.get("apiVersion"),
                "fieldsType": "FieldsV1", "fieldsV1": {}}
        if newest:
            ours["time"] = newest
        result.append(ours)
    _merge(ours.setdefault("fieldsV1", {}), taken)
    return result
