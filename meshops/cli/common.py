"""Options shared by many commands, declared once so every command spells them the same way."""
from __future__ import annotations

from typing import Callable

import click

F = Callable[..., object]


def repo_option(function: F) -> F:
    return click.option(
        "--repo",
        default=".",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Config repository (a directory with environments/ and templates/).",
    )(function)


def ref_option(function: F) -> F:
    return click.option(
        "--ref",
        default=None,
        metavar="REV",
        help="Render this git revision straight from the repository (default: the working tree).",
    )(function)


def env_option(function: F) -> F:
    return click.option("--env", "environment", required=True, metavar="ENV", help="Environment to work on.")(function)


def set_option(function: F) -> F:
    return click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a value (dotted path, YAML value); may be repeated. Wins over values files.",
    )(function)


def source_options(function: F) -> F:
    """--env, --repo, --ref and --set: everything needed to render an environment."""
    for decorate in (set_option, ref_option, repo_option, env_option):
        function = decorate(function)
    return function


def output_option(*choices: str, default: str) -> Callable[[F], F]:
    return click.option(
        "-o",
        "--output",
        type=click.Choice(list(choices)),
        default=default,
        show_default=True,
        help="Output format.",
    )


def cluster_options(function: F) -> F:
    """--kubeconfig and --context (default: the environment's meshops.yaml, then kubectl conventions)."""
    function = click.option(
        "--context", default=None, metavar="NAME", help="kubeconfig context (default: meshops.yaml cluster.context, then current)."
    )(function)
    return click.option(
        "--kubeconfig",
        default=None,
        metavar="FILE",
        help="kubeconfig file (default: meshops.yaml cluster.kubeconfig, then $KUBECONFIG, ~/.kube/config, in-cluster).",
    )(function)


def warn_skipped(skipped) -> None:
    """Name every file in templates/ or an environment's manifests/ that render did not render."""
    for entry in skipped:
        click.echo(f"warning: {entry}", err=True)
