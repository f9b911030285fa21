"""What a render reads, as content ids: the key of the manifest cache, and the guard that it is whole.

`input_ids(tree, paths)` gives each repo path an id that changes whenever anything under it does:
for a git revision, the git object id of the tree (or file) at that path, read from the commit;
for the working tree, a SHA-256 over the files under it as the tree reads them (so an uncommitted
or git-ignored file changes the id too, and a symbolic link is refused exactly as render refuses
it). A path that does not exist has the id `absent`.

`RecordingTree` wraps a tree and remembers every path read or listed through it, so the cache can
check, after a render and validation, that nothing outside the keyed paths was read.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .repo import GitTree, Tree

ABSENT = "absent"


def _git_id(tree: GitTree, path: str) -> str:
    entry = tree.commit.tree  # type: ignore[attr-defined]
    for part in [p for p in path.split("/") if p]:
        if entry.type != "tree":
            return ABSENT
        try:
            entry = entry[part]
        except KeyError:
            return ABSENT
    return f"git:{entry.mode:o}:{entry.hexsha}"


def _content_digest(tree: Tree, path: str) -> str:
    """SHA-256 over the names and bytes of everything under `path`, read through `tree`."""
    if tree.is_dir(path):
        digest = hashlib.sha256(b"tree\0")
        for name in tree.listdir(path):
            digest.update(f"{name}\0{_content_digest(tree, f'{path}/{name}')}\0".encode())
        return digest.hexdigest()
    content = tree.read(path)
    if content is None:
        return ABSENT
    return hashlib.sha256(b"blob\0" + content).hexdigest()


def input_ids(tree: Tree, paths: list[str]) -> dict[str, str]:
    """Repo path -> content id (see module docstring); raises what the tree raises for a refused path."""
    if isinstance(tree, GitTree):
        return {path: _git_id(tree, path) for path in paths}
    return {path: "sha256:" + _content_digest(tree, path) for path in paths}


@dataclass
class RecordingTree:
    """A tree that records the paths read (`read`), listed (`listdir`) and probed (`is_dir`)."""

    inner: Tree
    read_paths: set[str] = field(default_factory=set)
    listed_paths: set[str] = field(default_factory=set)
    probed_paths: set[str] = field(default_factory=set)

    def read(self, path: str) -> bytes | None:
        self.read_paths.add(path)
        return self.inner.read(path)

    def listdir(self, path: str) -> list[str]:
        self.listed_paths.add(path)
        return self.inner.listdir(path)

    def is_dir(self, path: str) -> bool:
        self.probed_paths.add(path)
        return self.inner.is_dir(path)

    def outside(self, paths: list[str], *, listing_only: tuple[str, ...] = ()) -> list[str]:
        """Paths used through this tree that are not under one of `paths`.

        Directories in `listing_only` may be listed and their entries probed with `is_dir` (which
        names exist there is not content), but nothing under them may be read.
        """
        def covered(path: str) -> bool:
            return any(path == prefix or path.startswith(prefix + "/") for prefix in paths)

        def only_listed(path: str, *, probe: bool) -> bool:
            parent = path.rsplit("/", 1)[0] if probe else path
            return parent in listing_only and (not probe or "/" in path)

        stray = [p for p in self.read_paths if not covered(p)]
        stray += [p for p in self.listed_paths if not covered(p) and not only_listed(p, probe=False)]
        stray += [p for p in self.probed_paths if not covered(p) and not only_listed(p, probe=True)]
        return sorted(stray)
