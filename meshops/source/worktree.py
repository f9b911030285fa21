"""The revision a working tree stands for, from `git status` (no GitPython import).

`meshops diff` and `apply` on a working tree need its commit, whether it was edited
(`<sha>-dirty`) and the repository's root commit (its owner id): GitPython answers with an import
(~0.05-0.1 s) and four git commands; `git status --porcelain=v2 --branch` answers the first two at
once and `git rev-list` the third. They run read-only (`--no-optional-locks`: no index refresh
written) in the repository's own directory, never a parent's. "Not answered" means "ask GitPython"
(git missing, a repository git refuses, anything unexpected).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

# Variables that would point git at another repository than the one in `root`.
_REDIRECTING = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CEILING_DIRECTORIES")
# How long git may take to say whether the tree is edited.
STATUS_TIMEOUT_SECONDS = 30


def _git(root: Path, *arguments: str) -> str | None:
    """The output of one read-only git command in `root`, or None when git gave no usable answer."""
    env = {key: value for key, value in os.environ.items() if key not in _REDIRECTING}
    try:
        done = subprocess.run(
            ["git", "--no-optional-locks", "-c", "core.fsmonitor=false", "-C", str(root), *arguments],
            capture_output=True, text=True, env=env, timeout=STATUS_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def work_tree_revision(root: Path, dirty_suffix: str) -> tuple[bool, str | None, str | None]:
    """(answered, revision, root commit): revision `<sha>`, `<sha><dirty_suffix>`, or None for a repository
    without commits (then no root commit either); answered is False when git gave no usable answer (the
    caller asks GitPython). The root commit is the one reached from HEAD by first parents, in full."""
    unknown = (False, None, None)
    if not (root / ".git").exists():
        return unknown
    status = _git(root, "status", "--porcelain=v2", "--branch", "--untracked-files=normal")
    if status is None:
        return unknown
    head = None
    dirty = False
    for line in status.splitlines():
        if line.startswith("# branch.oid "):
            head = line.split(" ", 2)[2].strip()
        elif line and not line.startswith("#"):
            dirty = True
    if head is None:
        return unknown
    if head == "(initial)":
        return True, None, None
    roots = (_git(root, "rev-list", "--first-parent", "--max-parents=0", head) or "").split()
    if not roots:
        return unknown
    return True, head + dirty_suffix if dirty else head, roots[-1]
