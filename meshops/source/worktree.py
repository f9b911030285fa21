"""The revision a working tree stands for, from one `git status` (no GitPython import).

`meshops diff` and `apply` on a working tree need its commit and whether it was edited
(`<sha>-dirty`): GitPython answers with an import (~0.05-0.1 s) and three git commands; `git status
--porcelain=v2 --branch` answers both at once. It runs read-only (`--no-optional-locks`: no index
refresh written) in the repository's own directory, never a parent's. None means "ask GitPython"
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


def work_tree_revision(root: Path, dirty_suffix: str) -> tuple[bool, str | None]:
    """(answered, revision): `<sha>`, `<sha><dirty_suffix>`, or None for a repository without commits;
    answered is False when git gave no usable answer (the caller asks GitPython)."""
    unknown = (False, None)
    if not (root / ".git").exists():
        return unknown
    env = {key: value for key, value in os.environ.items() if key not in _REDIRECTING}
    try:
        done = subprocess.run(
            ["git", "--no-optional-locks", "-c", "core.fsmonitor=false", "-C", str(root),
             "status", "--porcelain=v2", "--branch", "--untracked-files=normal"],
            capture_output=True, text=True, env=env, timeout=STATUS_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return unknown
    if done.returncode != 0:
        return unknown
    head = None
    dirty = False
    for line in done.stdout.splitlines():
        if line.startswith("# branch.oid "):
            head = line.split(" ", 2)[2].strip()
        elif line and not line.startswith("#"):
            dirty = True
    if head is None:
        return unknown
    if head == "(initial)":
        return True, None
    return True, head + dirty_suffix if dirty else head
