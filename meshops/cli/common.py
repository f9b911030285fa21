"""Options shared by many commands, declared once so every command spells them the same way."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import click

if TYPE_CHECKING:
    from ..model.secrets import SecretsDir
    from ..pipeline.prometheus import PrometheusSettings

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


# -- what the operator decides ----------------------------------------------------------------------
# Everything here is the operator's (flags, environment variables), never the config repo's; it
# becomes one `pipeline.operator.Operator`.


def owner_option(function: F) -> F:
    """--owner-id: which repository's objects (and rollouts) these are."""
    return click.option(
        "--owner-id", default=None, metavar="ID", envvar="MESHOPS_OWNER_ID", show_envvar=True,
        help="The repository's id in the meshops.dev/owner annotation (default: its root commit).",
    )(function)


def operator_options(function: F) -> F:
    """--kubeconfig, --context, --allowed-namespaces and --owner-id: what the operator decides for commands that write."""
    function = owner_option(function)
    function = click.option(
        "--allowed-namespaces", default=None, metavar="NS,…", envvar="MESHOPS_ALLOWED_NAMESPACES", show_envvar=True,
        help="Namespaces (or * patterns) meshops may write and prune in; the repository cannot widen them "
             "(default: all but kube-system, kube-public, kube-node-lease).",
    )(function)
    return cluster_options(function)


def operator_from(*, kubeconfig: str | None, context: str | None, allowed_namespaces: str | None = None,
                  owner_id: str | None = None, access: RolloutAccess | None = None):
    """The `pipeline.operator.Operator` of the operator options (and, for commands with them, the rollout access options)."""
    from ..model.scope import AllowList
    from ..pipeline.operator import Operator

    extra = {"prometheus": access.prometheus, "secrets": access.secrets} if access is not None else {}
    return Operator(kubeconfig=kubeconfig, context=context, allowed=AllowList.parse(allowed_namespaces), owner_id=owner_id,
                    **extra)


def prune_options(*, mass: bool = True) -> Callable[[F], F]:
    """--prune-namespaces, --max-prune-percent and, for commands a person runs (`mass`), --adopt and --allow-mass-prune."""

    def decorate(function: F) -> F:
        if mass:
            function = click.option("--allow-mass-prune", is_flag=True,
                                    help="Prune even when git renders nothing or more than --max-prune-percent of what "
                                         "the environment owns would go.")(function)
            function = click.option("--adopt", is_flag=True,
                                    help="Take over objects git renders that exist but nobody else claims (created with "
                                         "kubectl, or labelled without a meshops.dev/owner annotation), and prune such "
                                         "labelled objects git no longer renders; preview with `meshops adopt`.")(function)
        function = click.option("--max-prune-percent", type=click.FloatRange(0, 100), default=30.0, show_default=True,
                                envvar="MESHOPS_MAX_PRUNE_PERCENT", show_envvar=True, metavar="PERCENT",
                                help="The mass-prune brake: the largest share of the environment's objects one apply "
                                     "prunes without --allow-mass-prune.")(function)
        return click.option("--prune-namespaces", is_flag=True,
                            help="Also prune Namespaces git no longer renders (and so everything in them).")(function)

    return decorate


def warn_skipped(skipped) -> None:
    """Name every file in templates/ or an environment's manifests/ that render did not render."""
    for entry in skipped:
        click.echo(f"warning: {entry}", err=True)


# -- rollout access: Prometheus and the secrets directory ----------------------------------------------

# (flag, environment variable, help). Each flag also reads its variable, so a CI job or the
# controller's Deployment can set them without a command line; the repo can set none of them.
_PROMETHEUS_OPTIONS = (
    ("--prometheus-url", "MESHOPS_PROMETHEUS_URL", "URL",
     "Prometheus to analyse with (wins over meshops.yaml prometheus.url; the only URL credentials are sent to)."),
    ("--prometheus-timeout", "MESHOPS_PROMETHEUS_TIMEOUT", "D", "Per-query timeout (Go duration; default: meshops.yaml, then 5s)."),
    ("--prometheus-bearer-token-file", "MESHOPS_PROMETHEUS_BEARER_TOKEN_FILE", "FILE",
     "Send the token in FILE as `Authorization: Bearer` (re-read when it changes; or $MESHOPS_PROMETHEUS_BEARER_TOKEN)."),
    ("--prometheus-username", "MESHOPS_PROMETHEUS_USERNAME", "NAME", "Basic-auth user name for Prometheus."),
    ("--prometheus-password-file", "MESHOPS_PROMETHEUS_PASSWORD_FILE", "FILE",
     "Basic-auth password from FILE (or $MESHOPS_PROMETHEUS_PASSWORD)."),
    ("--prometheus-ca-file", "MESHOPS_PROMETHEUS_CA_FILE", "FILE", "PEM bundle of the CAs that sign Prometheus's certificate."),
)
_SECRETS_DIR_OPTION = ("--secrets-dir", "MESHOPS_SECRETS_DIR", "DIR",
                       "Directory of secret files (e.g. a mounted Secret) whose keys meshops.yaml may name for "
                       "notification receivers.")
PROMETHEUS_HEADERS_ENV = "MESHOPS_PROMETHEUS_HEADERS"  # one `Name: value` per line
PROMETHEUS_TOKEN_ENV = "MESHOPS_PROMETHEUS_BEARER_TOKEN"
PROMETHEUS_PASSWORD_ENV = "MESHOPS_PROMETHEUS_PASSWORD"
_ACCESS_PARAMS = ("prometheus_url", "prometheus_timeout", "prometheus_bearer_token_file", "prometheus_username",
                  "prometheus_password_file", "prometheus_ca_file", "secrets_dir", "prometheus_header",
                  "prometheus_insecure_skip_verify")


@dataclass(frozen=True)
class RolloutAccess:
    """The parsed and checked rollout access options, handed to the command as one `access` argument."""

    prometheus: PrometheusSettings
    secrets: SecretsDir


def rollout_access(values: dict) -> RolloutAccess:
    """The `RolloutAccess` of parsed flags (and the environment variables they fall back to), checked."""
    import os
    from pathlib import Path

    from ..metrics.access import Credentials, SecretRef, parse_header
    from ..model.durations import parse_duration
    from ..model.errors import UsageError
    from ..model.secrets import SecretsDir
    from ..pipeline.prometheus import PrometheusSettings

    timeout = values.get("prometheus_timeout")
    try:
        seconds = parse_duration(timeout) if timeout else None
    except ValueError as error:
        raise UsageError(f"--prometheus-timeout: {error}", hint="write it like 5s or 1m") from None
    header_lines = list(values.get("prometheus_header") or ())
    header_lines += [line for line in os.environ.get(PROMETHEUS_HEADERS_ENV, "").splitlines() if line.strip()]
    token_file, password_file = values.get("prometheus_bearer_token_file"), values.get("prometheus_password_file")
    token = (SecretRef("Prometheus bearer token", file=token_file, option="--prometheus-bearer-token-file") if token_file
             else SecretRef("Prometheus bearer token", env=PROMETHEUS_TOKEN_ENV) if os.environ.get(PROMETHEUS_TOKEN_ENV)
             else None)
    password = (SecretRef("Prometheus password", file=password_file, option="--prometheus-password-file") if password_file
                else SecretRef("Prometheus password", env=PROMETHEUS_PASSWORD_ENV) if os.environ.get(PROMETHEUS_PASSWORD_ENV)
                else None)
    prometheus = PrometheusSettings(
        url=values.get("prometheus_url") or None,
        timeout=seconds,
        headers=tuple(parse_header(line) for line in header_lines),
        credentials=Credentials(bearer_token=token, username=values.get("prometheus_username") or None, password=password,
                                ca_file=values.get("prometheus_ca_file") or None,
                                insecure_skip_verify=bool(values.get("prometheus_insecure_skip_verify"))),
    )
    prometheus.check()
    secrets_dir = values.get("secrets_dir")
    return RolloutAccess(prometheus=prometheus, secrets=SecretsDir(Path(secrets_dir) if secrets_dir else None))


def _access_options(*, secrets_dir: bool) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        import functools

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            values = {name: kwargs.pop(name, None) for name in _ACCESS_PARAMS}
            return function(*args, access=rollout_access(values), **kwargs)

        wrapped: F = wrapper
        wrapped = click.option("--prometheus-insecure-skip-verify", is_flag=True,
                               envvar="MESHOPS_PROMETHEUS_INSECURE_SKIP_VERIFY",
                               help="Do not verify Prometheus's TLS certificate (testing only).")(wrapped)
        wrapped = click.option("--prometheus-header", multiple=True, metavar="'NAME: VALUE'",
                               help=f"Extra header for Prometheus, e.g. 'X-Scope-OrgID: team-a'; repeatable "
                                    f"(or ${PROMETHEUS_HEADERS_ENV}, one per line).")(wrapped)
        options = _PROMETHEUS_OPTIONS + ((_SECRETS_DIR_OPTION,) if secrets_dir else ())
        for flag, env, metavar, text in reversed(options):
            wrapped = click.option(flag, default=None, envvar=env, metavar=metavar, help=f"{text} [env {env}]")(wrapped)
        return wrapped

    return decorate


# The operator's rollout access as flags (see `_PROMETHEUS_OPTIONS`), handed on as one `access`
# argument (`RolloutAccess`). They are parsed and checked before the command does anything else: a
# missing or world-readable token file, a header with a line break, credentials without
# --prometheus-url are exit 2 with nothing read from a cluster and nothing written.
# `rollout_access_options`: commands that drive rollouts (and so notify: --secrets-dir too);
# `prometheus_options`: commands that only read Prometheus (dashboard, rollout report).
rollout_access_options = _access_options(secrets_dir=True)
prometheus_options = _access_options(secrets_dir=False)
