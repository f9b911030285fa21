"""A working tree's revision from `git status` and its root commit from `git rev-list` are exactly what
GitPython says (clean, edited, untracked file, staged change, merges, no commit yet, not a repository)."""
from __future__ import annotations

from pathlib import Path

import git
import pytest

from meshops.source.repo import DIRTY_SUFFIX, root_commit
from meshops.source.worktree import work_tree_revision


def _gitpython(root: Path) -> tuple[str | None, str | None]:
    """(revision, root commit) as GitPython finds them."""
    repo = git.Repo(root)
    if not repo.head.is_valid():
        return None, None
    head = repo.head.commit.hexsha
    return head + (DIRTY_SUFFIX if repo.is_dirty(untracked_files=True) else ""), root_commit(repo, head)


def _repo(tmp_path: Path, *, commit: bool = True) -> git.Repo:
    repo = git.Repo.init(tmp_path / "config", initial_branch="main")
    with repo.config_writer() as writer:
        writer.set_value("user", "name", "meshops tests")
        writer.set_value("user", "email", "tests@meshops.dev")
    (tmp_path / "config" / "values.yaml").write_text("a: 1\n")
    (tmp_path / "config" / ".gitignore").write_text("*.local\n")
    if commit:
        repo.git.add(A=True)
        repo.index.commit("first")
    return repo


EDITS = {
    "clean": lambda root, repo: None,
    "an edited file": lambda root, repo: (root / "values.yaml").write_text("a: 2\n"),
    "an untracked file": lambda root, repo: (root / "new.yaml").write_text("b: 1\n"),
    "a staged change": lambda root, repo: ((root / "values.yaml").write_text("a: 3\n"), repo.git.add("values.yaml")),
    "an ignored file only": lambda root, repo: (root / "notes.local").write_text("x\n"),
}


@pytest.mark.parametrize("edit", list(EDITS), ids=list(EDITS))
def test_the_revision_is_what_gitpython_says(tmp_path, edit):
    repo = _repo(tmp_path)
    root = Path(repo.working_tree_dir)
    EDITS[edit](root, repo)
    answered, revision, first = work_tree_revision(root, DIRTY_SUFFIX)
    assert (answered, revision, first[:len(_gitpython(root)[1])]) == (True, *_gitpython(root))


def test_the_root_commit_follows_first_parents_through_a_merged_history(tmp_path):
    repo = _repo(tmp_path)
    root = Path(repo.working_tree_dir)
    main = repo.active_branch
    repo.git.checkout("--orphan", "other")
    (root / "other.yaml").write_text("c: 1\n")
    repo.git.add(A=True)
    repo.index.commit("another root")
    main.checkout()
    repo.git.merge("other", "--allow-unrelated-histories", "-m", "merge another history")
    _, revision, first = work_tree_revision(root, DIRTY_SUFFIX)
    assert first.startswith(_gitpython(root)[1]) and revision == _gitpython(root)[0]


def test_a_repository_without_commits_has_no_revision(tmp_path):
    repo = _repo(tmp_path, commit=False)
    assert work_tree_revision(Path(repo.working_tree_dir), DIRTY_SUFFIX) == (True, None, None)


def test_a_directory_inside_another_repository_is_not_answered_for(tmp_path):
    repo = _repo(tmp_path)
    inner = Path(repo.working_tree_dir) / "sub"
    inner.mkdir()
    assert work_tree_revision(inner, DIRTY_SUFFIX) == (False, None, None)
