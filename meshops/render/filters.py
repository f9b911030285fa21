"""Filters and functions templates may use, on top of Jinja's built-ins.

`to_yaml` is the workhorse (values subtrees pasted into manifests); it keeps provenance per line
so a finding inside a pasted subtree still names the values line. `required` and `fail` let a
template refuse incomplete values with a message of its own.
"""
from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from jinja2 import Undefined

from ..errors import ConfigError
from ..yamlio import dump, load_documents
from .tracking import TrackedDict, TrackedList, TrackedText, origins_of


class TemplateFailure(ConfigError):
    """Raised by `required`/`fail`: the template itself says the values are incomplete."""


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return value


def _per_line_origins(value: Any, text: str) -> list[list]:
    """For each line of `to_yaml(value)`, the values origin of the key or item on that line."""
    base_path = getattr(value, "values_path", None)
    if base_path is None:
        return [origins_of(value)] * (text.count("\n") + 1)
    document = load_documents(text, filename="<to_yaml>")[0] if text.strip() else None
    by_line: dict[int, tuple] = {}
    if document is not None:
        for path, line in document.lines.items():
            if line not in by_line or len(path) > len(by_line[line]):
                by_line[line] = path
    result = []
    for line in range(1, text.count("\n") + 2):
        node: Any = value
        for part in by_line.get(line, ()):
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                break
        result.append(origins_of(node) or origins_of(value))
    return result


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block YAML of `value`; lines after the first are indented by `indent` spaces."""
    text = dump(_plain(value)).rstrip("\n")
    origins = _per_line_origins(value, text) if isinstance(value, (TrackedDict, TrackedList)) else None
    if indent:
        pad = " " * indent
        text = "\n".join([text.split("\n")[0]] + [pad + line if line else line for line in text.split("\n")[1:]])
    result = TrackedText(text)
    if origins is not None:
        result.line_origins = origins
    return result


def to_json(value: Any) -> str:
    """Compact JSON with sorted keys (valid YAML flow style, one line)."""
    return json.dumps(_plain(value), sort_keys=True, separators=(", ", ": "), ensure_ascii=False)


def b64encode(value: Any) -> str:
    return base64.b64encode(str(value).encode("utf-8")).decode("ascii")


def b64decode(value: Any) -> str:
    return base64.b64decode(str(value).encode("ascii")).decode("utf-8")


def sha256(value: Any) -> str:
    return hashlib.sha256(str(value).encode("utf-8")).hexdigest()


def required(value: Any, message: str = "a required value is missing") -> Any:
    """Pass `value` through, or stop rendering with `message` when it is undefined, None or empty."""
    if isinstance(value, Undefined) or value is None or value == "" or value == [] or value == {}:
        raise TemplateFailure(message, hint="set it in the environment's values.yaml or with --set")
    return value


def fail(message: str) -> None:
    """Stop rendering with `message` (for template-level consistency checks)."""
    raise TemplateFailure(str(message))


FILTERS = {
    "to_yaml": to_yaml,
    "to_json": to_json,
    "b64encode": b64encode,
    "b64decode": b64decode,
    "sha256": sha256,
    "required": required,
}
GLOBALS = {"fail": fail}
