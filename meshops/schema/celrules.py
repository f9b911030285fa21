"""CEL validation rules of structural schemas (`x-kubernetes-validations`), evaluated like the apiserver.

Shared by the sandbox (every write of a custom resource) and available to validate. Rules run with
a real CEL implementation (`common-expression-language`, the Rust `cel` crate; see pyproject.toml for
why) plus the Kubernetes libraries CRDs use (`url()`/`isURL()` and their getters, `isSorted`,
`find`/`findAll`, `isIP`/`isCIDR`). At each node that carries rules, `self` is the node's value, and
`oldSelf` the correlatable old value on an update (see `correlate`): a transition rule is skipped where
there is none, unless `optionalOldSelf` makes `oldSelf` an optional. Rules without `oldSelf` are not
re-run on values an update left unchanged (CRD validation ratcheting). Values are typed by the schema
first (`number` as double, `format: byte` as bytes, `date-time` as timestamp, `duration` as duration)
and property names CEL reserves are escaped as the apiserver escapes them (`namespace` ->
`__namespace__`, `a-b` -> `a__dash__b`).

A failing rule gives the apiserver's field error: `<path>: Invalid value: "<schema type>": <message>`
(its `reason`, `fieldPath` and `messageExpression` honoured; without a message, `failed rule: <rule>`);
a rule that cannot be evaluated gives `<error> evaluating rule: <rule>`.
Known differences from cel-go: `size()` of a string counts UTF-8 bytes rather than code points; no
static type checking and no cost limits; error texts are the Rust library's.
"""
from __future__ import annotations

import ipaddress
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

import cel
from cel import stdlib

from .correlate import MISSING, Node
from .formats import go_duration


def _url(text: str) -> str:
    if not _is_url(text):
        raise ValueError(f"URL parse error during conversion from string: {text!r}")
    return text


def _is_url(text: Any) -> bool:
    if not isinstance(text, str) or not text:
        return False
    parts = urlsplit(text)
    return bool(parts.scheme) or text.startswith("/")


def _port(text: str) -> str:
    try:
        return str(urlsplit(text).port or "")
    except ValueError:
        return ""


def _is_sorted(values: list) -> bool:
    return all(values[i] <= values[i + 1] for i in range(len(values) - 1))


def _is_ip(text: Any) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _is_cidr(text: Any) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
        return isinstance(text, str) and "/" in text
    except ValueError:
        return False


def _find(text: str, pattern: str) -> str:
    match = re.search(pattern, text)
    return match.group(0) if match else ""


# The Kubernetes CEL libraries (url, lists, regex, ip) beyond what the cel package's stdlib has.
KUBERNETES_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "url": _url, "isURL": _is_url,
    "getScheme": lambda u: urlsplit(u).scheme, "getHost": lambda u: urlsplit(u).netloc.rpartition("@")[2],
    "getHostname": lambda u: urlsplit(u).hostname or "", "getPort": _port,
    "getEscapedPath": lambda u: urlsplit(u).path, "getQuery": lambda u: {},
    "isSorted": _is_sorted,
    "find": _find, "findAll": lambda text, pattern, *limit: re.findall(pattern, text)[:limit[0] if limit else None],
    "isIP": _is_ip, "isCIDR": _is_cidr,
}
FUNCTIONS: dict[str, Callable[..., Any]] = {
    **{name: function for library in stdlib.EXTENSIONS.values() for name, function in library.items()},
    **KUBERNETES_FUNCTIONS,
}
# Functions and operators the cel crate evaluates itself (anything else a rule calls must be in FUNCTIONS).
_NATIVE = {"size", "has", "all", "exists", "exists_one", "map", "filter", "int", "uint", "double", "string", "bytes",
           "bool", "timestamp", "duration", "dyn", "type", "matches", "contains", "startsWith", "endsWith",
           "getFullYear", "getMonth", "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear", "getHours",
           "getMinutes", "getSeconds", "getMilliseconds", "max", "min", "optional.of", "optional.none", "hasValue",
           "value", "orValue", "or"}

# Words CEL reserves: a property named like one is reached as `__word__`.
_RESERVED = {"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if",
             "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"}
_ESCAPES = (("__", "__underscores__"), (".", "__dot__"), ("-", "__dash__"), ("/", "__slash__"))


def escape_property(name: str) -> str:
    if name in _RESERVED:
        return f"__{name}__"
    for raw, escaped in _ESCAPES:
        name = name.replace(raw, escaped)
    return name


def cel_value(value: Any, schema: dict[str, Any] | None) -> Any:
    """`value` as CEL sees it under `schema` (typed scalars, escaped property names)."""
    schema = schema if isinstance(schema, dict) else {}
    kind = schema.get("type")
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties") if isinstance(schema.get("additionalProperties"), dict) else None
        return {(escape_property(k) if k in properties else k): cel_value(v, properties.get(k, extra))
                for k, v in value.items()}
    if isinstance(value, list):
        return [cel_value(item, schema.get("items")) for item in value]
    if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind == "string" and isinstance(value, str):
        return _typed_string(value, schema.get("format"))
    return value


def _typed_string(value: str, format_name: Any) -> Any:
    if format_name == "duration":
        duration = go_duration(value)
        return duration if duration is not None else value
    if format_name in ("date-time", "datetime"):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
        except ValueError:
            return value
    if format_name == "byte":
        import base64
        try:
            return base64.b64decode(value)
        except ValueError:
            return value
    return value


_PROGRAMS: dict[str, Any] = {}
_PROGRAMS_LOCK = threading.Lock()


def compile_rule(rule: str) -> Any:
    """The compiled program of a rule (cached); ValueError with the parser's message when it does not parse
    or calls a function that neither CEL nor the Kubernetes libraries define."""
    with _PROGRAMS_LOCK:
        program = _PROGRAMS.get(rule)
    if program is not None:
        return program
    program = cel.compile(rule)
    unknown = [name for name in program.functions()
               if not name.startswith(("_", "@", "!")) and name not in _NATIVE and name not in FUNCTIONS]
    if unknown:
        raise ValueError(f"undeclared reference to '{unknown[0]}'")
    with _PROGRAMS_LOCK:
        _PROGRAMS[rule] = program
    return program


def uses_old_self(rule: str) -> bool:
    return re.search(r"\boldSelf\b", rule) is not None


@dataclass(frozen=True)
class RuleViolation:
    """One broken (or unevaluable) rule, as the apiserver reports it."""

    path: str
    reason: str  # FieldValueInvalid, FieldValueForbidden, FieldValueRequired, FieldValueDuplicate
    message: str  # the cause message, e.g. `Invalid value: "string": must be a valid duration greater than 1ms`


def _error_string(rule: dict[str, Any]) -> str:
    return str(rule.get("message") or "").strip() or str(rule.get("rule") or "").strip()


def _evaluate(program: Any, variables: dict[str, Any]) -> Any:
    return program.execute(cel.Context(variables=variables, functions=FUNCTIONS))


def _detail(rule: dict[str, Any], variables: dict[str, Any]) -> str:
    expression = rule.get("messageExpression")
    if expression:
        try:
            text = _evaluate(compile_rule(str(expression)), variables)
            if isinstance(text, str) and text.strip():
                return text.strip()
        except Exception:  # noqa: BLE001 - a broken messageExpression falls back to the message
            pass
    if rule.get("message"):
        return str(rule["message"]).strip()
    return f"failed rule: {_error_string(rule)}"


def _field_error(path: str, schema_type: str, detail: str, reason: str | None) -> RuleViolation:
    if reason == "FieldValueForbidden":
        return RuleViolation(path, reason, f"Forbidden: {detail}")
    if reason == "FieldValueRequired":
        return RuleViolation(path, reason, f"Required value: {detail}")
    if reason == "FieldValueDuplicate":
        return RuleViolation(path, reason, f'Duplicate value: "{schema_type}"')
    return RuleViolation(path, "FieldValueInvalid", f'Invalid value: "{schema_type}": {detail}')


def _rule_path(path: str, field_path: Any) -> str:
    if not field_path:
        return path
    suffix = str(field_path)
    return f"{path}{suffix}" if path else suffix.lstrip(".")


def node_violations(node: Node) -> list[RuleViolation]:
    """The rules at one node that fail for its value."""
    rules = node.schema.get("x-kubernetes-validations") or []
    if not rules:
        return []
    schema_type = str(node.schema.get("type") or ("object" if isinstance(node.value, dict) else "string"))
    found: list[RuleViolation] = []
    for rule in rules:
        text = str(rule.get("rule") or "")
        transition = uses_old_self(text)
        if not transition and node.unchanged:
            continue  # ratcheting: an unchanged value is not re-validated
        variables: dict[str, Any] = {"self": cel_value(node.value, node.schema)}
        if transition:
            if node.old is MISSING and not rule.get("optionalOldSelf"):
                continue
            old_value = MISSING if node.old is MISSING else cel_value(node.old, node.schema)
            if rule.get("optionalOldSelf"):
                variables["oldSelf"] = cel.OptionalValue.none() if old_value is MISSING else cel.OptionalValue.of(old_value)
            else:
                variables["oldSelf"] = old_value
        try:
            result = _evaluate(compile_rule(text), variables)
        except Exception as error:  # noqa: BLE001 - any evaluation error is the rule's failure, as in cel-go
            found.append(RuleViolation(node.path, "FieldValueInvalid",
                                       f'Invalid value: "{schema_type}": {error} evaluating rule: {_error_string(rule)}'))
            continue
        if result is not True:
            found.append(_field_error(_rule_path(node.path, rule.get("fieldPath")), schema_type,
                                      _detail(rule, variables), rule.get("reason")))
    return found


def rule_violations(nodes: Iterable[Node]) -> list[RuleViolation]:
    """Every failing rule over the nodes of an object (see `correlate.walk`)."""
    return [violation for node in nodes for violation in node_violations(node)]


def rule_compile_errors(schema: Any, path: str = "") -> list[tuple[str, str, str]]:
    """(path, rule, error) for every rule in a schema that does not compile (what a CRD write is refused for)."""
    errors: list[tuple[str, str, str]] = []
    if isinstance(schema, dict):
        for index, rule in enumerate(schema.get("x-kubernetes-validations") or []):
            text = str((rule or {}).get("rule") or "")
            try:
                compile_rule(text)
            except ValueError as error:
                errors.append((f"{path}.x-kubernetes-validations[{index}].rule", text, str(error)))
        for key in ("properties",):
            for name, sub in (schema.get(key) or {}).items():
                errors.extend(rule_compile_errors(sub, f"{path}.properties[{name}]"))
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                errors.extend(rule_compile_errors(schema[key], f"{path}.{key}"))
    return errors
