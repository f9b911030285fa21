"""Suppressions: annotations on objects and meshops.yaml `suppress:`, kept but never counted as errors."""
from __future__ import annotations

from meshops.source.envconfig import EnvConfig
from meshops.validate import has_errors
from meshops.validate.catalogue import RULE_MODULES, catalogue
from meshops.validate.checks import CHECK_MODULES
from meshops.yamlio.documents import load_one


def broken_route(annotation: str = "") -> str:
    annotations = f"\n  annotations: {{meshops.dev/suppress: '{annotation}'}}" if annotation else ""
    return f"""
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: reviews, namespace: bookinfo}}
spec:
  host: reviews
  subsets: [{{name: v1, labels: {{version: v1}}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: reviews, namespace: bookinfo}}
spec: {{selector: {{app: reviews}}}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: bookinfo{annotations}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {{host: reviews, subset: v9}}
"""


def environment(suppress: str) -> EnvConfig:
    text = f"namespace: bookinfo\nsuppress:\n{suppress}"
    document = load_one(text, filename="environments/dev/meshops.yaml")
    return EnvConfig(name="dev", file="environments/dev/meshops.yaml", data=document.data, document=document)


def test_unsuppressed_error_counts(validate_yaml):
    findings = validate_yaml(broken_route())
    assert [f.code for f in findings] == ["MSH201"] and has_errors(findings)


def test_annotation_suppresses_the_finding_but_keeps_it(validate_yaml):
    [finding] = validate_yaml(broken_route("MSH201,MSH402: v9 is deployed by the batch chart"))
    assert finding.code == "MSH201"
    assert finding.suppressed_by == "v9 is deployed by the batch chart"
    assert not has_errors([finding])


def test_annotation_applies_only_to_its_own_object(validate_yaml):
    text = broken_route().replace(
        "metadata: {name: reviews, namespace: bookinfo}\nspec:\n  host: reviews",
        "metadata: {name: reviews, namespace: bookinfo, annotations: {meshops.dev/suppress: 'MSH201: elsewhere'}}\nspec:\n  host: reviews",
    )
    [finding] = validate_yaml(text)
    assert finding.code == "MSH201" and finding.suppressed_by is None


def test_annotation_without_reason_is_reported_and_suppresses_nothing(validate_yaml):
    findings = validate_yaml(broken_route("MSH201"))
    assert sorted((f.code, f.suppressed_by) for f in findings) == [("MSH201", None), ("MSH404", None)]
    problem = next(f for f in findings if f.code == "MSH404")
    assert problem.json_path == ".metadata.annotations.meshops.dev/suppress"
    assert "no reason" in problem.message


def test_annotation_naming_an_unknown_code_is_reported(validate_yaml):
    findings = validate_yaml(broken_route("MSH2O1: typo with a letter O"))
    assert sorted(f.code for f in findings) == ["MSH201", "MSH404"]


def test_meshops_yaml_suppresses_by_code_kind_and_name_pattern(validate_yaml):
    config = environment("- {code: MSH201, kind: VirtualService, name: 'rev*', reason: canary subset comes later}\n")
    [finding] = validate_yaml(broken_route(), config=config)
    assert finding.suppressed_by == "canary subset comes later"


def test_meshops_yaml_entry_for_another_object_does_not_suppress(validate_yaml):
    config = environment("- {code: MSH201, name: ratings, reason: not this one}\n")
    [finding] = validate_yaml(broken_route(), config=config)
    assert finding.suppressed_by is None


def test_meshops_yaml_entry_with_unknown_code_points_at_its_line(validate_yaml):
    config = environment("- code: MSH999\n  reason: nope\n")
    problem = next(f for f in validate_yaml(broken_route(), config=config) if f.code == "MSH404")
    assert (problem.location.file, problem.location.line) == ("environments/dev/meshops.yaml", 3)


def test_every_check_module_declares_its_codes_in_the_catalogue():
    assert set(CHECK_MODULES) <= set(RULE_MODULES)
    assert all(module.RULES for module in RULE_MODULES)
    codes = catalogue()
    assert all(code.startswith("MSH") and len(code) == 6 for code in codes)
    assert {"MSH201", "MSH301", "MSH401", "MSH404"} <= set(codes)
