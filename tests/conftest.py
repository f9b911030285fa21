"""Shared fixtures: the example config repository as a real git repository, and the CLI runner."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import copy_example_repo, run_meshops


@pytest.fixture
def example_repo(tmp_path: Path):
    """The example config repo committed into a fresh git repository (gitpython)."""
    import git

    path = copy_example_repo(tmp_path / "config")
    repo = git.Repo.init(path, initial_branch="main")
    with repo.config_writer() as writer:
        writer.set_value("user", "name", "meshops tests")
        writer.set_value("user", "email", "tests@meshops.dev")
    repo.git.add(A=True)
    repo.index.commit("example config")
    return repo


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


@pytest.fixture
def meshops():
    return run_meshops
