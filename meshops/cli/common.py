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


def cache_option(function: F) -> F:
    """--no-cache: render and validate from scratch, neither reading nor writing the manifest cache."""
    return click.option(
        "--no-cache", is_flag=True, envvar="MESHOPS_NO_CACHE",
        help="Do not use the manifest cache (rendered and validated objects kept by the content of their inputs).",
    )(function)


def manifest_cache(no_cache: bool):
    """The manifest cache a command uses, or None with --no-cache."""
    if no_cache:
        return None
    from ..pipeline.manifest_cache import ManifestCache

    return ManifestCache()


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
