"""Secret values never leave meshops: every output of a plan shows `***` instead.

Applied to normalized copies and patches before any renderer sees them. A changed value shows as
`*** (before)` / `*** (after)` so a reviewer knows it changed without learning what it is.
"""
from __future__ import annotations

import copy
from typing import Any

MASK = "***"
SECRET_FIELDS = ("data", "stringData")


def is_secret(obj: dict | None) -> bool:
    return isinstance(obj, dict) and obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def mask_pair(desired: dict | None, live: dict | None) -> tuple[dict | None, dict | None]:
    """Copies of a desired/live pair with Secret values masked (changed ones marked)."""
    if not (is_secret(desired) or is_secret(live)):
        return desired, live
    desired_copy, live_copy = copy.deepcopy(desired), copy.deepcopy(live)
    for field in SECRET_FIELDS:
        before = (live or {}).get(field) or {}
        after = (desired or {}).get(field) or {}
        if desired_copy is not None and field in desired_copy:
            desired_copy[field] = {
                key: MASK if before.get(key) == value else f"{MASK} (after)" for key, value in after.items()
            }
        if live_copy is not None and field in live_copy:
            live_copy[field] = {
                key: MASK if after.get(key) == value else f"{MASK} (before)" for key, value in before.items()
            }
    return desired_copy, live_copy


def mask_patch(obj: dict | None, patch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A JSON Patch with values under a Secret's data/stringData replaced by `***`."""
    if not is_secret(obj):
        return patch
    masked = []
    for op in patch:
        path = op.get("path", "")
        if any(path == f"/{field}" or path.startswith(f"/{field}/") for field in SECRET_FIELDS) and "value" in op:
            value = op["value"]
            op = {**op, "value": {key: MASK for key in value} if isinstance(value, dict) else MASK}
        masked.append(op)
    return masked
