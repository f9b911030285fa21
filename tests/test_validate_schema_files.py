"""`-f` manifest files: directories, multi-document files, JSON, Lists; broken documents become findings."""
from __future__ import annotations

import json

import pytest

from meshops.model.errors import UsageError
from meshops.validate.manifest_files import load_manifest_paths
from meshops.validate.findings import Severity
from meshops.validate.schema_checks import check_schemas
from meshops.validate.schemas import SchemaSet

VS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: {name}
spec:
  hosts: [reviews]
"""


def test_directories_are_read_recursively_in_sorted_order_and_other_files_skipped(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.yml").write_text(VS.format(name="two"))
    (tmp_path / "a.yaml").write_text(VS.format(name="one"))
    (tmp_path / "notes.txt").write_text("not: a manifest")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.yaml").write_text(VS.format(name="hidden"))
    manifests, findings = load_manifest_paths([str(tmp_path)])
    assert [m.name for m in manifests] == ["one", "two"] and findings == []


def test_every_document_of_a_multi_document_file_points_at_its_own_lines(tmp_path):
    path = tmp_path / "all.yaml"
    path.write_text(VS.format(name="one") + "---\n" + VS.format(name="two") + "  bogus: 1\n")
    manifests, _ = load_manifest_paths([str(path)])
    findings = check_schemas(manifests, SchemaSet.shipped())
    bogus_line = path.read_text().splitlines().index("  bogus: 1") + 1
    assert [(f.code, f.object.name, str(f.location)) for f in findings] == [("MSH105", "two", f"{path}:{bogus_line}")]


def test_a_broken_document_is_a_finding_at_its_line_and_its_neighbours_still_load(tmp_path):
    path = tmp_path / "mixed.yaml"
    path.write_text(VS.format(name="one") + "---\nkind: [unclosed\n---\n" + VS.format(name="three"))
    manifests, findings = load_manifest_paths([str(path)])
    assert [m.name for m in manifests] == ["one", "three"]
    [finding] = findings
    assert finding.code == "MSH100" and finding.severity is Severity.ERROR
    assert finding.location.file == str(path) and finding.location.line in (8, 9)


@pytest.mark.parametrize("broken", [False, True], ids=["valid file: one stream", "a broken document: split"])
def test_every_finding_of_a_long_file_points_at_its_line(tmp_path, broken):
    documents = [VS.format(name=f"vs-{index}") + f"  bogus{index}: 1\n" for index in range(300)]
    if broken:
        documents[150] = "kind: [unclosed\n"
    path = tmp_path / "many.yaml"
    path.write_text("---\n".join(documents))
    manifests, problems = load_manifest_paths([str(path)])
    lines = path.read_text().splitlines()
    expected = [(f"vs-{index}", lines.index(f"  bogus{index}: 1") + 1) for index in range(300) if not (broken and index == 150)]
    found = [(f.object.name, f.location.line) for f in check_schemas(manifests, SchemaSet.shipped())]
    assert sorted(found) == sorted(expected)
    assert [(f.code, f.location.line) for f in problems] == ([("MSH100", lines.index("kind: [unclosed") + 2)] if broken else [])


def test_duplicate_keys_are_msh101_not_silently_the_last_value(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text(VS.format(name="one") + "  hosts: [ratings]\n")
    manifests, findings = load_manifest_paths([str(path)])
    assert manifests == []
    assert [(f.code, f.location.line) for f in findings] == [("MSH101", 7)]
    assert "duplicate key 'hosts'" in findings[0].message


def test_clean_file_gives_no_finding(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(VS.format(name="one"))
    manifests, findings = load_manifest_paths([str(path)])
    assert len(manifests) == 1 and findings == [] and check_schemas(manifests, SchemaSet.shipped()) == []


def test_json_files_and_list_wrappers_are_opened(tmp_path):
    item = {"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "gw"}, "spec": {"servrs": []}}
    path = tmp_path / "list.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [item]}, indent=2))
    manifests, findings = load_manifest_paths([str(path)])
    assert [m.name for m in manifests] == ["gw"] and findings == []
    [finding] = check_schemas(manifests, SchemaSet.shipped())
    assert finding.code == "MSH105" and "did you mean 'servers'" in finding.message
    servrs_line = next(i for i, line in enumerate(path.read_text().splitlines(), 1) if '"servrs"' in line)
    assert finding.location.line == servrs_line


def test_a_document_that_is_not_a_mapping_beside_objects_is_msh102(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n- just\n- a list\n")
    manifests, findings = load_manifest_paths([str(path)])
    assert [m.name for m in manifests] == ["a"] and [(f.code, f.location.line) for f in findings] == [("MSH102", 5)]


def test_a_path_that_does_not_exist_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        load_manifest_paths([str(tmp_path / "missing.yaml")])
