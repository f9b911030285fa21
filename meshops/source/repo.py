"""The first stage: where the config comes from — a git revision or the working tree.

`open_source(repo, ref)` returns a `Source` whose `tree` reads files either straight from git
objects (with `--ref`, never touching the working tree) or from disk. Render reads only through
this interface, so it cannot tell the two apart and a revision renders the same on every machine.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..model.errors import SourceError
from .worktree import work_tree_revision

DIRTY_SUFFIX = "-dirty"


class Tree(Protocol):
    """Read-only view of the config repository's files (paths are `/`-separated, repo-relative)."""

    def read(self, path: str) -> bytes | None:
        """File content, or None when there is no such file."""
        ...

    def listdir(self, path: str) -> list[str]:
        """Names of the entries directly under `path` (files and directories), sorted."""
        ...

    def is_dir(self, path: str) -> bool:
        ...


@dataclass
class WorkTree:
    """Files on disk under `root`."""

    root: Path

    def _resolve(self, path: str) -> Path:
        return self.root / path

    def read(self, path: str) -> bytes | None:
        target = self._resolve(path)
        return target.read_bytes() if target.is_file() else None

    def listdir(self, path: str) -> list[str]:
        target = self._resolve(path)
        return sorted(os.listdir(target)) if target.is_dir() else []

    def is_dir(self, path: str) -> bool:
        return self._resolve(path).is_dir()


@dataclass
class GitTree:
    """Files of one commit, read from git objects (no checkout)."""

    commit: object  # git.Commit

    def _entry(self, path: str):
        tree = self.commit.tree
        if not path or path == ".":
            return tree
        try:
            return tree / path
        except KeyError:
            return None

    def read(self, path: str) -> bytes | None:
        entry = self._entry(path)
        if entry is None or entry.type != "blob":
            return None
        return entry.data_stream.read()

    def listdir(self, path: str) -> list[str]:
        entry = self._entry(path)
        if entry is None or entry.type != "tree":
            return []
        return sorted(item.name for item in entry)

    def is_dir(self, path: str) -> bool:
        entry = self._entry(path)
        return entry is not None and entry.type == "tree"


@dataclass
class Source:
    """A readable tree and the revision it stands for (`None` outside git; `<sha>-dirty` when edited)."""

    tree: Tree
    revision: str | None
    label: str  # for messages: the repo path and ref


def _open_repo(repo_dir: Path):
    if not (repo_dir / ".git").exists() and not (repo_dir / "HEAD").is_file():
        return None  # neither a work tree nor a bare repository (what GitPython looks for): no import
    import git  # gitpython; imported here so commands that never touch git start faster

    try:
        return git.Repo(repo_dir, search_parent_directories=False)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def open_source(repo_dir: str | os.PathLike, ref: str | None = None) -> Source:
    """Open the config repository at `repo_dir`, at revision `ref` or its working tree."""
    root = Path(repo_dir).resolve()
    if not root.is_dir():
        raise SourceError(f"config repository {root} does not exist", hint="pass --repo DIR")
    if ref is None:
        answered, revision = work_tree_revision(root, DIRTY_SUFFIX)
        if answered:
            return Source(tree=WorkTree(root), revision=revision, label=str(root))
    repo = _open_repo(root)
    if ref is None:
        revision = None
        if repo is not None and repo.head.is_valid():
            revision = repo.head.commit.hexsha
            if repo.is_dirty(untracked_files=True):
                revision += DIRTY_SUFFIX
        return Source(tree=WorkTree(root), revision=revision, label=str(root))
    if repo is None:
        raise SourceError(f"--ref {ref} needs a git repository, and {root} is not one", hint="drop --ref or pass --repo")
    import git

    try:
        commit = repo.commit(ref)
    except (git.BadName, git.BadObject, ValueError, git.GitCommandError):
        raise SourceError(
            f"unknown revision {ref!r} in {root}",
            hint="use a branch, tag or commit that exists (git log --oneline)",
        ) from None
    return Source(tree=GitTree(commit), revision=commit.hexsha, label=f"{root}@{ref}")
