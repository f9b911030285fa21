"""Kubernetes structural schemas (a CRD's `openAPIV3Schema`) checked with the jsonschema library.

Used by validate (shipped Istio schemas, `--crds` files, a cluster's own CRDs) and by the sandbox
API server (writes to custom resources). A structural schema is JSON Schema plus Kubernetes
conventions; `to_json_schema` rewrites those conventions so jsonschema can check them:

- an object with `properties` and no `additionalProperties` is closed (the API server prunes or,
  with `fieldValidation=Strict`, rejects unknown fields) unless `x-kubernetes-preserve-unknown-fields`;
- `nullable: true` admits null; `x-kubernetes-int-or-string` admits both;
- `x-kubernetes-*` keys and `description` are dropped (jsonschema ignores unknown keywords anyway,
  dropping them keeps compiled schemas small);
- inside `oneOf`/`anyOf`/`allOf`/`not` a schema only narrows values (a Gateway address of type
  IPAddress must be an IP): `properties` there close nothing, and a `format` there is checked with
  `meshops.schema.formats` (a field's own `format` is that module's business: the sandbox checks it
  with the apiserver's wording, so it is dropped here and nothing is reported twice).

`apply_defaults` fills `default:` values the way the API server does for structural schemas
(`as_admitted`: on a copy, for checking what the server would check), and `prune_unknown` drops
fields a schema does not declare (fieldValidation=Ignore).
"""
from __future__ import annotations

import copy
from typing import Any

import fastjsonschema

from . import formats
from .compiled import FastValidators
from .problems import SchemaProblem, check_with

_DROP = {"description", "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "x-kubernetes-validations", "example", "externalDocs"}


def to_json_schema(schema: dict[str, Any], *, narrowing: bool = False) -> dict[str, Any]:
    """A JSON Schema (draft 4 semantics) equivalent to a structural schema, closed objects included.

    `narrowing`: the schema sits inside a logic junctor, where it constrains values and declares nothing.
    """
    if not isinstance(schema, dict):
        return schema
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROP or key.startswith("x-kubernetes-") or (key == "format" and not narrowing):
            continue
        if key == "properties":
            result[key] = {name: to_json_schema(sub, narrowing=narrowing) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            result[key] = to_json_schema(value, narrowing=narrowing)
        elif key == "not" and isinstance(value, dict):
            result[key] = to_json_schema(value, narrowing=True)
        elif key in ("oneOf", "anyOf", "allOf"):
            result[key] = [to_json_schema(sub, narrowing=True) for sub in value]
        else:
            result[key] = value
    if schema.get("x-kubernetes-int-or-string"):
        result.pop("type", None)
        result["type"] = ["integer", "string"]
    if schema.get("nullable") and "type" in result:
        types = result["type"] if isinstance(result["type"], list) else [result["type"]]
        result["type"] = types + ["null"]
    result.pop("nullable", None)
    is_object = result.get("type") == "object" or "properties" in result
    if narrowing:
        return result
    if is_object and "additionalProperties" not in result and not schema.get("x-kubernetes-preserve-unknown-fields"):
        if "properties" in result:
            result["additionalProperties"] = False
    return result


# Compiled validators by schema identity (schemas are loaded once and live as long as the process);
# the schema itself is kept so its id cannot be reused by another object.
_COMPILED: dict[int, tuple[dict[str, Any], Any]] = {}


_FORMAT_CHECKER: list[Any] = []  # built on first use: jsonschema is imported only when an object is invalid


def _format_checker() -> Any:
    """The apiserver's format tests, for the formats that narrow values inside logic junctors."""
    if not _FORMAT_CHECKER:
        import jsonschema

        checker = jsonschema.FormatChecker(formats=())
        for name, test in formats.FORMATS.items():
            checker.checks(name)(lambda value, test=test: not isinstance(value, str) or test(value))
        _FORMAT_CHECKER.append(checker)
    return _FORMAT_CHECKER[0]


def validator(schema: dict[str, Any]):
    """A compiled, cached jsonschema validator for a structural schema."""
    entry = _COMPILED.get(id(schema))
    if entry is None or entry[0] is not schema:
        import jsonschema  # only invalid objects need it (the compiled validator confirms valid ones)

        entry = (schema, jsonschema.Draft4Validator(to_json_schema(schema), format_checker=_format_checker()))
        _COMPILED[id(schema)] = entry
    return entry[1]


# The API server checks the envelope itself; CRD schemas usually leave these fields out.
_ENVELOPE = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}


def object_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A CRD version's schema widened with the envelope fields every object has."""
    properties = dict(schema.get("properties") or {})
    for name, sub in _ENVELOPE.items():
        properties.setdefault(name, sub)
    return {**schema, "properties": properties}


def violations(obj: Any, schema: dict[str, Any], *, whole_object: bool = True) -> list[SchemaProblem]:
    """Every way `obj` breaks the structural `schema` (unknown fields with did-you-mean hints).

    With `whole_object`, `schema` is a CRD version's `openAPIV3Schema` and `obj` a complete object.
    """
    if whole_object:
        wrapped = _WRAPPED.get(id(schema))
        if wrapped is None or wrapped[0] is not schema:
            wrapped = (schema, object_schema(schema))
            _WRAPPED[id(schema)] = wrapped
        schema = wrapped[1]
    fast = _fast_check(schema)
    if fast is not None:
        try:
            fast(obj)
            return []
        except fastjsonschema.JsonSchemaValueException:
            pass  # invalid: let jsonschema list every problem with its path
    return check_with(validator(schema), obj)


_WRAPPED: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}

# Compiled validators by schema identity; the schema itself is kept so its id cannot be reused.
_FAST = FastValidators()


def _fast_check(schema: dict[str, Any]) -> Any:
    """A compiled fastjsonschema validator for `schema` when one is worth having (see FastValidators)."""
    return _FAST.get(id(schema), lambda: _fast_schema(schema))


_KEEP: dict[int, dict[str, Any]] = {}


def _fast_schema(schema: dict[str, Any]) -> dict[str, Any]:
    _KEEP[id(schema)] = schema  # the key is its id: keep it alive so the id stays its own
    return {"$schema": "http://json-schema.org/draft-04/schema#", **to_json_schema(schema)}


def apply_defaults(obj: Any, schema: dict[str, Any]) -> Any:
    """Fill `default` values into `obj` in place (objects present in `obj` only, as the API server does)."""
    if not isinstance(schema, dict):
        return obj
    if isinstance(obj, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if name not in obj and isinstance(sub, dict) and "default" in sub:
                obj[name] = copy.deepcopy(sub["default"])
            if name in obj:
                apply_defaults(obj[name], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            known = set(schema.get("properties") or {})
            for name, value in obj.items():
                if name not in known:
                    apply_defaults(value, extra)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for item in obj:
            apply_defaults(item, schema["items"])
    return obj


# Schemas (by identity) and whether any node below them declares a `default`.
_DEFAULTING: dict[int, tuple[dict[str, Any], bool]] = {}


def declares_defaults(schema: dict[str, Any]) -> bool:
    """Whether filling defaults can change an object of this schema (Gateway API: yes; Istio: no)."""
    entry = _DEFAULTING.get(id(schema))
    if entry is None or entry[0] is not schema:
        children = [sub for sub in (schema.get("properties") or {}).values() if isinstance(sub, dict)]
        children += [schema[key] for key in ("items", "additionalProperties") if isinstance(schema.get(key), dict)]
        entry = (schema, "default" in schema or any(declares_defaults(child) for child in children))
        _DEFAULTING[id(schema)] = entry
    return entry[1]


def as_admitted(obj: Any, schema: dict[str, Any]) -> Any:
    """`obj` as the API server checks it: with schema defaults filled in (a copy; `obj` itself when
    the schema declares none), since rules such as "an address of the default type IPAddress must
    be an IP" hold only for the defaulted object."""
    if not isinstance(schema, dict) or not declares_defaults(schema):
        return obj
    return apply_defaults(copy.deepcopy(obj), schema)


def prune_unknown(obj: Any, schema: dict[str, Any]) -> list[str]:
    """Drop fields `schema` does not declare, in place; returns the dropped paths (for warnings)."""
    dropped: list[str] = []

    def walk(node: Any, sub: dict[str, Any], path: str) -> None:
        if not isinstance(sub, dict):
            return
        if isinstance(node, dict):
            properties = sub.get("properties")
            extra = sub.get("additionalProperties")
            preserve = sub.get("x-kubernetes-preserve-unknown-fields")
            for name in list(node):
                if properties is not None and name in properties:
                    walk(node[name], properties[name], f"{path}.{name}")
                elif isinstance(extra, dict):
                    walk(node[name], extra, f"{path}.{name}")
                elif properties is not None and not preserve and extra is not True:
                    dropped.append(f"{path}.{name}")
                    del node[name]
        elif isinstance(node, list) and isinstance(sub.get("items"), dict):
            for index, item in enumerate(node):
                walk(item, sub["items"], f"{path}[{index}]")

    walk(obj, schema, "")
    return dropped
