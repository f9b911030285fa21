"""A fast block-YAML emitter for JSON-like data, which also says which path each line shows.

PyYAML's dumper builds a node graph and an event stream for every value; for the thousands of
objects render prints that costs more than rendering them. This emitter writes the same layout
PyYAML's `default_flow_style=False, sort_keys=True` does (sequences not indented under their key)
straight from the data, and records the JSON path of every line, which `to_yaml` uses to keep
values provenance without parsing its own output again.

Scalars are written plain only when that is unambiguous: the YAML 1.1 resolver PyYAML (and
Kubernetes' YAML reader) use would read them back as the same string. Everything else is quoted:
single quotes for one-line text, JSON-style double quotes for text with control characters, and
literal blocks (`|`, `|-`) for multi-line text that has no trailing spaces.
"""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Any

import yaml
from yaml.nodes import ScalarNode

Path = tuple[str | int, ...]
Lines = list[tuple[str, Path]]

_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()
# Characters that may start a plain scalar in block context without meaning something else.
_PLAIN_START = re.compile(r"[A-Za-z0-9_./$(=^+]")
# Characters allowed anywhere in a plain scalar we emit (conservative: no indicators, no controls).
_PLAIN_BODY = re.compile(r"[A-Za-z0-9_./$()=^+ :;,<>~*?!@%&\-\[\]{}|'\"\\\u00a0-\uffff]*")
_YAML_ONLY_BREAKS = re.compile("[\x85\u2028\u2029\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\u2028\u2029]")


@lru_cache(maxsize=65536)
def scalar_text(value: str) -> str:
    """A one-line YAML scalar that reads back as exactly the string `value`."""
    if (
        value
        and not _CONTROL.search(value)
        and _PLAIN_START.match(value)
        and _PLAIN_BODY.fullmatch(value)
        and value == value.strip()
        and ": " not in value
        and " #" not in value
        and not value.endswith(":")
        and value[0] not in "-?:,[]{}#&*!|>'\"%@`"
        and not any(c in value for c in "[]{},")  # keep flow indicators out: always safe inside quotes
        and _RESOLVER.resolve(ScalarNode, value, (True, False)) == _STR_TAG
    ):
        return value
    if "\n" in value or _CONTROL.search(value) or "\t" in value:
        # JSON escapes are valid YAML escapes; YAML also treats NEL, LS, PS and BOM as special.
        return _YAML_ONLY_BREAKS.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, ensure_ascii=False))
    return "'" + value.replace("'", "''") + "'"


def _float_text(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value).lower()
    if "." not in text and "e" in text:  # YAML 1.1 floats need a dot: 1e-05 -> 1.0e-05
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def _literal_block(value: str) -> str | None:
    """`|`/`|-` header when `value` can be written as a literal block, else None."""
    if "\n" not in value.rstrip("\n") or value.endswith("\n\n") or _CONTROL.search(value) or value[:1] in (" ", "\n"):
        return None
    if value[:1] == "\t" or any(line != line.rstrip(" \t") for line in value.split("\n")):
        return None
    return "|" if value.endswith("\n") else "|-"


def inline_scalar(value: Any) -> str:
    """A scalar written on one line (strings, numbers, booleans, null, empty collections)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return _float_text(float(value))
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, (list, tuple)):
        return "[]"
    return scalar_text(str(value))


def _is_block(value: Any) -> bool:
    return isinstance(value, (dict, list, tuple)) and len(value) > 0


def _sorted_items(mapping: dict) -> list[tuple[Any, Any]]:
    try:
        return sorted(mapping.items())
    except TypeError:
        return sorted(mapping.items(), key=lambda item: str(item[0]))


def _append_literal(lines: Lines, header_line: str, text: str, indent: int, path: Path) -> None:
    """A literal block scalar: its header line, then the text indented (empty lines stay empty)."""
    lines.append((header_line, path))
    pad = " " * indent
    for line in text.rstrip("\n").split("\n"):
        lines.append((f"{pad}{line}" if line else "", path))


def emit(value: Any, indent: int, path: Path, lines: Lines) -> None:
    """Append the block lines of a non-empty dict or list at `indent` to `lines`."""
    pad = " " * indent
    if isinstance(value, dict):
        for key, child in _sorted_items(value):
            child_path = path + (key,)
            key_text = inline_scalar(key)
            if _is_block(child):
                lines.append((f"{pad}{key_text}:", child_path))
                emit(child, indent + 2 if isinstance(child, dict) else indent, child_path, lines)
            elif isinstance(child, str) and (header := _literal_block(child)):
                _append_literal(lines, f"{pad}{key_text}: {header}", child, indent + 2, child_path)
            else:
                lines.append((f"{pad}{key_text}: {inline_scalar(child)}", child_path))
        return
    for index, child in enumerate(value):
        child_path = path + (index,)
        if _is_block(child):
            start = len(lines)
            emit(child, indent + 2, child_path, lines)
            first, first_path = lines[start]
            lines[start] = (f"{pad}- {first[indent + 2:]}", first_path)
        elif isinstance(child, str) and (header := _literal_block(child)):
            _append_literal(lines, f"{pad}- {header}", child, indent + 2, child_path)
        else:
            lines.append((f"{pad}- {inline_scalar(child)}", child_path))


def to_lines(value: Any) -> Lines:
    """The YAML lines of `value` (any JSON-like data) with the path each line shows."""
    if not _is_block(value):
        if isinstance(value, str) and (header := _literal_block(value)):
            literal: Lines = []
            _append_literal(literal, header, value, 2, ())
            return literal
        return [(inline_scalar(value), ())]
    lines: Lines = []
    emit(value, 0, (), lines)
    return lines


def _sorted_keys(mapping: dict) -> list[Any]:
    try:
        return sorted(mapping)
    except TypeError:
        return sorted(mapping, key=str)


def _emit_text(value: Any, indent: int, out: list[str]) -> None:
    """`emit` without paths, for `to_text`: the same lines (a third of the work: every object
    `meshops render` prints goes through here)."""
    pad = " " * indent
    if isinstance(value, dict):
        for key in _sorted_keys(value):
            child = value[key]
            key_text = scalar_text(key) if type(key) is str else inline_scalar(key)
            if type(child) is not str and _is_block(child):
                out.append(f"{pad}{key_text}:")
                _emit_text(child, indent + 2 if isinstance(child, dict) else indent, out)
            else:
                _leaf_text(out, f"{pad}{key_text}: ", child, indent + 2)
        return
    for child in value:
        if type(child) is not str and _is_block(child):
            start = len(out)
            _emit_text(child, indent + 2, out)
            out[start] = f"{pad}- {out[start][indent + 2:]}"
        else:
            _leaf_text(out, f"{pad}- ", child, indent + 2)


def _leaf_text(out: list[str], prefix: str, child: Any, indent: int) -> None:
    """A scalar after `prefix` (`key: ` or `- `): on the line, or as a literal block indented by `indent`."""
    if isinstance(child, str) and "\n" in child and (header := _literal_block(child)):
        _append_literal_text(out, prefix + header, child, indent)
    else:
        out.append(prefix + (scalar_text(child) if type(child) is str else inline_scalar(child)))


def _append_literal_text(out: list[str], header_line: str, text: str, indent: int) -> None:
    out.append(header_line)
    pad = " " * indent
    out.extend(f"{pad}{line}" if line else "" for line in text.rstrip("\n").split("\n"))


def to_text(value: Any) -> str:
    """One YAML document for `value`, ending with a newline."""
    if not _is_block(value):
        return "\n".join(text for text, _ in to_lines(value)) + "\n"
    out: list[str] = []
    _emit_text(value, 0, out)
    out.append("")
    return "\n".join(out)
