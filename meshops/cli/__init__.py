"""The `meshops` command line: it only wires stages together and prints their results.

Each command group lives in its own module under `meshops.cli` and is listed in `COMMANDS`; heavy
imports (the kubernetes client, jinja2) happen inside the commands so `meshops --help` stays fast.
Adding a command is writing its module and adding it to `COMMANDS`.
Every `MeshopsError` becomes one line on stderr and the exit code from `meshops.model.errors.ExitCode`.
"""
from __future__ import annotations

import os
import sys
import traceback

import click

from .. import __version__
from ..model.errors import ExitCode, MeshopsError
from .adopt import adopt
from .apply import apply
from .crds import crds
from .demo import demo
from .diff import diff
from .imports import import_
from .init import init
from .reconcile import affected, reconcile
from .render import envs, render
from .rollout import rollout
from .sandbox import sandbox
from .serve import controller, dashboard, serve
from .validate import validate

# Internal failures (bugs) exit with EX_SOFTWARE from sysexits.h so they are never mistaken for
# "differences found" or "invalid config".
EXIT_INTERNAL = 70


class MeshopsGroup(click.Group):
    """A click group that turns MeshopsError into one line and an exit code."""

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


# Every command and group, in the order `meshops --help` lists them.
COMMANDS = (init, import_, render, envs, diff, apply, adopt, crds, validate, sandbox, demo, rollout, reconcile, affected, serve,
            controller, dashboard)
for _command in COMMANDS:
    cli.add_command(_command)


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
