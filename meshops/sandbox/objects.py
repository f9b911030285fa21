"""Small object helpers shared by the read and write paths: copies, versions, timestamps, names."""
from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from typing import Any, Callable

from .resources import ResourceType

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def timestamp(moment: datetime) -> str:
    """RFC 3339 with second precision, as metav1.Time serializes."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def clone(obj: Any) -> Any:
    """A deep copy of JSON data (faster than copy.deepcopy for plain dicts and lists)."""
    return json.loads(json.dumps(obj))


def served(obj: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    """A stored object as the requested version shows it (conversion strategy None: same fields)."""
    if obj.get("apiVersion") == rtype.api_version:
        return obj
    return {**obj, "apiVersion": rtype.api_version}


# Letters apimachinery uses for generateName suffixes (no vowels, no look-alikes).
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def generated_name(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))


def without_resource_version(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "resourceVersion"}
    return {**obj, "metadata": metadata}


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def list_item(obj: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    """An object as a List item: custom resources keep apiVersion/kind, typed core lists leave them out."""
    if rtype.custom:
        return served(obj, rtype)
    return {k: v for k, v in obj.items() if k != "apiVersion" and k != "kind"}


def list_item_encoding(rtype: ResourceType) -> tuple[str, Callable[[dict[str, Any]], bytes]]:
    """(cache variant, encoder) of List items of `rtype`, for `Store.encoded`."""
    return (rtype.api_version if rtype.custom else ""), (lambda obj: dumps(list_item(obj, rtype)))
