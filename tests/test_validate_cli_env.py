"""`meshops validate --env`: the real CLI in a subprocess over the example config repo in a git repo."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

# dev's reviews gets a header route to v4, a version no DestinationRule subset exists for.
V4_ROUTE = """    canary:
      version: v3
      weight: 20
    routes:
      - name: testers-to-v4
        match:
          - headers:
              x-tester:
                exact: "yes"
        version: v4
"""


def break_dev(repo_dir: Path) -> int:
    """Add the v4 route to dev's values; returns the values line of `version: v4`."""
    values = repo_dir / "environments" / "dev" / "values.yaml"
    text = values.read_text()
    original = "    canary:\n      version: v3\n      weight: 20\n"
    assert original in text
    text = text.replace(original, V4_ROUTE)
    values.write_text(text)
    return text.splitlines().index("        version: v4") + 1


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_every_environment_of_the_example_repo_passes(meshops, example_repo, environment):
    result = meshops("validate", "--env", environment, "--repo", example_repo.working_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout or "no findings" in result.stdout


def test_route_to_an_undefined_subset_fails_with_the_values_and_template_lines(meshops, example_repo, tmp_path):
    line = break_dev(Path(example_repo.working_dir))
    result = meshops("validate", "--env", "dev", "--repo", "config", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "config/environments/dev/values.yaml\n" in result.stdout
    assert f"{line:>7}  error    MSH201" in result.stdout
    assert "also: config/templates/virtualservices.yaml.j2:" in result.stdout
    assert "\x1b[" not in result.stdout  # not a terminal: no colours


def test_json_and_github_outputs_carry_the_same_finding_and_exit_code(meshops, example_repo, tmp_path):
    line = break_dev(Path(example_repo.working_dir))
    as_json = meshops("validate", "--env", "dev", "--repo", "config", "-o", "json", cwd=tmp_path)
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    [finding] = [f for f in report["findings"] if f["code"] == "MSH201"]
    assert finding["locations"][0] == {"file": "config/environments/dev/values.yaml", "line": line}
    assert report["summary"]["error"] == 1
    as_github = meshops("validate", "--env", "dev", "--repo", "config", "-o", "github", cwd=tmp_path)
    assert as_github.returncode == 1
    assert f"::error file=config/environments/dev/values.yaml,line={line},title=MSH201::" in as_github.stdout


def test_suppression_in_meshops_yaml_turns_the_error_into_an_accepted_finding(meshops, example_repo):
    repo_dir = Path(example_repo.working_dir)
    break_dev(repo_dir)
    config = repo_dir / "environments" / "dev" / "meshops.yaml"
    config.write_text(config.read_text() + "suppress:\n  - {code: MSH201, kind: VirtualService, name: reviews, reason: v4 ships next sprint}\n")
    result = meshops("validate", "--env", "dev", "--repo", str(repo_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "suppressed: v4 ships next sprint" in result.stdout
    assert "(1 suppressed)" in result.stdout


def test_ref_validates_the_committed_revision_not_the_working_tree(meshops, example_repo):
    break_dev(Path(example_repo.working_dir))
    assert meshops("validate", "--env", "dev", "--repo", example_repo.working_dir).returncode == 1
    assert meshops("validate", "--env", "dev", "--repo", example_repo.working_dir, "--ref", "HEAD").returncode == 0


def test_production_with_full_sampling_warns_but_passes(meshops, example_repo):
    result = meshops(
        "validate", "--env", "prod", "--repo", example_repo.working_dir, "--set", "telemetry.mesh.samplingPercentage=100",
    )
    assert result.returncode == 0
    assert "MSH401" in result.stdout and "1 warning" in result.stdout


@pytest.mark.parametrize("args, message", [
    ((), "nothing to validate"),
    (("--env", "qa"), "unknown environment 'qa'"),
    (("-f", "x.yaml", "--set", "a=b"), "--set applies to rendering"),
])
def test_usage_problems_exit_2_with_one_line(meshops, example_repo, args, message):
    result = meshops("validate", "--repo", example_repo.working_dir, *args)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_cluster_named_by_flags_must_be_usable(meshops, example_repo, tmp_path):
    result = meshops("validate", "--repo", example_repo.working_dir, "--env", "dev",
                     "--kubeconfig", str(tmp_path / "missing"), "--context", "prod")
    assert result.returncode == 3
    assert result.stderr.startswith("error: no kubeconfig at ") and "Traceback" not in result.stderr


def test_list_codes_prints_the_catalogue(meshops):
    result = meshops("validate", "--list-codes", "-o", "json")
    rows = {row["code"]: row for row in json.loads(result.stdout)}
    assert rows["MSH201"]["severity"] == "error" and rows["MSH402"]["severity"] == "info"
