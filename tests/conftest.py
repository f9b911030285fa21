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


@pytest.fixture
def meshops():
    return run_meshops


@pytest.fixture
def validate_yaml():
    """Validate manifests written as YAML text (read like `-f` files, so findings carry real lines).

    Call it as `validate_yaml(text, config=None, live=None)`; `live` is a list of object dicts.
    """
    from meshops.manifest import FileSource, Manifest
    from meshops.validate import validate
    from meshops.yamlio import load_documents

    def run(text: str, *, config=None, live=None, filename: str = "mesh.yaml"):
        manifests = [
            Manifest(obj=document.data, source=FileSource(filename, document))
            for document in load_documents(text, filename=filename)
        ]
        return validate(manifests, config=config, live=live)

    return run
