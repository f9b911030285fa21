"""Server-side apply, the structural part: how objects merge and which fields they are made of.

The write path (`writes`) uses these with `managers` (who owns what) to implement SSA as
structured-merge-diff does in the apiserver. Implemented here, driven by the kind's structural
schema (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`,
`properties` vs `additionalProperties`); where no schema speaks (preserve-unknown-fields), maps are
granular and lists atomic, as SMD's deduced type does:

- `nodes`: every field of an object as a path -> leaf value table, from which come the field set of
  an applied config (its *members*: scalars, atomic lists/maps, keyed-list items, set values,
  null and empty maps) and the Added/Modified/Removed comparison that Update ownership and apply
  conflicts are computed from;
- `merge`: the applied config over the live object (granular maps merged per field, keyed lists
  merged per key with the config's order for its items, set lists united, atomic values replaced,
  a null in the config removes the field);
- `prune`: removes what a manager applied before and no longer applies, unless another manager
  owns it or something below it (named fields of structs count as owned with their children,
  SMD's EnsureNamedFieldsAreMembers; entries of plain maps do not).

Key fields missing from a keyed-list item take the item schema's `default` (Service ports'
`protocol: TCP`), else the apply is a 400.
Not implemented: version conversion of field sets (all versions of a CRD share one shape, conversion
strategy None), unions, `x-kubernetes-map-type: granular` on lists of maps with duplicate keys.
"""
from __future__ import annotations

from typing import Any

from .fieldpath import FieldSet, Path, ancestors, describe, field, key_item, value_item
from .status import bad_request

Schema = dict[str, Any] | None

INNER = object()  # a granular map or a list holding items: a node, never a member by itself
ITEM = object()  # a keyed-list item: a member with members below it


def child_schema(schema: Schema, name: str) -> Schema:
    if not schema:
        return None
    properties = schema.get("properties") or {}
    if name in properties:
        return properties[name]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def item_schema(schema: Schema) -> Schema:
    items = (schema or {}).get("items")
    return items if isinstance(items, dict) else None


def list_type(schema: Schema) -> str:
    return (schema or {}).get("x-kubernetes-list-type") or "atomic"


def is_atomic_map(schema: Schema) -> bool:
    return (schema or {}).get("x-kubernetes-map-type") == "atomic"


def item_key(item: Any, list_schema: Schema, *, strict: bool, where: str = "") -> str:
    """The `k:{...}` step of a keyed-list item; key fields it omits take their schema default."""
    keys = (list_schema or {}).get("x-kubernetes-list-map-keys") or []
    properties = ((item_schema(list_schema) or {}).get("properties")) or {}
    values = {}
    for key in keys:
        if isinstance(item, dict) and key in item:
            values[key] = item[key]
        elif isinstance(properties.get(key), dict) and "default" in properties[key]:
            values[key] = properties[key]["default"]
        elif strict:
            raise bad_request(f'{where}: associative list with keys has an element that omits key field "{key}" '
                              "(and doesn't have default value)")
    return key_item(values)


def nodes(obj: dict[str, Any], schema: Schema, *, strict: bool = False) -> dict[Path, Any]:
    """Every node of `obj` by path: leaf values, or INNER / ITEM for nodes with fields below them.

    `strict` (applied configurations) refuses keyed-list items without keys and duplicate keys.
    """
    table: dict[Path, Any] = {}

    def walk_map(mapping: dict[str, Any], map_schema: Schema, path: Path) -> None:
        for name, value in mapping.items():
            walk(value, child_schema(map_schema, name), path + (field(name),))

    def walk(value: Any, value_schema: Schema, path: Path) -> None:
        if isinstance(value, dict) and value and not is_atomic_map(value_schema):
            table[path] = INNER
            walk_map(value, value_schema, path)
            return
        kind = list_type(value_schema)
        if isinstance(value, list) and value and kind in ("map", "set"):
            table[path] = INNER
            for index, item in enumerate(value):
                if kind == "set":
                    table[path + (value_item(item),)] = item
                    continue
                step = item_key(item, value_schema, strict=strict, where=f"{describe(path)}: element {index}")
                if strict and path + (step,) in table:
                    raise bad_request(f"{describe(path)}: duplicate entries for key {step[2:]}")
                table[path + (step,)] = ITEM
                if isinstance(item, dict):
                    walk_map(item, item_schema(value_schema), path + (step,))
            return
        table[path] = value

    walk_map(obj, schema, ())
    return table


def members(table: dict[Path, Any]) -> FieldSet:
    """The field set of an object: every node but the INNER ones."""
    return {path for path, value in table.items() if value is not INNER}


def _same(left: Any, right: Any) -> bool:
    # JSON distinguishes true from 1 where Python's == does not.
    return type(left) is type(right) and left == right


def compare(old: dict[Path, Any], new: dict[Path, Any]) -> tuple[FieldSet, FieldSet, FieldSet]:
    """(added, modified, removed) between two node tables."""
    added = new.keys() - old.keys()
    removed = old.keys() - new.keys()
    modified = {path for path in new.keys() & old.keys() if not _same(old[path], new[path])}
    return set(added), modified, set(removed)


def merge(live: Any, config: Any, schema: Schema) -> Any:
    """`config` applied over `live` (which may be changed in place: pass a copy)."""
    if isinstance(config, dict) and isinstance(live, dict) and not is_atomic_map(schema):
        for name, value in config.items():
            if value is None:
                live.pop(name, None)
            elif name in live:
                live[name] = merge(live[name], value, child_schema(schema, name))
            else:
                live[name] = value
        return live
    if isinstance(config, list) and isinstance(live, list):
        kind = list_type(schema)
        if kind == "map":
            return _merge_keyed(live, config, schema)
        if kind == "set":
            return live + [value for value in config if value not in live]
    return config


def _merge_keyed(live: list, config: list, schema: Schema) -> list:
    """Live-only items keep their place; items the config names follow the config's order."""
    sub = item_schema(schema)
    live_keyed = [(item_key(item, schema, strict=False), item) for item in live]
    live_by_key = dict(live_keyed)
    wanted = [(item_key(item, schema, strict=False), item) for item in config]
    wanted_keys = {key for key, _ in wanted}
    result, emitted, position = [], set(), 0

    def emit(key: str, item: Any) -> None:
        result.append(merge(live_by_key[key], item, sub) if key in live_by_key else item)
        emitted.add(key)

    for key, item in live_keyed:
        if key not in wanted_keys:
            result.append(item)
            continue
        while key not in emitted and position < len(wanted):
            wanted_key, wanted_item = wanted[position]
            position += 1
            if wanted_key not in emitted:
                emit(wanted_key, wanted_item)
    for wanted_key, wanted_item in wanted[position:]:
        if wanted_key not in emitted:
            emit(wanted_key, wanted_item)
    return result


def schema_at(schema: Schema, path: Path) -> Schema:
    for step in path:
        schema = child_schema(schema, step[2:]) if step.startswith("f:") else item_schema(schema)
    return schema


def named_field_ancestors(paths: FieldSet, schema: Schema) -> FieldSet:
    """Prefixes of `paths` that end in a named field of a struct (a `properties` entry)."""
    result: FieldSet = set()
    for path in paths:
        parent_schema = schema
        for length in range(1, len(path)):
            step = path[length - 1]
            if step.startswith("f:") and parent_schema and step[2:] in (parent_schema.get("properties") or {}):
                result.add(path[:length])
            parent_schema = child_schema(parent_schema, step[2:]) if step.startswith("f:") else item_schema(parent_schema)
    return result


def _find(node: Any, step: str, node_schema: Schema) -> tuple[Any, Any]:
    """(container, index-or-key) of `step` inside `node`, or (None, None)."""
    kind, rest = step[:2], step[2:]
    if kind == "f:" and isinstance(node, dict) and rest in node:
        return node, rest
    if isinstance(node, list):
        for index, item in enumerate(node):
            if kind == "k:" and item_key(item, node_schema, strict=False) == step:
                return node, index
            if kind == "v:" and value_item(item) == step:
                return node, index
            if kind == "i:" and str(index) == rest:
                return node, index
    return None, None


def remove(obj: dict[str, Any], path: Path, schema: Schema) -> bool:
    """Delete the node at `path` (and all below it); False when it is not there."""
    node: Any = obj
    node_schema = schema
    for step in path[:-1]:
        container, where = _find(node, step, node_schema)
        if container is None:
            return False
        node = container[where]
        node_schema = child_schema(node_schema, step[2:]) if step.startswith("f:") else item_schema(node_schema)
    container, where = _find(node, path[-1], node_schema)
    if container is None:
        return False
    del container[where]
    return True


def prune(obj: dict[str, Any], *, previous: FieldSet, current: FieldSet, others: FieldSet, schema: Schema,
          protected: FieldSet) -> None:
    """Remove what was applied before and is applied no more, unless someone still owns it (in place)."""
    candidates = (previous | named_field_ancestors(previous, schema)) - protected
    keep = current | ancestors(current) | others | ancestors(others)
    removed: FieldSet = set()
    for path in sorted(candidates - keep, key=len):
        if any(path[:length] in removed for length in range(1, len(path))):
            continue
        if remove(obj, path, schema):
            removed.add(path)
