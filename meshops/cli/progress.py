"""Progress for long work: a live bar on a terminal, one plain line per step in CI logs."""
from __future__ import annotations

import click

from .console import is_terminal


class ApplyProgress:
    """Callback for `Applier.run(progress=…)`; use as a context manager and `start` it once the total is known."""

    def __init__(self, *, label: str) -> None:
        self.label = label
        self.live = is_terminal(click.get_text_stream("stderr"))
        self._progress = None
        self._task = None

    def __enter__(self) -> "ApplyProgress":
        return self

    def start(self, total: int) -> None:
        """Show the bar (on a terminal, for work to do) — after any confirmation prompt, never during it."""
        if self.live and total and self._progress is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=Console(stderr=True), transient=True
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=total)

    def __call__(self, result, done: int, total: int) -> None:
        line = f"[{done}/{total}] {result.outcome.value:<9} {result.key}" + (f": {result.message}" if result.message else "")
        if self._progress is not None:
            self._progress.update(self._task, completed=done, total=total, description=f"{self.label}: {result.key}")
            if not result.outcome.done:
                self._progress.console.print(line)
        else:
            click.echo(line, err=True)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
