"""JSON Schema checks with messages a person can act on.

Used for the files meshops itself reads (values, meshops.yaml). jsonschema reports an unknown key
as "Additional properties are not allowed ('x' was unexpected)" at the parent; this module turns
that into the path of the unknown key itself plus a did-you-mean hint, so the caller can name the
exact file and line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import fastjsonschema

from ..model.suggest import did_you_mean
from ..yamlio.documents import Path

if TYPE_CHECKING:
    import jsonschema  # imported where invalid data is explained: valid data never needs it

_UNEXPECTED = re.compile(r"'([^']+)' (?:was|were) unexpected")


@dataclass(frozen=True)
class SchemaProblem:
    """One violation: where (JSON path), what, and a hint."""

    path: Path
    message: str
    hint: str = ""
    keyword: str = ""  # the JSON Schema keyword that failed (additionalProperties, enum, type, …)


def _exclusive_names(branches: list) -> list[str] | None:
    """Field names of an "at most one of" `oneOf` (the CRD idiom: `not anyOf required` + one `required` each)."""
    names: list[str] = []
    for branch in branches:
        if not isinstance(branch, dict):
            return None
        if set(branch) == {"required"} and len(branch["required"]) == 1:
            names.append(branch["required"][0])
        elif set(branch) != {"not"}:
            return None
    return names or None


def _problems_of(error: jsonschema.ValidationError) -> list[SchemaProblem]:
    return [replace(problem, keyword=problem.keyword or str(error.validator)) for problem in _explain(error)]


def _explain(error: jsonschema.ValidationError) -> list[SchemaProblem]:
    path: Path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list((error.schema.get("properties") or {}).keys())
        problems = []
        # jsonschema names several unexpected keys in one message; the instance lists them reliably.
        unexpected = [k for k in error.instance if k not in allowed] if error.validator_value is False else []
        for key in unexpected or _UNEXPECTED.findall(error.message):
            hint = did_you_mean(key, allowed) or (f"allowed keys: {', '.join(sorted(allowed))}" if allowed else "")
            problems.append(SchemaProblem(path + (key,), f"unknown key {key!r}", hint))
        return problems
    if error.validator == "enum":
        return [SchemaProblem(path, f"{error.instance!r} is not one of {', '.join(map(str, error.validator_value))}")]
    if error.validator == "required":
        return [SchemaProblem(path, error.message.replace("is a required property", "is required"))]
    if error.validator == "type":
        return [SchemaProblem(path, f"{error.instance!r} is not of type {error.validator_value}")]
    if error.validator == "oneOf" and isinstance(error.instance, dict):
        names = _exclusive_names(error.validator_value)
        if names:
            present = [name for name in names if name in error.instance]
            return [SchemaProblem(path, f"only one of {', '.join(names)} may be set (found {', '.join(present)})",
                                  f"keep one of {', '.join(present)}", "oneOf")]
    if error.validator == "not" and isinstance(error.schema.get("description"), str):
        # "must not be valid under {...}" says nothing to a person; the schema's own words do.
        return [SchemaProblem(path, error.schema["description"])]
    if error.validator == "anyOf" and error.context and all(e.validator == "format" for e in error.context):
        names = " or ".join(sorted({str(e.validator_value) for e in error.context}))
        return [SchemaProblem(path, f"{error.instance!r} is not a valid {names}", "", "format")]
    if error.validator in ("oneOf", "anyOf") and error.context:
        from jsonschema.exceptions import best_match

        best = best_match(error.context)
        return _problems_of(best)
    return [SchemaProblem(path, error.message)]


# Compiled fast validators by schema identity (schemas live as long as the process that loaded them).
_FAST: dict[int, tuple[dict, Any]] = {}


def _fast_validator(schema: dict) -> Any:
    entry = _FAST.get(id(schema))
    if entry is None or entry[0] is not schema:
        from .compiled import compile_validator

        compiled = compile_validator(schema)  # None: a keyword fastjsonschema lacks, jsonschema alone decides
        entry = (schema, compiled)
        _FAST[id(schema)] = entry
    return entry[1]


def check(data: Any, schema: dict) -> list[SchemaProblem]:
    """Every violation of `schema` by `data`, in document order.

    Valid data (the common case) is confirmed by fastjsonschema's compiled validator, several times
    faster; only invalid data pays for jsonschema's complete, well-located error list.
    """
    fast = _fast_validator(schema)
    if fast is not None:
        try:
            fast(data)
            return []
        except fastjsonschema.JsonSchemaValueException:
            pass
    from jsonschema.validators import validator_for

    validator_class = validator_for(schema)
    return check_with(validator_class(schema), data)


def check_with(validator: Any, data: Any) -> list[SchemaProblem]:
    """Every violation found by a compiled jsonschema `validator`, in document order."""
    problems: list[SchemaProblem] = []
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        problems.extend(_problems_of(error))
    return problems
