"""Admission checks of the write path: unknown fields, defaults, schema and metadata rules.

Order, as in the apiserver: unknown fields are found while decoding (`unknown_fields`: pruned,
then per `fieldValidation` Strict -> 400 "strict decoding error", Warn -> a `Warning` header,
Ignore -> silently dropped); nulls of non-nullable fields are dropped and schema `default`s filled
(custom resources); then the whole object is checked (`check`) and every problem becomes a cause of
one 422 Invalid, with the apimachinery field-error wording (`Required value`, `Unsupported value`,
`Invalid value: "string": spec.x in body must be of type integer: "string"`).
Schema checks use `meshops.schema.structural` on the kind's structural schema; then `format`
(`meshops.schema.formats`) and the CEL rules (`x-kubernetes-validations`, `meshops.schema.celrules`),
with the old object on updates for transition rules and ratcheting. As in the apiserver, CEL rules are
not run on an object with type errors (a cause says so instead).
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

from ..model.names import DNS1035, LABEL, SUBDOMAIN, NameRule
from ..schema import celrules, correlate, formats
from ..schema import structural as openapi
from .resources import ResourceType
from .status import ApiError, cause, invalid

FIELD_VALIDATION = ("Strict", "Warn", "Ignore")
# What the apiserver assumes when a client sends no fieldValidation (server-side field validation GA).
DEFAULT_FIELD_VALIDATION = "Warn"

ANNOTATIONS_LIMIT = 256 * 1024

Causes = list[dict[str, str]]


def unknown_fields(obj: dict[str, Any], rtype: ResourceType, *, mode: str, warnings: list[str]) -> None:
    """Drop fields the schema does not declare (in place), reporting them as `mode` says."""
    dropped = [path.lstrip(".") for path in openapi.prune_unknown(obj, rtype.schema)]
    if not dropped or mode == "Ignore":
        return
    listed = ", ".join(f'unknown field "{path}"' for path in dropped)
    if mode == "Strict":
        raise ApiError(400, f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
                            f"strict decoding error: {listed}")
    warnings.extend(f'unknown field "{path}"' for path in dropped)


def drop_nulls(node: Any, schema: dict[str, Any] | None) -> None:
    """Remove null values of fields that are not nullable, as structural defaulting does (in place)."""
    if not isinstance(schema, dict):
        return
    if isinstance(node, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for name in list(node):
            sub = properties.get(name, extra if isinstance(extra, dict) else None)
            if node[name] is None:
                if sub is not None and not sub.get("nullable") and "default" not in sub:
                    del node[name]
            else:
                drop_nulls(node[name], sub)
    elif isinstance(node, list):
        for item in node:
            drop_nulls(item, schema.get("items") if isinstance(schema.get("items"), dict) else None)


def default(obj: dict[str, Any], rtype: ResourceType) -> None:
    drop_nulls(obj, rtype.schema)
    openapi.apply_defaults(obj, rtype.schema)


def _render_path(path: Any) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def _shown(value: Any) -> str:
    """A value as apimachinery prints it in `Invalid value: ...`."""
    if isinstance(value, dict):
        return '"object"'
    if isinstance(value, list):
        return '"array"'
    return json.dumps(value)


def _type_name(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object", list: "array", type(None): "null"}
    return names.get(type(value), "unknown")


def _error_causes(error: Any) -> Causes:
    path = _render_path(error.absolute_path)
    value = error.instance
    expected = error.validator_value
    rule = error.validator
    if rule == "type":
        wanted = expected if isinstance(expected, str) else "/".join(t for t in expected if t != "null")
        got = _type_name(value)
        return [cause(path, "FieldValueTypeInvalid", f'Invalid value: "{got}": {path} in body must be of type {wanted}: "{got}"')]
    if rule == "enum":
        supported = ", ".join(_shown(v) for v in expected)
        return [cause(path, "FieldValueNotSupported", f"Unsupported value: {_shown(value)}: supported values: {supported}")]
    if rule == "required":
        missing = [name for name in expected if isinstance(value, dict) and name not in value]
        return [cause(f"{path}.{name}" if path else name, "FieldValueRequired", "Required value") for name in missing]
    reason, template = _RULE_MESSAGES.get(rule, _OTHER_RULE)
    count = len(value) if isinstance(value, (list, dict, str)) else 0
    message = template.format(value=_shown(value), path=path, expected=expected, count=count, detail=error.message)
    return [cause(path, reason, message)]


# jsonschema keyword -> (cause reason, message) as apimachinery words a broken OpenAPI rule.
_RULE_MESSAGES: dict[str, tuple[str, str]] = {
    "maxLength": ("FieldValueTooLong", "Too long: may not be more than {expected} bytes"),
    "maxItems": ("FieldValueTooMany", "Too many: {count}: must have at most {expected} items"),
    "maxProperties": ("FieldValueTooMany", "Too many: {count}: must have at most {expected} items"),
    "minimum": ("FieldValueInvalid", "Invalid value: {value}: {path} in body should be greater than or equal to {expected}"),
    "maximum": ("FieldValueInvalid", "Invalid value: {value}: {path} in body should be less than or equal to {expected}"),
    "minLength": ("FieldValueInvalid", "Invalid value: {value}: {path} in body should be at least {expected} chars long"),
    "minItems": ("FieldValueInvalid", "Invalid value: {count}: {path} in body should have at least {expected} items"),
    "pattern": ("FieldValueInvalid", "Invalid value: {value}: {path} in body should match '{expected}'"),
    "oneOf": ("FieldValueInvalid", "Invalid value: {value}: {path} in body must validate one and only one schema (oneOf)"),
    "anyOf": ("FieldValueInvalid", "Invalid value: {value}: {path} in body must validate at least one schema (anyOf)"),
    "not": ("FieldValueInvalid", "Invalid value: {value}: {path} in body must not validate the schema (not)"),
}
_OTHER_RULE = ("FieldValueInvalid", "Invalid value: {value}: {detail}")


def schema_causes(obj: dict[str, Any], rtype: ResourceType) -> Causes:
    errors = sorted(openapi.validator(rtype.schema).iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
    return [c for error in errors for c in _error_causes(error)]


# rule -> (its pattern and longest length, shared with validate: `model.names`; apimachinery's
# explanation, worded as the API server words it)
NAME_RULES: dict[str, tuple[NameRule, str]] = {
    "subdomain": (SUBDOMAIN, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                  "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
                  "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
    "label": (LABEL, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
              "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
              "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
    "dns1035": (DNS1035, "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
                "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex "
                "used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"),
}

_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def name_causes(name: str, rule: str, field_name: str = "metadata.name") -> Causes:
    if rule == "any":
        if name in (".", "..") or "/" in name or "%" in name:
            return [cause(field_name, "FieldValueInvalid", f'Invalid value: "{name}": may not contain \'/\' or \'%\'')]
        return []
    name_rule, explanation = NAME_RULES[rule]
    if len(name) > name_rule.longest:
        return [cause(field_name, "FieldValueInvalid",
                      f'Invalid value: "{name}": must be no more than {name_rule.longest} characters')]
    if not name_rule.pattern.match(name):
        return [cause(field_name, "FieldValueInvalid", f'Invalid value: "{name}": {explanation}')]
    return []


def _qualified_name_ok(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > SUBDOMAIN.longest or not SUBDOMAIN.pattern.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_LABEL_NAME.match(name))


def metadata_causes(obj: dict[str, Any], rtype: ResourceType) -> Causes:
    metadata = obj.get("metadata") or {}
    causes: Causes = []
    if not metadata.get("name"):
        causes.append(cause("metadata.name", "FieldValueRequired", "Required value: name or generateName is required"))
    elif isinstance(metadata["name"], str):
        causes.extend(name_causes(metadata["name"], rtype.name_rule))
    for map_name in ("labels", "annotations"):
        entries = metadata.get(map_name)
        if not isinstance(entries, dict):
            continue
        for key, value in entries.items():
            if not _qualified_name_ok(key):
                causes.append(cause(f"metadata.{map_name}", "FieldValueInvalid",
                                    f'Invalid value: "{key}": name part must consist of alphanumeric characters, '
                                    "'-', '_' or '.', and must start and end with an alphanumeric character"))
            if map_name == "labels" and isinstance(value, str) and (len(value) > 63 or not _LABEL_VALUE.match(value)):
                causes.append(cause("metadata.labels", "FieldValueInvalid",
                                    f'Invalid value: "{value}": a valid label must be an empty string or consist of '
                                    "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                                    "alphanumeric character"))
        if map_name == "annotations":
            size = sum(len(k) + len(v) for k, v in entries.items() if isinstance(v, str))
            if size > ANNOTATIONS_LIMIT:
                causes.append(cause("metadata.annotations", "FieldValueTooLong",
                                    f"Too long: must have at most {ANNOTATIONS_LIMIT} bytes"))
    return causes


# What the apiserver adds instead of running CEL rules on an object with type errors.
_RULES_NOT_CHECKED = ("some validation rules were not checked because the object was invalid; correct the "
                      "existing errors to complete validation")


def _has_rules(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("x-kubernetes-validations"):
        return True
    children = list((schema.get("properties") or {}).values()) + [schema.get("items"), schema.get("additionalProperties")]
    return any(_has_rules(child) for child in children)


# Whether a schema carries CEL rules anywhere, by schema identity (schemas live as long as their type).
_RULES: dict[int, tuple[dict[str, Any], bool]] = {}


def _rules_of(rtype: ResourceType) -> bool:
    cached = _RULES.get(id(rtype.schema))
    if cached is None or cached[0] is not rtype.schema:
        cached = (rtype.schema, _has_rules(rtype.schema))
        _RULES[id(rtype.schema)] = cached
    return cached[1]


def format_and_rule_causes(obj: dict[str, Any], rtype: ResourceType, *, old: dict[str, Any] | None,
                           schema_causes_found: Causes) -> Causes:
    """`format` problems and broken CEL rules of a custom resource (old: the stored object, on updates)."""
    nodes = list(correlate.walk(obj, rtype.schema, old=old if old is not None else correlate.MISSING))
    causes = [cause(path, "FieldValueInvalid", f"Invalid value: {_shown(value)}: {message}")
              for path, value, message in formats.format_violations(nodes)]
    if not _rules_of(rtype):
        return causes
    if any(c["reason"] == "FieldValueTypeInvalid" for c in schema_causes_found):
        return causes + [cause("<nil>", "FieldValueInvalid", f"Invalid value: \"null\": {_RULES_NOT_CHECKED}")]
    return causes + [cause(v.path, v.reason, v.message) for v in celrules.rule_violations(nodes)]


def check(obj: dict[str, Any], rtype: ResourceType, *, old: dict[str, Any] | None = None,
          extra: Callable[[dict], Causes] | None = None,
          update_extra: Callable[[dict, dict], Causes] | None = None) -> None:
    """422 Invalid listing every problem of `obj` (an update of `old`), or nothing."""
    found = schema_causes(obj, rtype)
    causes = metadata_causes(obj, rtype) + found
    if rtype.custom:
        causes += format_and_rule_causes(obj, rtype, old=old, schema_causes_found=found)
    if not causes:
        causes = (extra(obj) if extra is not None else []) + (
            update_extra(obj, old) if update_extra is not None and old is not None else [])
    if causes:
        name = str((obj.get("metadata") or {}).get("name") or "")
        raise invalid(kind=rtype.kind, group=rtype.group, name=name, causes=causes)
