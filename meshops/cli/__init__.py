"""The `meshops` command line: it only wires stages together and prints their results.

Each command group lives in its own module under `meshops.cli` and is listed in `COMMANDS`; a
command's module is imported only when that command runs (or `--help` lists them all), and heavy
imports (the kubernetes client, jinja2) happen inside the commands, so `meshops --version` and a
short `meshops diff` import only what they use. Adding a command is writing its module and adding
a row to `COMMANDS`.
Every `MeshopsError` becomes one line on stderr and the exit code from `meshops.model.errors.ExitCode`.
"""
from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import MutableMapping
from typing import Iterator

import click

from .. import __version__
from ..model.errors import ExitCode, MeshopsError

# Every command and group: (name, module under meshops.cli, attribute), in the order they were added.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("render", "render", "render"),
    ("envs", "render", "envs"),
    ("diff", "diff", "diff"),
    ("apply", "apply", "apply"),
    ("crds", "crds", "crds"),
    ("validate", "validate", "validate"),
    ("sandbox", "sandbox", "sandbox"),
    ("demo", "demo", "demo"),
    ("rollout", "rollout", "rollout"),
    ("reconcile", "reconcile", "reconcile"),
    ("affected", "reconcile", "affected"),
    ("serve", "serve", "serve"),
    ("controller", "serve", "controller"),
    ("dashboard", "serve", "dashboard"),
    ("init", "init", "init"),
    ("import", "imports", "import_"),
    ("adopt", "adopt", "adopt"),
)

# Internal failures (bugs) exit with EX_SOFTWARE from sysexits.h so they are never mistaken for
# "differences found" or "invalid config".
EXIT_INTERNAL = 70


class LazyCommands(MutableMapping):
    """The group's commands by name, each imported from its module the first time it is looked up."""

    def __init__(self, table: tuple[tuple[str, str, str], ...]) -> None:
        self.table = {name: (module, attribute) for name, module, attribute in table}
        self.loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self.loaded:
            module, attribute = self.table[name]  # KeyError: no such command
            self.loaded[name] = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
        return self.loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self.loaded[name] = command
        self.table.setdefault(name, ("", ""))

    def __delitem__(self, name: str) -> None:
        self.loaded.pop(name, None)
        del self.table[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)


class MeshopsGroup(click.Group):
    """A click group that turns MeshopsError into one line and an exit code; commands load lazily."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands(COMMANDS)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MeshopsError as error:
            click.echo(error.one_line(), err=True)
            sys.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(ExitCode.INTERRUPTED)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except BrokenPipeError:
            sys.exit(ExitCode.OK)
        except Exception as error:  # a bug in meshops, not a user error
            if os.environ.get("MESHOPS_DEBUG"):
                traceback.print_exc()
            click.echo(
                f"error: internal error: {type(error).__name__}: {error} "
                "(this is a bug in meshops; rerun with MESHOPS_DEBUG=1 for the traceback and report it)",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)


@click.group(cls=MeshopsGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="meshops")
def cli() -> None:
    """GitOps for Istio: render, validate, diff, apply and roll out mesh config from git.

    \b
    Examples:
      meshops envs                          list the environments of the config repo
      meshops render --env prod             print the rendered manifests of prod
      meshops render --env dev --ref HEAD~1 render an earlier revision, straight from git
    """


def main() -> None:
    """Console-script entry point: click's usage errors become our one-line format too."""
    try:
        cli.main(prog_name="meshops", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as error:
        click.echo(error.ctx.get_help() if error.ctx else str(error))
        sys.exit(ExitCode.OK)
    except click.UsageError as error:
        command = error.ctx.command_path if error.ctx else "meshops"
        click.echo(f"error: {' '.join(error.format_message().split())} (see '{command} --help')", err=True)
        sys.exit(ExitCode.INVALID)
    except click.exceptions.Abort:
        click.echo("error: aborted; nothing was written", err=True)
        sys.exit(ExitCode.INVALID)
    except click.ClickException as error:
        click.echo(f"error: {' '.join(error.format_message().split())}", err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Exit as exit_:
        sys.exit(exit_.exit_code)
