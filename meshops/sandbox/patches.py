"""The non-apply PATCH bodies: RFC 6902 JSON Patch, RFC 7386 merge patch, strategic merge patch.

Each takes a private copy of the live object and the decoded patch and returns the patched object;
the write path then treats the result like a PUT (resourceVersion precondition, validation,
Update ownership). Strategic merge patch is what kubectl sends for built-in kinds (client-side
apply, diff, edit); it is served for core kinds only, like the apiserver (custom resources get
415). Its list merge keys come from the kind's structural schema (the first key of a keyed list);
directives implemented: `$patch: replace|delete|merge`, `$retainKeys`, `$setElementOrder/<list>`,
`$deleteFromPrimitiveList/<list>`.
"""
from __future__ import annotations

from typing import Any

import jsonpatch

from .ssa import Schema, child_schema, item_schema, list_type
from .status import ApiError, bad_request

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


def json_patch(target: dict[str, Any], operations: Any, schema: Schema = None) -> dict[str, Any]:
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    try:
        patched = jsonpatch.JsonPatch(operations).apply(target, in_place=True)
    except (jsonpatch.InvalidJsonPatch, TypeError) as error:
        raise bad_request(f"invalid JSON Patch: {error}") from None
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
        raise ApiError(422, f"the server rejected our request due to an error in our request: {error}") from None
    if not isinstance(patched, dict):
        raise ApiError(422, "the patched document is not a JSON object")
    return patched


def merge_patch(target: Any, patch: Any, schema: Schema = None) -> Any:
    """RFC 7386: objects merge per key, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for name, value in patch.items():
        if value is None:
            target.pop(name, None)
        else:
            target[name] = merge_patch(target.get(name), value)
    return target


_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVES = "$deleteFromPrimitiveList/"


def strategic_patch(target: Any, patch: Any, schema: Schema) -> Any:
    """Strategic merge patch of a map `target` with `patch` under `schema`."""
    if not isinstance(patch, dict):
        return patch
    directive = patch.get("$patch")
    body = {k: v for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    if directive == "replace" or not isinstance(target, dict):
        target = {}
    retain = body.pop("$retainKeys", None)
    orders = {k[len(_ORDER):]: body.pop(k) for k in list(body) if k.startswith(_ORDER)}
    deletions = {k[len(_DELETE_PRIMITIVES):]: body.pop(k) for k in list(body) if k.startswith(_DELETE_PRIMITIVES)}
    for name, value in body.items():
        sub = child_schema(schema, name)
        if value is None:
            target.pop(name, None)
        elif isinstance(value, list):
            target[name] = _patch_list(target.get(name), value, sub)
        else:
            merged = strategic_patch(target.get(name), value, sub)
            if merged is None:
                target.pop(name, None)
            else:
                target[name] = merged
    for name, values in deletions.items():
        if isinstance(target.get(name), list):
            target[name] = [v for v in target[name] if v not in (values or [])]
    for name, order in orders.items():
        if isinstance(target.get(name), list):
            target[name] = _reorder(target[name], order, child_schema(schema, name))
    if isinstance(retain, list):
        for name in list(target):
            if name not in retain:
                del target[name]
    return target


def _merge_key(schema: Schema) -> str | None:
    keys = (schema or {}).get("x-kubernetes-list-map-keys") or []
    return keys[0] if list_type(schema) == "map" and keys else None


def _patch_list(live: Any, patch: list, schema: Schema) -> list:
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [item for item in patch if not (isinstance(item, dict) and "$patch" in item)]
    live = live if isinstance(live, list) else []
    kind, key = list_type(schema), _merge_key(schema)
    if kind == "set":
        return live + [value for value in patch if value not in live]
    if key is None:
        return patch
    result = list(live)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise bad_request(f"map: {item} does not contain declared merge key: {key}")
        index = next((i for i, existing in enumerate(result) if isinstance(existing, dict) and existing.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(strategic_patch({}, item, item_schema(schema)))
        else:
            result[index] = strategic_patch(result[index], item, item_schema(schema))
    return result


def _reorder(items: list, order: list, schema: Schema) -> list:
    key = _merge_key(schema)
    identity = (lambda item: item.get(key) if isinstance(item, dict) else item) if key else (lambda item: item)
    wanted = [identity(entry) for entry in order]
    rank = {repr(value): position for position, value in enumerate(wanted)}
    return sorted(items, key=lambda item: rank.get(repr(identity(item)), len(rank)))


# content type -> how to apply it; apply-patch is handled by the write path itself.
PATCHERS = {JSON_PATCH: json_patch, MERGE_PATCH: merge_patch, STRATEGIC_PATCH: strategic_patch}
CUSTOM_PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]
CORE_PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH]
