"""Field paths and the `FieldsV1` format that `metadata.managedFields` stores them in.

A path is a tuple of FieldsV1 keys, one per step from the object root:
`f:<name>` a field of a map, `k:<json>` the item of a keyed list (`k:{"name":"a"}`, keys sorted),
`v:<json>` a value of a set list, `i:<n>` a list index. A field set is a Python `set` of such
tuples holding its *members*; in FieldsV1 a member that also has members below it is marked with
`".": {}`. `describe` renders a path the way the apiserver's conflict messages do
(`.spec.ports[port=80,protocol="TCP"].name`).
"""
from __future__ import annotations

import json
from typing import Any

Path = tuple[str, ...]
FieldSet = set[Path]

_COMPACT = (",", ":")


def field(name: str) -> str:
    return "f:" + name


def key_item(keys: dict[str, Any]) -> str:
    return "k:" + json.dumps(dict(sorted(keys.items())), separators=_COMPACT, ensure_ascii=False)


def value_item(value: Any) -> str:
    return "v:" + json.dumps(value, separators=_COMPACT, sort_keys=True, ensure_ascii=False)


def to_fields_v1(members: FieldSet) -> dict[str, Any]:
    """The FieldsV1 tree of a field set (keys sorted, `.` first, as the apiserver writes them)."""
    tree: dict[str, Any] = {}
    for path in members:
        node = tree
        for step in path:
            node = node.setdefault(step, {})
    for path in members:
        node = tree
        for step in path:
            node = node[step]
        if node:
            node["."] = {}
    return _sorted(tree)


def _sorted(tree: dict[str, Any]) -> dict[str, Any]:
    return {key: _sorted(tree[key]) for key in sorted(tree, key=lambda k: (k != ".", k))}


def from_fields_v1(tree: Any, prefix: Path = ()) -> FieldSet:
    """The member paths of a FieldsV1 tree; ValueError when a key is not f:/k:/v:/i:."""
    if not isinstance(tree, dict):
        raise ValueError("fieldsV1 must be a JSON object")
    members: FieldSet = set()
    for key, sub in tree.items():
        if key == ".":
            if prefix:
                members.add(prefix)
            continue
        if not isinstance(key, str) or key[:2] not in ("f:", "k:", "v:", "i:"):
            raise ValueError(f"unexpected key {key!r} in fieldsV1 (must start with f:, k:, v: or i:)")
        path = prefix + (key,)
        if not sub:
            members.add(path)
        else:
            members |= from_fields_v1(sub, path)
    return members


def _scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else json.dumps(value)


def describe(path: Path) -> str:
    """`.spec.http`, `.spec.ports[port=80,protocol="TCP"]`, `.metadata.finalizers[="x"]`, `.items[0]`."""
    text = []
    for step in path:
        kind, rest = step[:2], step[2:]
        if kind == "f:":
            text.append("." + rest)
        elif kind == "k:":
            keys = json.loads(rest)
            text.append("[" + ",".join(f"{k}={_scalar(v)}" for k, v in keys.items()) + "]")
        elif kind == "v:":
            text.append("[=" + _scalar(json.loads(rest)) + "]")
        else:
            text.append(f"[{rest}]")
    return "".join(text)


def ancestors(paths: FieldSet) -> FieldSet:
    """Every proper, non-empty prefix of every path."""
    result: FieldSet = set()
    for path in paths:
        for length in range(1, len(path)):
            result.add(path[:length])
    return result
