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

from ..model.errors import ConfigError
from ..yamlio.emitter import to_lines
from .tracking import TrackedDict, TrackedList, TrackedText


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


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block YAML of `value`; lines after the first are indented by `indent` spaces."""
    lines = to_lines(value)
    pad = " " * indent
    text = "\n".join([lines[0][0]] + [pad + line if line else line for line, _ in lines[1:]])
    result = TrackedText(text)
    if isinstance(value, (TrackedDict, TrackedList)):
        result.source_value = value
        result.line_paths = [path for _, path in lines]
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
