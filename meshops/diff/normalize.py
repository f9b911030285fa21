"""Normalization: what to compare of a desired and a live object, as tables a reader can scan.

A live object carries much that git never says: server bookkeeping (uid, resourceVersion,
managedFields …), status, labels and annotations other tools add, and defaults the API server
fills in. Comparing raw objects would report differences forever, so both sides go through:

0. A Secret's `stringData` is folded into `data` (base64, winning over `data`), as the API server
   stores it: git may say `stringData`, the live object never does.
1. `DROPPED_FIELDS` — paths removed from both sides, always (server-populated or bookkeeping).
2. `SERVER_DEFAULTS` — per kind, live values removed when git does not set them and they equal
   the server's default (Service `type: ClusterIP`, port `protocol: TCP`, an HTTPRoute backendRef's
   `weight: 1` …).
3. Restriction of live maps to what git says plus what meshops owns: a key only live has is
   someone else's (a controller's annotation, a defaulted field) unless `managedFields` shows
   meshops applied it before — then git dropped it and the diff shows its removal.
4. Per-environment `ignore` rules from meshops.yaml (JSON pointers, optionally by kind/name).
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from ..model.identity import FIELD_MANAGER, REVISION_ANNOTATION, ROLLOUT_ANNOTATION
from ..model.kinds import GATEWAY_API_GROUP
from .secrets import is_secret

ANY = "*"


@dataclass(frozen=True)
class DroppedField:
    """A path removed from both sides before comparing, and why."""

    path: tuple[str, ...]
    why: str


DROPPED_FIELDS: tuple[DroppedField, ...] = (
    DroppedField(("status",), "written by controllers, not by git"),
    DroppedField(("metadata", "uid"), "assigned by the API server"),
    DroppedField(("metadata", "resourceVersion"), "changes on every write"),
    DroppedField(("metadata", "generation"), "counts spec changes"),
    DroppedField(("metadata", "creationTimestamp"), "assigned by the API server"),
    DroppedField(("metadata", "managedFields"), "server-side apply bookkeeping"),
    DroppedField(("metadata", "selfLink"), "legacy, server-populated"),
    DroppedField(("metadata", "deletionTimestamp"), "set while deleting"),
    DroppedField(("metadata", "deletionGracePeriodSeconds"), "set while deleting"),
    DroppedField(("metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"), "kubectl's bookkeeping"),
    DroppedField(("metadata", "annotations", REVISION_ANNOTATION), "records the revision of the last change, not config"),
    DroppedField(("metadata", "annotations", ROLLOUT_ANNOTATION), "rollout state, owned by the rollout"),
)


def _removal_tree(paths: tuple[tuple[str, ...], ...]) -> dict:
    """Paths as a tree of keys (None marks a key to remove), so one walk removes them all."""
    tree: dict = {}
    for path in paths:
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = None
    return tree


_DROPPED_TREE = _removal_tree(tuple(dropped.path for dropped in DROPPED_FIELDS))


def _remove_tree(node: dict, tree: dict) -> None:
    for key, below in tree.items():
        if key not in node:
            continue
        if below is None:
            del node[key]
        elif isinstance(node[key], dict):
            _remove_tree(node[key], below)


@dataclass(frozen=True)
class ServerDefault:
    """A value the API server fills in for a kind when the manifest leaves it out."""

    kind: str
    path: tuple[str, ...]  # `*` matches every list item
    value: Any  # `ANY`: whatever the server chose (allocated values such as clusterIP)
    group: str | None = None  # None: the kind's name is unambiguous (Istio's Gateway is not the Gateway API's)


SERVER_DEFAULTS: tuple[ServerDefault, ...] = (
    ServerDefault("Service", ("spec", "type"), "ClusterIP"),
    ServerDefault("Service", ("spec", "sessionAffinity"), "None"),
    ServerDefault("Service", ("spec", "clusterIP"), ANY),
    ServerDefault("Service", ("spec", "clusterIPs"), ANY),
    ServerDefault("Service", ("spec", "ipFamilies"), ANY),
    ServerDefault("Service", ("spec", "ipFamilyPolicy"), "SingleStack"),
    ServerDefault("Service", ("spec", "internalTrafficPolicy"), "Cluster"),
    ServerDefault("Service", ("spec", "ports", ANY, "protocol"), "TCP"),
    ServerDefault("Service", ("spec", "ports", ANY, "targetPort"), ANY),
    ServerDefault("Namespace", ("spec", "finalizers"), ANY),
    ServerDefault("Namespace", ("metadata", "labels", "kubernetes.io/metadata.name"), ANY),
    ServerDefault("Secret", ("type",), "Opaque"),
)

# The `default`s of the Gateway API schemas (standard channel): the API server fills them into every
# Gateway and route, so a live HTTPRoute says `weight: 1`, `kind: Service` and a `PathPrefix /` match
# where git says nothing. (kind, dotted path, value); a test keeps this in step with the schemas.
_PATH_PREFIX_ALL = {"type": "PathPrefix", "value": "/"}
_ROUTE_FILTER_DEFAULTS = (
    ("requestMirror.backendRef.group", ""), ("requestMirror.backendRef.kind", "Service"),
    ("requestMirror.fraction.denominator", 100),
)
_HTTP_FILTER_DEFAULTS = _ROUTE_FILTER_DEFAULTS + (("requestRedirect.statusCode", 302), ("cors.maxAge", 5))
_ROUTE_DEFAULTS = (
    ("spec.parentRefs.*.group", GATEWAY_API_GROUP), ("spec.parentRefs.*.kind", "Gateway"),
    ("spec.rules.*.backendRefs.*.group", ""), ("spec.rules.*.backendRefs.*.kind", "Service"),
    ("spec.rules.*.backendRefs.*.weight", 1), ("spec.rules.*.matches.*.headers.*.type", "Exact"),
)
GATEWAY_API_DEFAULTS: tuple[tuple[str, str, Any], ...] = (
    ("Gateway", "spec.addresses.*.type", "IPAddress"),
    ("Gateway", "spec.allowedListeners.namespaces", {"from": "None"}),
    ("Gateway", "spec.allowedListeners.namespaces.from", "None"),
    ("Gateway", "spec.listeners.*.allowedRoutes", {"namespaces": {"from": "Same"}}),
    ("Gateway", "spec.listeners.*.allowedRoutes.namespaces", {"from": "Same"}),
    ("Gateway", "spec.listeners.*.allowedRoutes.namespaces.from", "Same"),
    ("Gateway", "spec.listeners.*.allowedRoutes.kinds.*.group", GATEWAY_API_GROUP),
    ("Gateway", "spec.listeners.*.tls.mode", "Terminate"),
    ("Gateway", "spec.listeners.*.tls.certificateRefs.*.group", ""),
    ("Gateway", "spec.listeners.*.tls.certificateRefs.*.kind", "Secret"),
    ("Gateway", "spec.tls.backend.clientCertificateRef.group", ""),
    ("Gateway", "spec.tls.backend.clientCertificateRef.kind", "Secret"),
    ("Gateway", "spec.tls.frontend.default.validation.mode", "AllowValidOnly"),
    ("Gateway", "spec.tls.frontend.perPort.*.tls.validation.mode", "AllowValidOnly"),
    *(("HTTPRoute", path, value) for path, value in _ROUTE_DEFAULTS),
    ("HTTPRoute", "spec.rules", [{"matches": [{"path": _PATH_PREFIX_ALL}]}]),
    ("HTTPRoute", "spec.rules.*.matches", [{"path": _PATH_PREFIX_ALL}]),
    ("HTTPRoute", "spec.rules.*.matches.*.path", _PATH_PREFIX_ALL),
    ("HTTPRoute", "spec.rules.*.matches.*.path.type", "PathPrefix"),
    ("HTTPRoute", "spec.rules.*.matches.*.path.value", "/"),
    ("HTTPRoute", "spec.rules.*.matches.*.queryParams.*.type", "Exact"),
    *(("HTTPRoute", f"{where}.filters.*.{path}", value) for where in ("spec.rules.*", "spec.rules.*.backendRefs.*")
      for path, value in _HTTP_FILTER_DEFAULTS),
    *(("GRPCRoute", path, value) for path, value in _ROUTE_DEFAULTS),
    ("GRPCRoute", "spec.rules.*.matches.*.method.type", "Exact"),
    *(("GRPCRoute", f"{where}.filters.*.{path}", value) for where in ("spec.rules.*", "spec.rules.*.backendRefs.*")
      for path, value in _ROUTE_FILTER_DEFAULTS),
)
SERVER_DEFAULTS += tuple(
    ServerDefault(kind, tuple(path.split(".")), value, group=GATEWAY_API_GROUP) for kind, path, value in GATEWAY_API_DEFAULTS
)


@dataclass(frozen=True)
class IgnoreRule:
    """A `meshops.yaml` ignore entry: JSON pointers for fields other controllers own."""

    pointers: tuple[str, ...]
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None

    def applies_to(self, obj: dict) -> bool:
        metadata = obj.get("metadata") or {}
        return (
            (self.kind is None or obj.get("kind") == self.kind)
            and (self.name is None or metadata.get("name") == self.name)
            and (self.namespace is None or metadata.get("namespace") == self.namespace)
        )


def ignore_rules(section: list[dict] | None) -> list[IgnoreRule]:
    """Parse the `ignore:` section of meshops.yaml."""
    return [
        IgnoreRule(tuple(entry.get("paths") or ()), entry.get("kind"), entry.get("name"), entry.get("namespace"))
        for entry in section or []
    ]


def _pointer_parts(pointer: str) -> list[str]:
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer.lstrip("/").split("/")] if pointer else []


def _remove_path(node: Any, parts: list[str]) -> None:
    """Remove the value at `parts` (`*` matches every list item / map key) if present."""
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        keys = list(node) if head == ANY else [head] if head in node else []
        for key in keys:
            if rest:
                _remove_path(node[key], rest)
            else:
                del node[key]
    elif isinstance(node, list):
        indexes = range(len(node)) if head == ANY else [int(head)] if head.isdigit() and int(head) < len(node) else []
        for index in sorted(indexes, reverse=True):
            if rest:
                _remove_path(node[index], rest)
            else:
                del node[index]


def _get(node: Any, parts: list) -> Any:
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


def _strip_defaults(live: Any, desired: Any, path: tuple[str, ...], value: Any, prefix: tuple = ()) -> None:
    """Remove a defaulted value from `live` where `desired` does not set it."""
    if not path:
        return
    head, rest = path[0], path[1:]
    if head == ANY:
        if isinstance(live, list):
            for index, item in enumerate(live):
                desired_item = desired[index] if isinstance(desired, list) and index < len(desired) else None
                _strip_defaults(item, desired_item, rest, value, prefix + (index,))
        return
    if not isinstance(live, dict) or head not in live:
        return
    desired_child = desired.get(head) if isinstance(desired, dict) else None
    if rest:
        _strip_defaults(live[head], desired_child, rest, value, prefix + (head,))
    elif desired_child is None and (value == ANY or live[head] == value):
        del live[head]


def _drop_emptied(live: Any, desired: Any) -> None:
    """Remove maps/lists left empty (by dropped defaults) that git does not mention either."""
    if not isinstance(live, dict):
        return
    for key in list(live):
        desired_child = desired.get(key) if isinstance(desired, dict) else None
        _drop_emptied(live[key], desired_child)
        if live[key] in ({}, []) and (not isinstance(desired, dict) or key not in desired):
            del live[key]


def owned_fields(live: dict, manager: str = FIELD_MANAGER) -> dict | None:
    """The merged `fieldsV1` tree of every managedFields entry of `manager`, or None if it has none
    (the entry's own tree when there is one entry: callers only read it)."""
    entries = [
        entry.get("fieldsV1") or {}
        for entry in (live.get("metadata") or {}).get("managedFields") or []
        if entry.get("manager") == manager
    ]
    if not entries:
        return None
    if len(entries) == 1:
        return entries[0]
    merged: dict = {}

    def merge(into: dict, tree: dict) -> None:
        for key, sub in tree.items():
            merge(into.setdefault(key, {}), sub if isinstance(sub, dict) else {})

    for entry in entries:
        merge(merged, entry)
    return merged


def _merge_fields(into: dict, tree: dict) -> dict:
    """Two fieldsV1 trees as one (a copy of `into` with `tree` added)."""
    merged = json.loads(json.dumps(into))

    def merge(target: dict, source: dict) -> None:
        for key, sub in source.items():
            merge(target.setdefault(key, {}), sub if isinstance(sub, dict) else {})

    merge(merged, tree)
    return merged


def _restrict(live: Any, desired: Any, owned: dict | None) -> None:
    """Live maps keep the keys git sets and the keys meshops owns; lists and scalars stay whole (in place)."""
    if not isinstance(live, dict) or not isinstance(desired, dict):
        return
    for key in list(live):
        owned_child = owned.get(f"f:{key}") if owned is not None else None
        if key in desired:
            _restrict(live[key], desired[key], owned_child)
        elif owned_child is None:
            del live[key]  # someone else's; if meshops applied it once and git dropped it, it stays: a removal to show


# Never compared, often the biggest part of a live object: skipped when copying instead of removed after.
_NOT_COPIED = frozenset({"status"})
_NOT_COPIED_METADATA = frozenset({"managedFields"})


def _copy(node: Any) -> Any:
    """A deep copy of JSON-like data: dicts and lists copied, scalars (immutable) shared.

    Keys come out as JSON (and so the API server) has them: a YAML key `1:` or `true:` becomes the
    string "1" or "true", so git's object and the live one compare equal.
    """
    kind = type(node)
    if kind is dict:
        return {key if type(key) is str else _json_key(key): _copy(value) if type(value) in _CONTAINERS else value
                for key, value in node.items()}
    if kind is list:
        return [_copy(value) if type(value) in _CONTAINERS else value for value in node]
    return node


_CONTAINERS = (dict, list)


def _json_key(key: Any) -> str:
    """A non-string mapping key as the JSON encoder writes it."""
    return json.dumps(key) if isinstance(key, (bool, int, float)) or key is None else str(key)


def _private(obj: dict) -> dict:
    """The one copy normalization works on in place, without status and managedFields (never compared)."""
    shallow = {key: value for key, value in obj.items() if key not in _NOT_COPIED}
    metadata = shallow.get("metadata")
    if isinstance(metadata, dict) and "managedFields" in metadata:
        shallow["metadata"] = {key: value for key, value in metadata.items() if key not in _NOT_COPIED_METADATA}
    return _copy(shallow)


def _fold_string_data(obj: dict) -> None:
    """`stringData` merged over `data` as base64, the only form the API server keeps (write-only field)."""
    string_data = obj.get("stringData")
    if not is_secret(obj) or not isinstance(string_data, dict):
        return
    folded = {key: value for key, value in string_data.items() if isinstance(value, str)}
    data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
    obj["data"] = {**data, **{key: base64.b64encode(value.encode("utf-8")).decode("ascii") for key, value in folded.items()}}
    left = {key: value for key, value in string_data.items() if key not in folded}  # not strings: the API refuses them
    if left:
        obj["stringData"] = left
    else:
        del obj["stringData"]


def _reduce(side: dict, ignore: list[IgnoreRule]) -> None:
    """What both sides lose: `stringData` folded, dropped fields, the ignore rules' paths, empty labels/annotations."""
    _fold_string_data(side)
    _remove_tree(side, _DROPPED_TREE)
    for rule in ignore:
        if rule.applies_to(side):
            for pointer in rule.pointers:
                _remove_path(side, _pointer_parts(pointer))
    metadata = side.get("metadata")
    if isinstance(metadata, dict):
        for field in ("labels", "annotations"):
            if field in metadata and not metadata[field]:
                del metadata[field]


def normalize_desired(desired: dict, ignore: list[IgnoreRule] = ()) -> dict:
    """A copy of `desired` reduced to what a diff compares (it does not depend on the live object)."""
    desired_copy = _private(desired)
    _reduce(desired_copy, ignore)
    return desired_copy


def unchanged(*, desired_normalized: dict, live: dict, ignore: list[IgnoreRule] = ()) -> bool:
    """Whether `normalize_pair` would make `live` equal to `desired_normalized`, told without copying `live`.

    Most objects of a plan are unchanged, and copying each live object only to find it equal is most
    of a plan's cost. This walks what git says: every key of `desired_normalized` must be in `live`
    with an equal value (maps walked the same way, lists compared whole or item by item where a
    server default lies inside them), and every key only `live` has must be one normalization removes
    anyway — a dropped field, a server default, an empty map, a key meshops does not own (steps 1–3).
    When in doubt (an ignore rule applies, a key meshops owns that git dropped) it answers False and
    the caller normalizes in full, so a True is always what the full comparison would say.
    """
    kind = live.get("kind")
    if not isinstance(kind, str) or any(rule.applies_to(live) for rule in ignore):
        return False
    group = str(live.get("apiVersion") or "").rpartition("/")[0]
    return _same(desired_normalized, live, owned_fields(live), _DROPPED_TREE, _defaults_tree(kind, group))


class _Default:
    """A leaf of `_defaults_tree`: the value the server fills in there."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def matches(self, found: Any) -> bool:
        return self.value == ANY or found == self.value


_DEFAULT_TREES: dict[tuple[str, str], dict | None] = {}
# Where a default's path goes on below another default (a whole match and a field of it), the
# shorter one's `_Default` sits in the map under this key (never a JSON key: not a string).
_HERE = ("default",)


def _defaults_tree(kind: str, group: str) -> dict | None:
    """`SERVER_DEFAULTS` of one kind as a tree of keys (`*` for list items) ending in `_Default`s."""
    key = (kind, group)
    if key not in _DEFAULT_TREES:
        tree: dict = {}
        for default in SERVER_DEFAULTS:
            if default.kind == kind and default.group in (None, group):
                node = tree
                for part in default.path[:-1]:
                    below = node.get(part)
                    if not isinstance(below, dict):
                        below = node[part] = {} if below is None else {_HERE: below}
                    node = below
                last = default.path[-1]
                if isinstance(node.get(last), dict):
                    node[last][_HERE] = _Default(default.value)
                else:
                    node[last] = _Default(default.value)
        _DEFAULT_TREES[key] = tree or None
    return _DEFAULT_TREES[key]


def _default_at(defaults: dict | None, key: str) -> _Default | None:
    """The server default of `key` in this map, if any."""
    found = defaults.get(key) if defaults is not None else None
    return found.get(_HERE) if isinstance(found, dict) else found


def _below(defaults: dict | None, key: str) -> dict | None:
    """The defaults inside `key`'s value, if any."""
    found = defaults.get(key) if defaults is not None else None
    return found if isinstance(found, dict) else None


def _same(desired: dict, live: dict, owned: dict | None, dropped: dict | None, defaults: dict | None) -> bool:
    """`unchanged` for one map: restricted to git's keys and what meshops owns, as step 3 does."""
    for key, wanted in desired.items():
        if key not in live:
            return False
        found = live[key]
        if wanted == found:  # in C; what is left to walk is where the live object has more (metadata)
            continue
        below = _below(defaults, key)
        if type(wanted) is dict and type(found) is dict:
            if not _same(wanted, found, owned.get(f"f:{key}") if owned is not None else None,
                         dropped.get(key) if dropped is not None else None, below):
                return False
        elif below is None or not _same_whole(wanted, found, below):
            return False
    if len(live) == len(desired):
        return True  # every live key is one git sets
    for key, found in live.items():
        if key in desired or (dropped is not None and dropped.get(key, False) is None):
            continue
        default = _default_at(defaults, key)
        if default is not None and default.matches(found):
            continue  # step 2 removes it, owned or not
        if owned is not None and owned.get(f"f:{key}") is not None and found not in ({}, []):
            return False  # meshops applied it once and git no longer says it: the full comparison decides
    return True


def _same_whole(wanted: Any, found: Any, defaults: dict) -> bool:
    """Equal but for server defaults, for a value kept whole (lists and what is in them are not restricted)."""
    if wanted == found:
        return True
    if type(wanted) is list and type(found) is list:
        below = _below(defaults, ANY)
        return (below is not None and len(wanted) == len(found)
                and all(_same_whole(item, live_item, below) for item, live_item in zip(wanted, found)))
    if type(wanted) is not dict or type(found) is not dict:
        return False
    for key, value in wanted.items():
        if key not in found:
            return False
        below = _below(defaults, key)
        if value != found[key] and (below is None or not _same_whole(value, found[key], below)):
            return False
    for key, value in found.items():
        if key not in wanted:
            default = _default_at(defaults, key)
            if default is None or not default.matches(value):
                return False
    return True


def normalize_pair(
    *,
    desired: dict | None,
    live: dict | None,
    ignore: list[IgnoreRule] = (),
    desired_normalized: dict | None = None,
    takeover: dict | None = None,
) -> tuple[dict | None, dict | None]:
    """Copies of `desired` and `live` reduced to what a diff must compare (see module docstring).

    `takeover`: fields meshops is about to own too (adoption, `diff.adoption`), compared as its own.

    `desired_normalized`: `normalize_desired(desired, ignore)` made before (an object planned on
    several clusters is normalized once); it is read, never changed.
    """
    desired_copy = desired_normalized if desired_normalized is not None else (
        normalize_desired(desired, ignore) if desired is not None else None)
    if live is None:
        return desired_copy, None
    live_copy = _private(live)
    _reduce(live_copy, ignore)
    kind = live_copy.get("kind")
    group = str(live_copy.get("apiVersion") or "").rpartition("/")[0]
    for default in SERVER_DEFAULTS:
        if default.kind == kind and default.group in (None, group):
            _strip_defaults(live_copy, desired_copy, default.path, default.value)
    _drop_emptied(live_copy, desired_copy)
    if desired_copy is not None:
        owned = owned_fields(live)
        if takeover:
            owned = _merge_fields(owned or {}, takeover)
        _restrict(live_copy, desired_copy, owned)
    return desired_copy, live_copy
