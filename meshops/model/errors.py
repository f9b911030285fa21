"""Errors as values: every mistake a user can make becomes one of these, never a traceback.

Each stage raises a `MeshopsError` subclass carrying where the problem is (file and line, or the
object) and how to fix it. Only the CLI turns them into the one-line message and the exit code
documented in README.md ("Exit codes").
"""
from __future__ import annotations

from dataclasses import dataclass

from .masking import mask_text


class ExitCode:
    """Exit codes shared by every command and output format (kubectl diff compatible at 0/1/2)."""

    OK = 0
    # diff: differences found; validate: error-level findings; rollout: a rollout failed.
    CHANGES_OR_FINDINGS = 1
    # Invalid input or usage: broken YAML, undefined template variable, unknown environment, bad flag.
    INVALID = 2
    # Something outside meshops failed: cluster or Prometheus unreachable, forbidden, timed out.
    UNAVAILABLE = 3
    # Apply could not finish: conflicts with objects meshops does not own, writes that kept failing.
    INCOMPLETE = 4
    # Interrupted by the user (Ctrl-C), as shells report SIGINT.
    INTERRUPTED = 130


@dataclass(frozen=True)
class Location:
    """A place a person can open in an editor: file and 1-based line (line may be unknown)."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class MeshopsError(Exception):
    """A user-facing failure: a message, where it is, and how to fix it."""

    exit_code: int = ExitCode.INVALID

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        obj: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.obj = obj
        self.hint = hint

    def one_line(self) -> str:
        """The single line the CLI prints: `error: <where>: <what> (<how to fix>)`, URL credentials masked."""
        where = str(self.location) if self.location else self.obj
        text = " ".join(self.message.split())
        line = f"error: {where}: {text}" if where else f"error: {text}"
        if self.hint:
            line += f" ({' '.join(self.hint.split())})"
        return mask_text(line)


class ConfigError(MeshopsError):
    """The config repository (values, templates, meshops.yaml, manifests) is wrong."""


class UsageError(MeshopsError):
    """The command line asks for something impossible (unknown environment, bad --set)."""


class SourceError(MeshopsError):
    """The git repository or revision cannot be read."""


class ClusterError(MeshopsError):
    """The cluster is unreachable, refuses us, or answered something we cannot use."""

    exit_code = ExitCode.UNAVAILABLE


class MetricsError(MeshopsError):
    """Prometheus is unreachable or answered something that is not a query result."""

    exit_code = ExitCode.UNAVAILABLE


class ApplyIncomplete(MeshopsError):
    """Apply stopped with objects left undone (conflicts, ownership, repeated failures)."""

    exit_code = ExitCode.INCOMPLETE
