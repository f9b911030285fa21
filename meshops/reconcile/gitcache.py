"""The config repository as a bare mirror in a cache directory, read without any checkout.

Reconcile reads one exact commit of the config repo. A working tree would be something to keep
clean and could be half-updated when two processes share a cache, so the cache holds a bare
mirror per repository (`git clone --mirror`, then `git fetch --prune`), fetched under a file lock,
and render reads the commit through `source.GitTree`. Local paths, `file://`, https and ssh URLs
all go through git itself (gitpython), so auth is git's (ssh keys, credential helpers); git is
never allowed to prompt. Credentials inside a URL never reach a message.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..model.errors import ExitCode, SourceError
from ..model.masking import mask_text, mask_url

# git must fail instead of waiting for a password on a terminal nobody watches (CI, a pod).
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "SSH_ASKPASS": "true"}
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/meshops/repos`, else `~/.cache/meshops/repos`."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "meshops" / "repos"


def normalize_location(repo: str) -> str:
    """A URL git understands: URLs and `user@host:path` as given, local paths made absolute."""
    if _SCHEME.match(repo) or _SCP_LIKE.match(repo):
        return repo
    return str(Path(repo).expanduser().resolve())


def _mirror_name(location: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", location.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git"))[:40] or "repo"
    return f"{stem}-{hashlib.sha256(location.encode()).hexdigest()[:12]}.git"


class FetchFailed(SourceError):
    """The repository could not be cloned or fetched: the network, the server or credentials."""

    exit_code = ExitCode.UNAVAILABLE


def _git_failure(action: str, location: str, error: Exception) -> SourceError:
    stderr = getattr(error, "stderr", "") or str(error)
    detail = " ".join(mask_text(str(stderr)).replace("stderr:", "").split())[:300]
    return FetchFailed(
        f"cannot {action} {mask_url(location)}: {detail}",
        hint="check the URL, the network and git credentials (ssh key, credential helper)",
    )


@dataclass(frozen=True)
class Mirror:
    """A fetched bare mirror and the commit a ref resolved to."""

    location: str  # what was fetched (mask_url() before printing)
    path: Path  # the bare repository on disk
    revision: str  # full commit sha
    ref: str


class GitCache:
    """Bare mirrors under `root`, one per repository location."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root) if root else default_cache_dir()

    def path_for(self, repo: str) -> Path:
        return self.root / _mirror_name(normalize_location(repo))

    @contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        """One fetch at a time per mirror, across processes and threads (flock per open file)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def fetch(self, repo: str, ref: str = "HEAD") -> Mirror:
        """Clone or update the mirror of `repo`, then resolve `ref` to a commit."""
        import git

        location = normalize_location(repo)
        path = self.path_for(repo)
        with self._locked(path):
            if (path / "HEAD").is_file():
                mirror = git.Repo(path)
                try:
                    mirror.git.fetch("--prune", "--force", "origin", env=GIT_ENV)
                except git.GitCommandError as error:
                    raise _git_failure("fetch", location, error) from None
            else:
                try:
                    mirror = git.Repo.clone_from(location, path, mirror=True, env=GIT_ENV)
                except git.GitCommandError as error:
                    raise _git_failure("clone", location, error) from None
            return Mirror(location=location, path=path, revision=resolve(mirror, ref, location), ref=ref)


def resolve(mirror, ref: str, location: str) -> str:
    """The full sha `ref` names in the mirror (a branch, tag, sha or HEAD)."""
    import git

    from ..source.repo import check_revision

    check_revision(ref)
    for candidate in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}"):
        try:
            return mirror.commit(candidate).hexsha
        except (git.BadName, git.BadObject, ValueError, git.GitCommandError):
            continue
    raise SourceError(f"unknown revision {ref!r} in {mask_url(location)}",
                      hint="use a branch, tag or commit that exists in the repository")
