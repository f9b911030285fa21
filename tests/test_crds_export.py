"""`meshops crds export`: the shipped schemas as CRDs an API server would install."""
from __future__ import annotations

import json

import pytest

from meshops.validate.schemas import SHIPPED_KINDS, SchemaSet
from meshops.yamlio.documents import load_documents

# JSON Schema keywords a structural schema may use inside oneOf/anyOf/allOf/not (value validations only;
# `properties` and `items` may narrow fields there, under the same rules: the Gateway API's addresses do).
_VALUE_ONLY = {"required", "not", "anyOf", "oneOf", "allOf", "enum", "minimum", "maximum", "pattern", "minLength",
               "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "format", "properties", "items"}
_TYPES = {"object", "array", "string", "integer", "number", "boolean"}


def structural_problems(node, path="openAPIV3Schema", *, in_logic=False) -> list[str]:
    """Kubernetes' structural-schema rules (apiextensions): types everywhere, no type in logic junctors."""
    problems = []
    if in_logic:
        problems += [f"{path}: {key} not allowed inside oneOf/anyOf/allOf/not" for key in node if key not in _VALUE_ONLY]
    elif not (node.get("x-kubernetes-int-or-string") or node.get("x-kubernetes-preserve-unknown-fields")):
        if node.get("type") not in _TYPES:
            problems.append(f"{path}: missing or unknown type {node.get('type')!r}")
    if "properties" in node and "additionalProperties" in node:
        problems.append(f"{path}: properties and additionalProperties together")
    for rule in node.get("x-kubernetes-validations") or ():
        if not (isinstance(rule.get("rule"), str) and isinstance(rule.get("message"), str)):
            problems.append(f"{path}: validation rule without rule/message")
    for name, sub in (node.get("properties") or {}).items():
        problems += structural_problems(sub, f"{path}.{name}", in_logic=in_logic)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            problems += structural_problems(node[key], f"{path}.{key}", in_logic=in_logic)
    for key in ("oneOf", "anyOf", "allOf"):
        for index, sub in enumerate(node.get(key) or ()):
            problems += structural_problems(sub, f"{path}.{key}[{index}]", in_logic=True)
    if isinstance(node.get("not"), dict):
        problems += structural_problems(node["not"], f"{path}.not", in_logic=True)
    return problems


@pytest.fixture(scope="module")
def exported():
    from helpers import run_meshops

    result = run_meshops("crds", "export")
    assert result.returncode == 0, result.stderr
    return [document.data for document in load_documents(result.stdout, filename="export.yaml")]


def test_export_prints_one_valid_crd_per_shipped_kind(exported):
    assert [crd["spec"]["names"]["kind"] for crd in exported] == [kind.kind for kind in SHIPPED_KINDS]
    for crd, kind in zip(exported, SHIPPED_KINDS):
        spec = crd["spec"]
        assert crd["apiVersion"] == "apiextensions.k8s.io/v1" and crd["kind"] == "CustomResourceDefinition"
        assert crd["metadata"]["name"] == f"{spec['names']['plural']}.{spec['group']}"
        assert spec["scope"] == ("Namespaced" if kind.namespaced else "Cluster")
        assert spec["names"]["listKind"] == spec["names"]["kind"] + "List"
        assert [v["storage"] for v in spec["versions"]].count(True) == 1
        for version in spec["versions"]:
            schema = version["schema"]["openAPIV3Schema"]
            assert schema["type"] == "object"
            assert structural_problems(schema) == []


def test_structural_check_catches_what_an_api_server_refuses():
    assert structural_problems({"type": "object", "properties": {"a": {}}}) == ["openAPIV3Schema.a: missing or unknown type None"]
    assert structural_problems({"type": "object", "oneOf": [{"type": "string"}]})
    assert structural_problems({"type": "object", "oneOf": [{"properties": {"a": {"type": "string"}}}]})
    assert structural_problems({"type": "object", "oneOf": [{"properties": {"a": {"enum": ["x"]}}}]}) == []


def test_export_round_trips_to_the_schemas_validate_uses(exported):
    reread = SchemaSet.from_crd_documents(exported, source="export")
    shipped = SchemaSet.shipped()
    for kind in SHIPPED_KINDS:
        for version in kind.versions:
            api_version = f"{kind.group}/{version}"
            assert reread.schema_for(api_version, kind.kind) == shipped.schema_for(api_version, kind.kind)


def test_export_filters_by_group_and_prints_json_lists():
    from helpers import run_meshops

    result = run_meshops("crds", "export", "--group", "telemetry.istio.io", "-o", "json")
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert listing["kind"] == "List" and [crd["spec"]["names"]["kind"] for crd in listing["items"]] == ["Telemetry"]


def test_export_of_an_unknown_group_is_a_usage_error():
    from helpers import run_meshops

    result = run_meshops("crds", "export", "--group", "example.com")
    assert result.returncode == 2 and result.stderr.startswith("error: no shipped schemas for group 'example.com'")
    assert "Traceback" not in result.stderr
