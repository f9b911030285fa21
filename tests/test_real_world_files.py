"""Real-world Istio YAML reads the way kubectl and istiod read it: empty documents, session cookies,
names the API server refuses, Kustomize files beside manifests, and manifests on standard input."""
from __future__ import annotations

import subprocess
import sys

from helpers import run_meshops
from meshops.model.manifest import FileSource, Manifest
from meshops.validate.manifest_files import load_manifest_paths
from meshops.validate.schema_checks import check_schemas
from meshops.validate.schemas import SchemaSet
from meshops.yamlio.documents import load_one

NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata: {name: bookinfo}\n"

STICKY_RULE = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cart, namespace: shop}
spec:
  host: cart
  trafficPolicy:
    loadBalancer:
      consistentHash:
        httpCookie: {name: session, ttl: TTL}
"""


def test_a_trailing_document_separator_is_skipped_as_kubectl_skips_it(tmp_path):
    path = tmp_path / "namespace.yaml"
    path.write_text("---\n" + NAMESPACE + "---\n")
    manifests, findings = load_manifest_paths([str(path)])
    assert [m.name for m in manifests] == ["bookinfo"] and findings == []


def test_documents_holding_only_comments_or_null_are_skipped(tmp_path):
    path = tmp_path / "namespace.yaml"
    path.write_text("# generated\n---\n" + NAMESPACE + "---\n# nothing here\n---\nnull\n---\n~\n")
    manifests, findings = load_manifest_paths([str(path)])
    assert [m.name for m in manifests] == ["bookinfo"] and findings == []


def schema_findings(text: str):
    document = load_one(text, filename="rule.yaml")
    return check_schemas([Manifest(obj=document.data, source=FileSource("rule.yaml", document))], SchemaSet.shipped())


def test_a_session_cookie_with_ttl_0s_is_valid():
    assert schema_findings(STICKY_RULE.replace("TTL", "0s")) == []


def test_a_malformed_cookie_ttl_is_still_refused():
    [finding] = schema_findings(STICKY_RULE.replace("TTL", "soon"))
    assert (finding.code, finding.json_path) == ("MSH111", ".spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.ttl")


def test_a_name_the_api_server_refuses_fails_validation_with_a_fix(tmp_path):
    path = tmp_path / "vs.yaml"
    path.write_text("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: Reviews_V1\n"
                    "spec: {hosts: [reviews]}\n")
    result = run_meshops("validate", "-f", str(path))
    assert result.returncode == 1, result.stdout
    assert "MSH109" in result.stdout and "'reviews-v1'" in result.stdout and "4" in result.stdout.split("MSH109")[0]


def test_a_kustomization_file_in_a_folder_is_named_and_skipped(tmp_path):
    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [namespace.yaml]\n")
    (tmp_path / "namespace.yaml").write_text(NAMESPACE)
    result = run_meshops("validate", "-f", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kustomization.yaml" in result.stdout and "MSH112" in result.stdout and "skipped" in result.stdout


def test_a_file_of_values_beside_manifests_is_skipped_with_an_info_finding(tmp_path):
    (tmp_path / "values.yaml").write_text("replicas: 3\nimage: {tag: v1}\n")
    (tmp_path / "namespace.yaml").write_text(NAMESPACE)
    manifests, findings = load_manifest_paths([str(tmp_path)])
    assert [m.name for m in manifests] == ["bookinfo"]
    assert [(f.code, f.location.file.rsplit("/", 1)[-1]) for f in findings] == [("MSH112", "values.yaml")]


def test_manifests_piped_on_standard_input_are_validated_with_their_lines():
    text = NAMESPACE + "---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: edge}\nspec: {servrs: []}\n"
    result = subprocess.run([sys.executable, "-m", "meshops", "validate", "-f", "-"], input=text, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert "<stdin>" in result.stdout and "did you mean 'servers'" in result.stdout
    assert result.stdout.split("MSH105")[0].split()[-2] == "8"  # the line of `servrs` in the piped text


def test_standard_input_named_twice_is_a_usage_error():
    result = run_meshops("validate", "-f", "-", "-f", "-")
    assert result.returncode == 2 and result.stderr.startswith("error: standard input (-) is named twice")
