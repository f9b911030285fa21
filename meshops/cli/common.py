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
    """--kubeconfig and --context: the operator's kubeconfig (never a file of the repo), its context."""
    function = click.option(
        "--context", default=None, metavar="NAME", help="kubeconfig context (default: meshops.yaml cluster.context, then current)."
    )(function)
    return click.option(
        "--kubeconfig",
        default=None,
        metavar="FILE",
        help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster; never one named by the repository).",
    )(function)


def operator_options(function: F) -> F:
    """--kubeconfig, --context, --allowed-namespaces and --owner-id: what the operator decides for commands that write."""
    function = click.option(
        "--owner-id", default=None, metavar="ID", envvar="MESHOPS_OWNER_ID", show_envvar=True,
        help="The repository's id in the meshops.dev/owner annotation (default: its root commit).",
    )(function)
    function = click.option(
        "--allowed-namespaces", default=None, metavar="NS,…", envvar="MESHOPS_ALLOWED_NAMESPACES", show_envvar=True,
        help="Namespaces (or * patterns) meshops may write and prune in; the repository cannot widen them "
             "(default: all but kube-system, kube-public, kube-node-lease).",
    )(function)
    return cluster_options(function)


def operator_from(*, kubeconfig: str | None, context: str | None, allowed_namespaces: str | None, owner_id: str | None):
    """The `pipeline.targets.Operator` of those four options."""
    from ..model.scope import AllowList
    from ..pipeline.targets import Operator

    return Operator(kubeconfig=kubeconfig, context=context, allowed=AllowList.parse(allowed_namespaces), owner_id=owner_id)


def prune_options(*, mass: bool = True) -> Callable[[F], F]:
    """--prune-namespaces, --max-prune-percent and, for commands a person runs (`mass`), --adopt and --allow-mass-prune."""

    def decorate(function: F) -> F:
        if mass:
            function = click.option("--allow-mass-prune", is_flag=True,
                                    help="Prune even when git renders nothing or more than --max-prune-percent of what "
                                         "the environment owns would go.")(function)
            function = click.option("--adopt", is_flag=True,
                                    help="Also prune objects labelled for the environment without a meshops.dev/owner "
                                         "annotation (applied by an earlier meshops); check `meshops diff --adopt` first.")(function)
        function = click.option("--max-prune-percent", type=click.FloatRange(0, 100), default=30.0, show_default=True,
                                envvar="MESHOPS_MAX_PRUNE_PERCENT", show_envvar=True, metavar="PERCENT",
                                help="The mass-prune brake: the largest share of the environment's objects one apply "
                                     "prunes without --allow-mass-prune.")(function)
        return click.option("--prune-namespaces", is_flag=True,
                            help="Also prune Namespaces git no longer renders (and so everything in them).")(function)

    return decorate
