"""`labelSelector` and `fieldSelector` query parameters: parsed once per request, matched per object.

Label selectors follow the apimachinery grammar: equality (`a=b`, `a==b`, `a!=b`), set-based
(`a in (x,y)`, `a notin (x)`, `a`, `!a`) and the numeric `a>1`, `a<1`, comma-joined. Field
selectors support `metadata.name` and `metadata.namespace` on every kind plus the few fields a
kind declares (`ResourceType.field_labels`); anything else is a 400, as on a real server.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from .status import ApiError, bad_request

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SET = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s*\(([^)]*)\)\s*$")
_COMPARE = re.compile(rf"^\s*({_KEY})\s*(==|=|!=|>|<)\s*(.*?)\s*$")
_EXISTS = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")

Matcher = Callable[[dict[str, str]], bool]


def _split(text: str, separator: str, *, escapes: bool) -> list[str]:
    """Split on `separator` outside `( )`; with `escapes`, a backslash escapes the next character."""
    parts, depth, current, escaped = [], 0, [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif escapes and char == "\\":
            escaped = True
        elif char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            depth += {"(": 1, ")": -1}.get(char, 0) if not escapes else 0
            current.append(char)
    parts.append("".join(current))
    return parts


def _value(text: str, selector: str) -> str:
    if not re.fullmatch(_VALUE, text):
        raise bad_request(f'unable to parse requirement: values[0]: Invalid value: "{text}": a valid label must be an '
                          "empty string or consist of alphanumeric characters, '-', '_' or '.'")
    return text


def _requirement(text: str, selector: str) -> Matcher:
    match = _SET.match(text)
    if match:
        key, operator = match.group(1), match.group(3)
        values = {_value(v.strip(), selector) for v in match.group(4).split(",")}
        if operator == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    match = _COMPARE.match(text)
    if match:
        key, operator, raw = match.group(1), match.group(3), match.group(4)
        if operator in (">", "<"):
            try:
                bound = int(raw)
            except ValueError:
                raise bad_request("unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer") from None
            def numeric(labels: dict[str, str]) -> bool:
                try:
                    number = int(labels[key])
                except (KeyError, ValueError):
                    return False
                return number > bound if operator == ">" else number < bound
            return numeric
        value = _value(raw, selector)
        if operator == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    match = _EXISTS.match(text)
    if match:
        negated, key = match.group(1) == "!", match.group(2)
        return (lambda labels: key not in labels) if negated else (lambda labels: key in labels)
    raise bad_request(f"unable to parse requirement: found '{text.strip()}', expected: in, notin, =, ==, !=, gt, lt")


def label_matcher(selector: str | None) -> Matcher | None:
    """A predicate over a label map, or None when the selector selects everything."""
    if not selector or not selector.strip():
        return None
    requirements = [_requirement(part, selector) for part in _split(selector, ",", escapes=False)]
    return lambda labels: all(requirement(labels) for requirement in requirements)


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    value: str
    equal: bool


def parse_fields(selector: str | None, *, supported: tuple[str, ...]) -> list[FieldRequirement]:
    if not selector or not selector.strip():
        return []
    requirements = []
    for part in _split(selector, ",", escapes=True):
        match = re.match(r"^\s*([^!=]+?)\s*(==|=|!=)(.*)$", part)
        if not match:
            raise bad_request(f"invalid selector: '{selector}'; can't understand '{part}'")
        field_name, operator, value = match.groups()
        if field_name not in ("metadata.name", "metadata.namespace") + supported:
            raise ApiError(400, f'field label not supported: {field_name}')
        requirements.append(FieldRequirement(field_name, value.strip(), operator != "!="))
    return requirements


def field_value(obj: dict[str, Any], field_name: str) -> str:
    node: Any = obj
    for part in field_name.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):  # `source` selects source.component on events
        node = node.get("component")
    return "" if node is None else str(node)


def field_matcher(requirements: list[FieldRequirement]) -> Callable[[dict[str, Any]], bool] | None:
    if not requirements:
        return None
    return lambda obj: all((field_value(obj, r.field) == r.value) == r.equal for r in requirements)


def single_name(requirements: list[FieldRequirement]) -> str | None:
    """The name a `metadata.name=x` selector pins (lets a list skip scanning every object)."""
    for requirement in requirements:
        if requirement.field == "metadata.name" and requirement.equal:
            return requirement.value
    return None


class Selection:
    """Both selectors of one request, as one predicate over objects."""

    def __init__(self, *, labels: str | None, fields: str | None, supported_fields: tuple[str, ...]) -> None:
        self.label = label_matcher(labels)
        self.field_requirements = parse_fields(fields, supported=supported_fields)
        self.field = field_matcher(self.field_requirements)

    @property
    def everything(self) -> bool:
        return self.label is None and self.field is None

    def matches(self, obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        if self.label is not None and not self.label((obj.get("metadata") or {}).get("labels") or {}):
            return False
        return self.field is None or self.field(obj)
