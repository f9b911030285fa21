"""Schema checks (MSH1xx): is each object what its API says it may be? The first check of validate.

`check_schemas(manifests, schemas)` looks at every object alone, with the schema of its apiVersion
and kind from a `SchemaSet` (shipped, `--crds`, or the cluster's own CRDs):

- envelope: apiVersion, kind and metadata.name present (MSH102);
- kind: served by the schema set (MSH103 when its group is one the set serves: a typo or a version
  that does not exist), a core Kubernetes kind (checked with the schemas `kubernetes-validate`
  bundles), or an unknown custom kind (MSH104, info: not ours to judge);
- structure: unknown fields with a did-you-mean or "belongs under" hint (MSH105), types (MSH106),
  enum values (MSH107), required fields (MSH108), ranges, lengths and patterns (MSH109), fields a
  oneof allows only one of (MSH110);
- rules: the CRDs' `x-kubernetes-validations`, evaluated by the named Python checks in
  `schemas/cel_rules.py` (MSH111): durations like `7s`, ports 1-65535, "portLevelMtls requires selector" …

Messages have one stable shape, `<what is wrong>; <how to fix it>`, and every finding carries the
places to edit (`manifest.locate(path)`: values line then template line for rendered objects, the
file line for `-f` files). `RULES` is the catalogue: one row per code.
"""
from __future__ import annotations

import os
from typing import Any, Iterable

from ..schema import structural as openapi
from ..model import names
from ..model.errors import Location
from ..model.kinds import split_api_version
from ..model.manifest import Manifest, ObjectKey
from ..schema.problems import SchemaProblem
from ..model.suggest import closest
from ..yamlio.documents import Path
from .environment import KUBERNETES_VERSION_ENV
from .findings import Finding, Rule, Severity
from .schemas import SchemaSet, cel_rules as checks
from .schemas.core import core_schemas

CODE_PARSE_ERROR = "MSH100"
CODE_DUPLICATE_KEY = "MSH101"
CODE_NOT_AN_OBJECT = "MSH102"
CODE_UNKNOWN_KIND = "MSH103"
CODE_UNKNOWN_CUSTOM_KIND = "MSH104"
CODE_UNKNOWN_FIELD = "MSH105"
CODE_WRONG_TYPE = "MSH106"
CODE_NOT_ALLOWED = "MSH107"
CODE_MISSING_REQUIRED = "MSH108"
CODE_OUT_OF_RANGE = "MSH109"
CODE_EXCLUSIVE_FIELDS = "MSH110"
CODE_RULE = "MSH111"
CODE_NOT_MANIFESTS = "MSH112"
CODE_NOT_RENDERED = "MSH113"

# What `istioctl analyze` calls a schema finding.
SCHEMA_ERROR = "IST0106 SchemaValidationError"

RULES: tuple[Rule, ...] = (
    Rule(CODE_PARSE_ERROR, Severity.ERROR, "file is not valid YAML (or JSON)"),
    Rule(CODE_DUPLICATE_KEY, Severity.ERROR, "duplicate key in a mapping (YAML would keep only the last)"),
    Rule(CODE_NOT_AN_OBJECT, Severity.ERROR, "document is not a Kubernetes object (apiVersion, kind, metadata.name)"),
    Rule(CODE_UNKNOWN_KIND, Severity.ERROR, "kind or apiVersion not served by the schemas of its API group"),
    Rule(CODE_UNKNOWN_CUSTOM_KIND, Severity.INFO, "kind of an unknown API group, not checked"),
    Rule(CODE_UNKNOWN_FIELD, Severity.ERROR, "unknown field", SCHEMA_ERROR),
    Rule(CODE_WRONG_TYPE, Severity.ERROR, "value of the wrong type", SCHEMA_ERROR),
    Rule(CODE_NOT_ALLOWED, Severity.ERROR, "value not among the allowed ones", SCHEMA_ERROR),
    Rule(CODE_MISSING_REQUIRED, Severity.ERROR, "required field missing", SCHEMA_ERROR),
    Rule(CODE_OUT_OF_RANGE, Severity.ERROR, "value out of range, too long or malformed", SCHEMA_ERROR),
    Rule(CODE_EXCLUSIVE_FIELDS, Severity.ERROR, "fields that exclude each other are set together", SCHEMA_ERROR),
    Rule(CODE_RULE, Severity.ERROR, "value breaks a validation rule of the schema", SCHEMA_ERROR),
    Rule(CODE_NOT_MANIFESTS, Severity.INFO, "file holds no Kubernetes objects (kustomization.yaml, values …): skipped"),
    Rule(CODE_NOT_RENDERED, Severity.WARNING, "file in templates/ or an environment's manifests/ that is not rendered"),
)
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}

# Which JSON Schema keyword means which finding (anything else: out of range / malformed).
_CODE_BY_KEYWORD = {
    "additionalProperties": CODE_UNKNOWN_FIELD,
    "type": CODE_WRONG_TYPE,
    "enum": CODE_NOT_ALLOWED,
    "required": CODE_MISSING_REQUIRED,
    "oneOf": CODE_EXCLUSIVE_FIELDS,
}

# Values people write for an enum because they know them from elsewhere: the Prometheus names of
# Istio's standard metrics are not Telemetry metric names.
ENUM_ALIASES = {
    "istio_requests_total": "REQUEST_COUNT",
    "istio_request_duration_milliseconds": "REQUEST_DURATION",
    "istio_request_bytes": "REQUEST_SIZE",
    "istio_response_bytes": "RESPONSE_SIZE",
    "istio_tcp_connections_opened_total": "TCP_OPENED_CONNECTIONS",
    "istio_tcp_connections_closed_total": "TCP_CLOSED_CONNECTIONS",
    "istio_tcp_sent_bytes_total": "TCP_SENT_BYTES",
    "istio_tcp_received_bytes_total": "TCP_RECEIVED_BYTES",
    "istio_request_messages_total": "GRPC_REQUEST_MESSAGES",
    "istio_response_messages_total": "GRPC_RESPONSE_MESSAGES",
}
ENUM_ALIASES.update({name.removeprefix("istio_"): value for name, value in list(ENUM_ALIASES.items())})

# Fields people put where they do not belong, with where they do (kind, field) -> hint.
MISPLACED_FIELD_HINTS = {
    ("Telemetry", "format"): "the access-log format belongs to the provider: meshConfig.extensionProviders[]"
    ".envoyFileAccessLog.logFormat (text or labels); Telemetry only picks providers by name",
}

# Kubernetes' own API groups: no dot ("", apps, batch, policy …) or a *.k8s.io group.


def is_kubernetes_group(group: str) -> bool:
    return "." not in group or group.endswith(".k8s.io")


def make_finding(code: str, message: str, *, obj: ObjectKey | None, locations: list[Location], path: Path = ()) -> Finding:
    """A finding with the catalogue's severity for `code`."""
    return Finding(code=code, severity=RULES_BY_CODE[code].severity, message=message, object=obj, path=tuple(path),
                   locations=locations)


def _dotted(path: Iterable[str | int]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")


class _Checker:
    """State for one `check_schemas` run: the schema set, core schemas (loaded on first use)."""

    def __init__(self, schemas: SchemaSet, kubernetes_version: str | None) -> None:
        self.schemas = schemas
        self.core = core_schemas(kubernetes_version or os.environ.get(KUBERNETES_VERSION_ENV))

    def check(self, manifest: Manifest) -> list[Finding]:
        envelope = self._envelope(manifest)
        if envelope is not None:
            return envelope
        return self._names(manifest) + self._content(manifest)

    def _names(self, manifest: Manifest) -> list[Finding]:
        """MSH109 for a metadata.name or metadata.namespace the API server would refuse."""
        metadata = manifest.obj["metadata"]  # the envelope check made sure it is a mapping
        group = split_api_version(manifest.obj["apiVersion"])[0]
        checks = [(field, metadata.get(field), rule) for field, rule in (
            ("name", names.rule_for(group, manifest.obj["kind"])), ("namespace", names.NAMESPACE_RULE))]
        checks = [(field, value, rule) for field, value, rule in checks if isinstance(value, str) and value]
        findings = []
        for field, value, rule in checks:
            problem = names.name_problem(value, rule)
            if problem:
                better = names.suggested_name(value, rule)
                fix = f"use e.g. {better!r}" if better else "rename it"
                findings.append(self._finding(manifest, CODE_OUT_OF_RANGE, ("metadata", field),
                                              f"metadata.{field} {value!r} {problem}; the API server refuses it: {fix}"))
        return findings

    def _content(self, manifest: Manifest) -> list[Finding]:
        group, version = split_api_version(manifest.api_version)
        kind = manifest.kind
        served = self.schemas.served_kind(group, kind)
        if served is not None and version in served.schemas:
            schema = served.schemas[version]
            if schema is None:
                return []
            admitted = openapi.as_admitted(manifest.obj, schema)  # defaults filled in, as the API server checks
            return self._structural(manifest, admitted, schema, self.schemas) + self._rules(manifest, admitted, schema)
        if served is not None:
            versions = ", ".join(self.schemas.served_versions(group, kind))
            return [self._finding(manifest, CODE_UNKNOWN_KIND, ("apiVersion",),
                                  f"{kind} is not served at {manifest.api_version}; use one of the served versions: {versions}")]
        if self.schemas.serves_group(group):
            known = self.schemas.kinds_in_group(group)
            guess = closest(kind, known)
            fix = f"did you mean {guess!r}?" if guess else f"kinds of {group}: {', '.join(known)}"
            return [self._finding(manifest, CODE_UNKNOWN_KIND, ("kind",), f"{group} has no kind {kind!r}; {fix}")]
        if is_kubernetes_group(group) and self.core.has_schema(manifest.api_version, kind):
            if _confirmed(self.core.fast_validator(manifest.api_version, kind), manifest.obj):
                return []
            return [self._from_problem(manifest, problem, None)
                    for problem in openapi.check_with(self.core.validator(manifest.api_version, kind), manifest.obj)]
        return [self._finding(manifest, CODE_UNKNOWN_CUSTOM_KIND, ("kind",),
                              f"no schema for {manifest.api_version} {kind}, so it was not checked; "
                              "pass its CRD with --crds to check it")]

    def _envelope(self, manifest: Manifest) -> list[Finding] | None:
        missing = [field for field in ("apiVersion", "kind") if not isinstance(manifest.obj.get(field), str) or not manifest.obj[field]]
        metadata = manifest.obj.get("metadata")
        if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or not metadata["name"]:
            if not (isinstance(metadata, dict) and metadata.get("generateName")):
                missing.append("metadata.name")
        if not missing:
            return None
        return [self._finding(manifest, CODE_NOT_AN_OBJECT, (), f"not a Kubernetes object: {', '.join(missing)} missing; "
                              "every object needs apiVersion, kind and metadata.name")]

    def _structural(self, manifest: Manifest, obj: Any, schema: dict[str, Any], schemas: SchemaSet) -> list[Finding]:
        problems = openapi.violations(obj, schema)
        if not problems:
            return []
        unknown_by_parent: dict[Path, set[str]] = {}
        for problem in problems:
            if problem.keyword == "additionalProperties":
                unknown_by_parent.setdefault(problem.path[:-1], set()).add(str(problem.path[-1]))
        paths = schemas.field_paths(schema) if unknown_by_parent else {}
        return [self._from_problem(manifest, problem, (paths, unknown_by_parent)) for problem in problems]

    def _from_problem(self, manifest: Manifest, problem: SchemaProblem, unknown_context) -> Finding:
        code = _CODE_BY_KEYWORD.get(problem.keyword, CODE_OUT_OF_RANGE)
        if code == CODE_UNKNOWN_FIELD:
            special = MISPLACED_FIELD_HINTS.get((manifest.kind, str(problem.path[-1])))
            message = f"unknown field {problem.path[-1]!r}; {special}" if special else _unknown_field_message(problem, unknown_context)
            return self._finding(manifest, code, problem.path, message)
        if code == CODE_NOT_ALLOWED:
            return self._finding(manifest, code, problem.path, _enum_message(problem))
        if code == CODE_MISSING_REQUIRED:
            return self._finding(manifest, code, problem.path, f"{problem.message}; add it")
        text = problem.message + (f"; {problem.hint}" if problem.hint else "")
        return self._finding(manifest, code, problem.path, text)

    def _rules(self, manifest: Manifest, obj: Any, schema: dict[str, Any]) -> list[Finding]:
        findings = []
        for path, check, value in rule_violations(obj, schema):
            shown = f" (is {value!r})" if isinstance(value, (str, int, float)) else ""
            findings.append(self._finding(manifest, CODE_RULE, path, f"{_dotted(path) or 'object'}{shown}: {check.message}"))
        return findings

    @staticmethod
    def _finding(manifest: Manifest, code: str, path: Path, message: str) -> Finding:
        return make_finding(code, message, obj=manifest.key, locations=manifest.locate(path), path=path)


def _confirmed(fast: Any, obj: Any) -> bool:
    """Whether a compiled validator (None: there is none) accepts `obj`."""
    if fast is None:
        return False
    try:
        fast(obj)
        return True
    except Exception:  # noqa: BLE001 - fastjsonschema's JsonSchemaValueException, or any failure: let jsonschema decide
        return False


def _unknown_field_message(problem: SchemaProblem, context) -> str:
    key = str(problem.path[-1])
    if problem.hint.startswith("did you mean"):
        return f"unknown field {key!r}; {problem.hint}"
    if context:
        paths, unknown_by_parent = context
        home = _home_of(key, problem.path[:-1], paths, unknown_by_parent.get(problem.path[:-1], {key}))
        if home:
            return f"unknown field {key!r}; it belongs under {home}"
    return f"unknown field {key!r}; " + (problem.hint or "remove it")


def _schema_path(path: Path) -> list[str]:
    parts: list[str] = []
    for part in path:
        if isinstance(part, int):
            if parts:
                parts[-1] += "[]"
        else:
            parts.append(str(part))
    return parts


def _home_of(key: str, parent: Path, paths: dict[str, list[str]], unknown_siblings: set[str]) -> str | None:
    """Where a misplaced field is declared: the parent that declares most of its unknown siblings too,
    nearest to where it was written on a tie (`interval` next to `baseEjectionTime` -> outlierDetection)."""
    candidates = {where.rsplit(".", 1)[0] for where in paths.get(key, ()) if "." in where}
    if not candidates:
        return None
    here = _schema_path(parent)

    def score(candidate: str) -> tuple[int, int, int]:
        siblings = sum(1 for other in unknown_siblings if f"{candidate}.{other}" in paths.get(other, ()))
        parts = candidate.split(".")
        shared = next((i for i, (a, b) in enumerate(zip(parts, here)) if a != b), min(len(parts), len(here)))
        return (siblings, shared, -len(parts))

    return max(sorted(candidates), key=score)


def _enum_message(problem: SchemaProblem) -> str:
    value = str(problem.message.split(" is not one of ")[0]).strip("'\"")
    allowed = problem.message.split(" is not one of ", 1)[-1].split(", ")
    guess = ENUM_ALIASES.get(value) or ENUM_ALIASES.get(value.lower())
    if guess and guess in allowed:
        return f"{problem.message}; did you mean {guess!r}? (that is its name in this API)"
    match = closest(value, allowed)
    return problem.message + (f"; did you mean {match!r}?" if match else "")


# Schemas (by identity) with no rule anywhere below them, so the rule walk can skip them.
_RULE_FREE: dict[int, tuple[dict[str, Any], bool]] = {}


def _has_rules(schema: dict[str, Any]) -> bool:
    entry = _RULE_FREE.get(id(schema))
    if entry is None or entry[0] is not schema:
        children = list((schema.get("properties") or {}).values())
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                children.append(schema[key])
        found = bool(schema.get("x-kubernetes-validations")) or any(_has_rules(c) for c in children if isinstance(c, dict))
        entry = _RULE_FREE[id(schema)] = (schema, found)
    return entry[1]


def rule_violations(obj: Any, schema: dict[str, Any]) -> list[tuple[Path, checks.RuleCheck, Any]]:
    """Every `x-kubernetes-validations` rule of `schema` that `obj` breaks and meshops can evaluate.

    Rules are matched by message to the named checks; rules we do not know are skipped (the API
    server still enforces them). A value of the wrong type is left to the structural check.
    """
    broken: list[tuple[Path, checks.RuleCheck, Any]] = []

    def walk(node: Any, sub: dict[str, Any], path: Path) -> None:
        if not isinstance(sub, dict) or not _has_rules(sub):
            return
        for rule in sub.get("x-kubernetes-validations") or ():
            check = checks.for_rule(str(rule.get("message", "")), node, str(rule.get("rule", "")))
            try:
                holds = check is None or check.holds(node)
            except (TypeError, AttributeError, ValueError):
                holds = True
            if not holds:
                broken.append((path, check, node))
        if isinstance(node, dict):
            properties = sub.get("properties") or {}
            extra = sub.get("additionalProperties")
            for name, value in node.items():
                if name in properties:
                    walk(value, properties[name], path + (name,))
                elif isinstance(extra, dict):
                    walk(value, extra, path + (name,))
        elif isinstance(node, list) and isinstance(sub.get("items"), dict):
            for index, item in enumerate(node):
                walk(item, sub["items"], path + (index,))

    walk(obj, schema, ())
    return broken


def check_schemas(manifests: Iterable[Manifest], schemas: SchemaSet, *, kubernetes_version: str | None = None) -> list[Finding]:
    """MSH1xx findings for every manifest, in input order (see module docstring).

    `kubernetes_version` picks the core-kind schemas (`1.32`, default: the newest bundled, or
    $MESHOPS_KUBERNETES_VERSION).
    """
    checker = _Checker(schemas, kubernetes_version)
    findings: list[Finding] = []
    for manifest in manifests:
        findings.extend(checker.check(manifest))
    return findings
