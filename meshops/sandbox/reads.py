"""GET and LIST: single objects, and lists filtered by selectors and paged with limit/continue.

A list is built straight from the stored dicts (no copies beyond a shallow one per item), which is
what keeps a 10,000-object LIST well under a second. Pages are in key order (namespace, name) and
the `continue` token has the apiserver's shape (base64 JSON with the list's revision and the key to
start after). Unlike etcd, later pages read the current state, not a snapshot at the first page's
revision; every page still reports the first page's resourceVersion.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .objects import dumps, list_item_encoding, served
from .resources import ResourceType
from .selectors import Selection, single_name
from .status import bad_request, not_found
from .store import Store


def _token(revision: int, namespace: str, name: str) -> str:
    start = f"{namespace}/{name}\x00" if namespace else f"{name}\x00"
    payload = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode()


def _parse_token(token: str) -> tuple[int, tuple[str, str]]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        start = str(payload["start"]).rstrip("\x00")
        revision = int(payload["rv"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise bad_request(f"continue key is not valid: {token!r}") from None
    namespace, _, name = start.rpartition("/")
    return revision, (namespace, name)


def stored(store: Store, rtype: ResourceType, namespace: str, name: str) -> dict[str, Any]:
    """The stored object (storage version), or 404 NotFound."""
    obj = store.get(rtype.group_resource, namespace if rtype.namespaced else "", name)
    if obj is None:
        raise not_found(rtype.plural, rtype.group, name)
    return obj


class Reader:
    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, rtype: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        return served(stored(self.store, rtype, namespace, name), rtype)

    def selection(self, rtype: ResourceType, query: dict[str, str]) -> Selection:
        return Selection(labels=query.get("labelSelector"), fields=query.get("fieldSelector"),
                         supported_fields=rtype.field_labels)

    def select(self, rtype: ResourceType, namespace: str | None, query: dict[str, str]) -> list[dict[str, Any]]:
        """Every stored object of the type (in one namespace, or all) that the selectors match."""
        selection = self.selection(rtype, query)
        name = single_name(selection.field_requirements)
        if name is not None and namespace is not None:
            one = self.store.get(rtype.group_resource, namespace, name)
            candidates = [one] if one is not None else []
        else:
            candidates = self.store.items(rtype.group_resource, namespace)
        if selection.everything:
            return candidates
        return [obj for obj in candidates if selection.matches(obj)]

    def page(self, rtype: ResourceType, namespace: str | None, query: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """(objects, list metadata) of one page of a LIST: selectors, then limit/continue."""
        limit = _limit(query.get("limit"))
        token = query.get("continue")
        revision = self.store.revision
        selected = self.select(rtype, namespace, query)
        metadata: dict[str, Any] = {"resourceVersion": str(revision)}
        if token:
            revision, start = _parse_token(token)
            metadata["resourceVersion"] = str(revision)
            selected = [obj for obj in selected if _key(obj) > start]
        if limit and len(selected) > limit:
            last = selected[limit - 1]["metadata"]
            metadata["continue"] = _token(revision, last.get("namespace") or "", last["name"])
            if not query.get("labelSelector") and not query.get("fieldSelector"):
                metadata["remainingItemCount"] = len(selected) - limit
            selected = selected[:limit]
        return selected, metadata

    def list(self, rtype: ResourceType, namespace: str | None, query: dict[str, str]) -> bytes:
        """The serialized List (built from cached per-object JSON: see `Store.encoded`)."""
        selected, metadata = self.page(rtype, namespace, query)
        variant, encode = list_item_encoding(rtype)
        items = b",".join(self.store.encoded(rtype.group_resource, obj, variant, encode) for obj in selected)
        head = dumps({"apiVersion": rtype.api_version, "kind": rtype.list_kind, "metadata": metadata})
        return head[:-1] + b',"items":[' + items + b"]}"


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    return (obj["metadata"].get("namespace") or "", obj["metadata"]["name"])


def _limit(text: str | None) -> int:
    if not text:
        return 0
    try:
        value = int(text)
    except ValueError:
        raise bad_request(f"limit: Invalid value: {text!r}: must be an integer") from None
    return max(value, 0)
