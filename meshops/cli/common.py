"""Options shared by many commands, declared once so every command spells them the same way."""
from __future__ import annotations

import re
from typing import Callable

import click

F = Callable[..., object]


class Duration(click.ParamType):
    """`30s`, `2m`, `1h30m` or plain seconds, as a float number of seconds."""

    name = "duration"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return float(value)
        text = str(value).strip()
        try:
            return float(text)
        except ValueError:
            pass
        from ..model.durations import parse_duration

        try:
            return parse_duration(text)
        except ValueError as error:
            self.fail(str(error), param, ctx)


DURATION = Duration()


class Size(click.ParamType):
    """`25Mi`, `1Gi`, `512M` (Kubernetes quantity suffixes) or plain bytes, as an int."""

    name = "size"
    UNITS = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}
    PATTERN = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|k|M|G)?$")

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip()
        match = self.PATTERN.match(text)
        size = int(float(match.group(1)) * self.UNITS[match.group(2)]) if match else 0
        if size <= 0:
            self.fail(f"{text!r} is not a size (e.g. 25Mi, 1Gi, 512M or bytes)", param, ctx)
        return size


SIZE = Size()


def _set_render_budget(field: str):
    def store(ctx: click.Context, param: click.Parameter, value):
        if value is not None:
            from ..render.budget import configure_default

            configure_default(**{field: value})
        return value

    return store


def render_budget_options(function: F) -> F:
    """--render-timeout and --render-memory: the budget every render of this command runs under."""
    function = click.option("--render-memory", type=SIZE, default=None, metavar="SIZE", envvar="MESHOPS_RENDER_MEMORY",
                            expose_value=False, callback=_set_render_budget("memory"),
                            help="Memory templates may use on top of meshops's own [env MESHOPS_RENDER_MEMORY; default 1Gi].")(function)
    return click.option("--render-timeout", type=DURATION, default=None, metavar="DURATION", envvar="MESHOPS_RENDER_TIMEOUT",
                        expose_value=False, callback=_set_render_budget("seconds"),
                        help="Wall-clock limit for rendering one environment [env MESHOPS_RENDER_TIMEOUT; default 60s].")(function)


def repo_option(function: F) -> F:
    return click.option(
        "--repo",
        default=".",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Config repository (a directory with environments/ and templates/).",
    )(function)


class GitRevision(click.ParamType):
    """A branch, tag or commit; a value git would take for an option (`--output=x`) is a usage error."""

    name = "revision"

    def convert(self, value, param, ctx):
        from ..source.repo import check_revision

        return check_revision(str(value), option=param.opts[0] if param else "--ref")


REVISION = GitRevision()


def ref_option(function: F) -> F:
    return click.option(
        "--ref",
        default=None,
        type=REVISION,
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
    """--env, --repo, --ref, --set and the render budget: everything needed to render an environment."""
    for decorate in (render_budget_options, set_option, ref_option, repo_option, env_option):
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
