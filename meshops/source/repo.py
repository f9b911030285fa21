"""The first stage: where the config comes from — a git revision or the working tree.

`open_source(repo, ref)` returns a `Source` whose `tree` reads files either straight from git
objects (with `--ref`, never touching the working tree) or from disk. Render reads only through
this interface, so it cannot tell the two apart and a revision renders the same on every machine.

The repository is untrusted input (a pull request may add anything), so both trees refuse, the
same way, any path through a symbolic link (git stores links as links, and a link could point at
`~/.kube/config`) and any path that climbs out with `..`: the working tree is walked one directory
at a time with `O_NOFOLLOW`, the git tree by entry mode.
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from ..model.errors import ConfigError, Location, SourceError, UsageError
from .worktree import work_tree_revision

DIRTY_SUFFIX = "-dirty"
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
# git's tree-entry modes: the type bits, and the one that marks a symbolic link.
_GIT_MODE_TYPE = 0o170000
_GIT_LINK_MODE = 0o120000


class Tree(Protocol):
    """Read-only view of the config repository's files (paths are `/`-separated, repo-relative).

    Every method raises ConfigError for a path through a symbolic link or outside the repository.
    """

    def read(self, path: str) -> bytes | None:
        """File content, or None when there is no such file."""
        ...

    def listdir(self, path: str) -> list[str]:
        """Names of the entries directly under `path` (files and directories), sorted."""
        ...

    def is_dir(self, path: str) -> bool:
        ...


class _Kind(Enum):
    """What a repo-relative path names, as both trees see it."""

    ABSENT = "absent"
    FILE = "file"
    DIR = "dir"
    LINK = "link"  # a symbolic link on the way (git stores it as a link, mode 120000)
    OTHER = "other"  # a submodule, a FIFO, a device: never read


def repo_path_parts(path: str) -> list[str]:
    """`a/b/c` -> ["a", "b", "c"]; "" and "." name the root; `..` and absolute paths are refused."""
    if path.startswith("/"):
        raise _outside(path)
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise _outside(path)
    return parts


def _outside(path: str) -> ConfigError:
    return ConfigError("path leaves the repository", location=Location(path),
                       hint="meshops reads only files inside the config repository; use a repo-relative path")


def _link_refused(path: str, link: str) -> ConfigError:
    what = "is a symbolic link" if link == path else f"goes through a symbolic link ({link})"
    return ConfigError(
        f"{what}; meshops never follows links in the config repository",
        location=Location(path),
        hint="replace the link with a copy of the file it points to",
    )


class _CheckedTree:
    """read/listdir/is_dir over `_find`, refusing links the same way for both trees."""

    def _find(self, parts: list[str]) -> tuple[_Kind, Any]:
        raise NotImplementedError

    def _located(self, path: str) -> tuple[_Kind, Any]:
        parts = repo_path_parts(path)
        kind, found = self._find(parts)
        if kind is _Kind.LINK:
            raise _link_refused("/".join(parts), found)
        return kind, found

    def is_dir(self, path: str) -> bool:
        kind, found = self._located(path)
        self._release(found)
        return kind is _Kind.DIR

    def _release(self, found: Any) -> None:
        """Free what `_find` handed back (a file descriptor for the working tree)."""


@dataclass
class WorkTree(_CheckedTree):
    """Files on disk under `root`, opened one directory at a time without following any link."""

    root: Path

    def _find(self, parts: list[str]) -> tuple[_Kind, Any]:
        try:
            directory = os.open(self.root, _DIRECTORY_FLAGS)  # the root itself is the operator's choice: followed
        except (FileNotFoundError, NotADirectoryError):
            return _Kind.ABSENT, None
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            try:
                mode = os.stat(part, dir_fd=directory, follow_symlinks=False).st_mode
                if stat.S_ISLNK(mode):
                    os.close(directory)
                    return _Kind.LINK, "/".join(parts[: index + 1])
                if stat.S_ISDIR(mode):
                    inner = os.open(part, _DIRECTORY_FLAGS | os.O_NOFOLLOW, dir_fd=directory)
                    os.close(directory)
                    directory = inner
                    continue
                kind = (_Kind.FILE if stat.S_ISREG(mode) else _Kind.OTHER) if last else _Kind.ABSENT
                handle = os.open(part, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory) if kind is _Kind.FILE else None
            except (FileNotFoundError, NotADirectoryError):
                kind, handle = _Kind.ABSENT, None
            except OSError as error:
                if error.errno != errno.ELOOP:  # ELOOP: replaced by a link after the stat; refuse it as one
                    raise
                kind, handle = _Kind.LINK, "/".join(parts[: index + 1])
            os.close(directory)
            return kind, handle
        return _Kind.DIR, directory

    def _release(self, found: Any) -> None:
        if isinstance(found, int):
            os.close(found)

    def read(self, path: str) -> bytes | None:
        kind, found = self._located(path)
        if kind is not _Kind.FILE:
            self._release(found)
            return None
        with os.fdopen(found, "rb") as handle:
            return handle.read()

    def listdir(self, path: str) -> list[str]:
        kind, found = self._located(path)
        try:
            return sorted(os.listdir(found)) if kind is _Kind.DIR else []
        finally:
            self._release(found)


@dataclass
class GitTree(_CheckedTree):
    """Files of one commit, read from git objects (no checkout); links are refused as on disk."""

    commit: object  # git.Commit

    def _find(self, parts: list[str]) -> tuple[_Kind, Any]:
        entry: Any = self.commit.tree
        for index, part in enumerate(parts):
            if entry.type != "tree":
                return _Kind.ABSENT, None
            try:
                entry = entry[part]
            except KeyError:
                return _Kind.ABSENT, None
            if entry.mode & _GIT_MODE_TYPE == _GIT_LINK_MODE:
                return _Kind.LINK, "/".join(parts[: index + 1])
        if entry.type == "tree":
            return _Kind.DIR, entry
        return (_Kind.FILE if entry.type == "blob" else _Kind.OTHER), entry

    def read(self, path: str) -> bytes | None:
        kind, entry = self._located(path)
        return entry.data_stream.read() if kind is _Kind.FILE else None

    def listdir(self, path: str) -> list[str]:
        kind, entry = self._located(path)
        return sorted(item.name for item in entry) if kind is _Kind.DIR else []


@dataclass
class Source:
    """A readable tree and the revision it stands for (`None` outside git; `<sha>-dirty` when edited)."""

    tree: Tree
    revision: str | None
    label: str  # for messages: the repo path and ref
    # The repository's stable id: its root commit (see `root_commit`); None outside git or before
    # the first commit. What meshops records as the owner of the objects it applies.
    repo_id: str | None = None


# How much of the root commit's sha names a repository: 48 bits, so that the repositories sharing
# one cluster never collide, short enough to read in an annotation and in messages.
REPO_ID_LENGTH = 12


def root_commit(repo, revision: str) -> str:
    """The root commit reached from `revision` by following first parents, abbreviated.

    Stable for the life of a repository: new commits, branches and merges (whose first parent is
    the branch merged into) never change it; only rewriting history down to the first commit does.
    Copies made with `git clone` share it: such repositories pass their own `--owner-id`.
    """
    roots = repo.git.rev_list("--first-parent", "--max-parents=0", revision).split()
    return roots[-1][:REPO_ID_LENGTH]


def check_revision(ref: str, *, option: str = "--ref") -> str:
    """`ref` unchanged, or UsageError when git would read it as an option (`--output=FILE` writes a file)."""
    if ref.startswith("-"):
        raise UsageError(f"{option} {ref!r} looks like an option, not a git revision",
                         hint="name a branch, tag or commit; git names never start with '-'")
    return ref


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
        answered, revision, first = work_tree_revision(root, DIRTY_SUFFIX)
        if answered:
            return Source(tree=WorkTree(root), revision=revision, label=str(root),
                          repo_id=first[:REPO_ID_LENGTH] if first else None)
    repo = _open_repo(root)
    if ref is None:
        revision = repo_id = None
        if repo is not None and repo.head.is_valid():
            revision = repo.head.commit.hexsha
            repo_id = root_commit(repo, revision)
            if repo.is_dirty(untracked_files=True):
                revision += DIRTY_SUFFIX
        return Source(tree=WorkTree(root), revision=revision, label=str(root), repo_id=repo_id)
    check_revision(ref)
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
    return Source(tree=GitTree(commit), revision=commit.hexsha, label=f"{root}@{ref}", repo_id=root_commit(repo, commit.hexsha))
