"""`format` of string fields in structural schemas, checked the way the apiserver checks it.

jsonschema ignores `format` unless told otherwise; the apiserver validates the formats of kube-openapi's
strfmt registry that apiextensions supports (`byte`, `date`, `date-time`, `duration`, `ipv4`, `ipv6`,
`cidr`, `mac`, `uuid*`, `hostname`, `email`, `uri`, `hexcolor`, `rgbcolor`, `bsonobjectid`,
`password`), ignores unknown ones (and numeric ones such as int32, which only describe the type), and
words a failure as `spec.x in body must be of type duration: "abc"`. `duration` is strfmt's, which
is wider than Go's: besides `1h30m` it takes `3 days`, `1w`, `10 secs`. Not checked: isbn, creditcard,
ssn (no CRD we serve uses them).
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from .correlate import Node

_GO_DURATION = re.compile(r"^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$|^[-+]?0$")
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
# strfmt's fallback: "<int> <unit>" pairs, units by prefix ("sec", "mins", "hours", "days", "wk" …).
_STRFMT_PART = re.compile(r"(\d+)\s*([A-Za-zµ]+)")
_STRFMT_UNITS = ((("ns", "nano"), 1e-9), (("us", "µs", "micro"), 1e-6), (("ms", "milli"), 1e-3),
                 (("s", "sec"), 1.0), (("m", "min"), 60.0), (("h", "hr", "hour"), 3600.0),
                 (("d", "day"), 86400.0), (("w", "wk", "week"), 604800.0))


def go_duration(text: str) -> timedelta | None:
    """A Go `time.ParseDuration` string as a timedelta, or None."""
    if not _GO_DURATION.match(text):
        return None
    sign = -1.0 if text.startswith("-") else 1.0
    return timedelta(seconds=sign * sum(float(n) * _GO_UNITS[u] for n, u in _GO_PART.findall(text)))


def _strfmt_duration(text: str) -> bool:
    if go_duration(text) is not None:
        return True
    for _, unit in _STRFMT_PART.findall(text):
        unit = unit.lower().strip()
        for variants, _seconds in _STRFMT_UNITS:
            if any(unit == variant or (variant == variants[-1] and unit.startswith(variant)) for variant in variants):
                return True
    return False


def _base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


def _date(text: str) -> bool:
    try:
        date.fromisoformat(text)
        return len(text) == 10
    except ValueError:
        return False


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$")


def _date_time(text: str) -> bool:
    if not _DATE_TIME.match(text):
        return False
    try:
        datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00").replace("t", "T"))
        return True
    except ValueError:
        return False


def _ip(version: int) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        try:
            return ipaddress.ip_address(text).version == version
        except ValueError:
            return False
    return check


def _cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
        return "/" in text
    except ValueError:
        return False


_HOSTNAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*\.?$")
_PATTERNS = {
    "mac": re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$"),
    "uuid": re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"),
    "uuid3": re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-3[0-9a-fA-F]{3}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"),
    "uuid4": re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89aAbB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"),
    "uuid5": re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-5[0-9a-fA-F]{3}-[89aAbB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"),
    "email": re.compile(r"^[^@\s]+@[^@\s]+$"),
    "hexcolor": re.compile(r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"),
    "rgbcolor": re.compile(r"^rgb\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*\)$"),
    "bsonobjectid": re.compile(r"^[0-9a-fA-F]{24}$"),
}


def _uri(text: str) -> bool:
    parts = urlsplit(text)
    return bool(parts.scheme) or text.startswith("/")


# format -> the test a string must pass (formats not listed are not checked, as on a real server).
FORMATS: dict[str, Callable[[str], bool]] = {
    "byte": _base64, "date": _date, "date-time": _date_time, "datetime": _date_time, "duration": _strfmt_duration,
    "ipv4": _ip(4), "ipv6": _ip(6), "cidr": _cidr, "hostname": lambda t: len(t) <= 255 and bool(_HOSTNAME.match(t)),
    "uri": _uri, "password": lambda t: True,
    **{name: (lambda pattern: lambda text: bool(pattern.match(text)))(pattern) for name, pattern in _PATTERNS.items()},
}


def format_problem(value: Any, schema: dict[str, Any], path: str) -> str | None:
    """`spec.x in body must be of type duration: "abc"` when `value` breaks the schema's format, else None."""
    name = schema.get("format")
    check = FORMATS.get(name) if isinstance(name, str) else None
    if check is None or not isinstance(value, str) or check(value):
        return None
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{path} in body must be of type {name}: {quoted}"


def format_violations(nodes: Iterable[Node]) -> list[tuple[str, Any, str]]:
    """(path, value, message) of every changed node whose string breaks its format (unchanged ones ratchet)."""
    found = []
    for node in nodes:
        if node.unchanged:
            continue
        problem = format_problem(node.value, node.schema, node.path)
        if problem is not None:
            found.append((node.path, node.value, problem))
    return found
