"""Helpers the tests share (importable as `helpers`: pytest puts tests/ on sys.path)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
ISTIO_CRDS = SHARED / "istio" / "crd-all.gen.yaml"
SEED_DIR = SHARED / "seed"


def copy_example_repo(target: Path) -> Path:
    """Copy the example config repo (environments/ + templates/) to `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for part in ("environments", "templates"):
        shutil.copytree(REPO_ROOT / part, target / part)
    return target


def run_meshops(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess (as a user would), capturing text output."""
    full_env = dict(os.environ)
    full_env.pop("MESHOPS_DEBUG", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "meshops", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _team_env(namespace: str, after: str | None) -> str:
    promotion = f"promotion: {{after: {after}}}\n" if after else "promotion: {order: 1}\n"
    return f"namespace: {namespace}\ncluster: {{context: sandbox}}\n{promotion}"


# A config repo small enough to reconcile three environments into one sandbox without clashes.
TEAM_REPO_FILES = {
    "environments/base/values.yaml": "message: hello\n",
    **{f"environments/{env}/values.yaml": "{}\n" for env in ("dev", "staging", "prod")},
    "environments/dev/meshops.yaml": _team_env("team-dev", None),
    "environments/staging/meshops.yaml": _team_env("team-staging", "dev"),
    "environments/prod/meshops.yaml": _team_env("team-prod", "staging"),
    "templates/settings.yaml.j2": (
        "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ environment.namespace }}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {{ environment.namespace }}\n"
        "data:\n  message: {{ values.message | to_json }}\n"
    ),
}


def commit_and_push(repo, changes: dict[str, str], message: str, *, branch: str = "main") -> str:
    """Write files (repo-relative path -> text), commit them, push `branch` to origin; the new sha."""
    root = Path(repo.working_tree_dir)
    for name, text in changes.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    repo.git.add(A=True)
    commit = repo.index.commit(message)
    repo.remote("origin").push(f"HEAD:refs/heads/{branch}")
    return commit.hexsha
