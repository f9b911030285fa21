"""Walk an object and its structural schema together, with the old object's matching value where one exists.

The part of the apiserver's CRD validation that `format` checks and CEL rules share. Each node comes
with its field path (`spec.http[0].timeout`, map keys as `[key]`), its schema, and — on an update — the
value at the *correlatable* place in the old object: the same property, the same map key, or the item
with the same keys in an `x-kubernetes-list-type: map` list. Items of atomic lists and sets have no old
value, which is what makes a transition rule (`oldSelf`) skip them and what CRD validation ratcheting
(unchanged values are not re-validated) keys on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

MISSING = object()  # no correlatable old value


@dataclass(frozen=True)
class Node:
    """One value of the object under validation."""

    path: str
    value: Any
    schema: dict[str, Any]
    old: Any = MISSING

    @property
    def unchanged(self) -> bool:
        return self.old is not MISSING and self.old == self.value


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _keyed_old(item: Any, old_list: Any, keys: list[str]) -> Any:
    if not isinstance(item, dict) or not isinstance(old_list, list):
        return MISSING
    wanted = tuple(item.get(key) for key in keys)
    for candidate in old_list:
        if isinstance(candidate, dict) and tuple(candidate.get(key) for key in keys) == wanted:
            return candidate
    return MISSING


def walk(value: Any, schema: dict[str, Any] | None, *, old: Any = MISSING, path: str = "") -> Iterator[Node]:
    """Every node of `value` that its schema describes, parents before children."""
    if not isinstance(schema, dict):
        return
    yield Node(path, value, schema, old)
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        old_map = old if isinstance(old, dict) else {}
        for name, child in value.items():
            child_old = old_map.get(name, MISSING)
            if name in properties:
                yield from walk(child, properties[name], old=child_old, path=_join(path, name))
            elif isinstance(extra, dict):
                yield from walk(child, extra, old=child_old, path=f"{path}[{name}]")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        keys = schema.get("x-kubernetes-list-map-keys") or []
        keyed = schema.get("x-kubernetes-list-type") == "map" and keys
        for index, item in enumerate(value):
            item_old = _keyed_old(item, old, keys) if keyed else MISSING
            yield from walk(item, schema["items"], old=item_old, path=f"{path}[{index}]")
