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


# -- what the operator decides: Prometheus access and the secrets directory --------------------------

# (flag, environment variable, parameter, help). Each flag also reads its variable, so a CI job or the
# controller's Deployment can set them without a command line; the repo can set none of them.
_OPERATOR_OPTIONS = (
    ("--prometheus-url", "MESHOPS_PROMETHEUS_URL", "URL",
     "Prometheus to analyse with (wins over meshops.yaml prometheus.url; the only URL credentials are sent to)."),
    ("--prometheus-timeout", "MESHOPS_PROMETHEUS_TIMEOUT", "D", "Per-query timeout (Go duration; default: meshops.yaml, then 5s)."),
    ("--prometheus-bearer-token-file", "MESHOPS_PROMETHEUS_BEARER_TOKEN_FILE", "FILE",
     "Send the token in FILE as `Authorization: Bearer` (re-read when it changes; or $MESHOPS_PROMETHEUS_BEARER_TOKEN)."),
    ("--prometheus-username", "MESHOPS_PROMETHEUS_USERNAME", "NAME", "Basic-auth user name for Prometheus."),
    ("--prometheus-password-file", "MESHOPS_PROMETHEUS_PASSWORD_FILE", "FILE",
     "Basic-auth password from FILE (or $MESHOPS_PROMETHEUS_PASSWORD)."),
    ("--prometheus-ca-file", "MESHOPS_PROMETHEUS_CA_FILE", "FILE", "PEM bundle of the CAs that sign Prometheus's certificate."),
    ("--secrets-dir", "MESHOPS_SECRETS_DIR", "DIR",
     "Directory of secret files (e.g. a mounted Secret) whose keys meshops.yaml may name for notification receivers."),
)
PROMETHEUS_HEADERS_ENV = "MESHOPS_PROMETHEUS_HEADERS"  # one `Name: value` per line
PROMETHEUS_TOKEN_ENV = "MESHOPS_PROMETHEUS_BEARER_TOKEN"
PROMETHEUS_PASSWORD_ENV = "MESHOPS_PROMETHEUS_PASSWORD"
_OPERATOR_PARAMS = ("prometheus_url", "prometheus_timeout", "prometheus_bearer_token_file", "prometheus_username",
                    "prometheus_password_file", "prometheus_ca_file", "secrets_dir", "prometheus_header",
                    "prometheus_insecure_skip_verify")


def operator_settings(values: dict) -> object:
    """The `OperatorSettings` of parsed flags (and the environment variables they fall back to)."""
    import os
    from pathlib import Path

    from ..metrics.access import Credentials, SecretRef, parse_header
    from ..model.durations import parse_duration
    from ..model.errors import UsageError
    from ..model.secrets import SecretsDir
    from ..pipeline.operator import OperatorSettings
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
    secrets_dir = values.get("secrets_dir")
    settings = OperatorSettings(prometheus=prometheus, secrets=SecretsDir(Path(secrets_dir) if secrets_dir else None))
    settings.check()
    return settings


def operator_options(function: F) -> F:
    """The operator's rollout settings as flags (see `_OPERATOR_OPTIONS`), handed on as one `operator` argument.

    They are parsed and checked before the command does anything else: a missing or world-readable
    token file, a header with a line break, credentials without --prometheus-url are exit 2 with
    nothing read from a cluster and nothing written.
    """
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        values = {name: kwargs.pop(name, None) for name in _OPERATOR_PARAMS}
        return function(*args, operator=operator_settings(values), **kwargs)

    wrapped: F = wrapper
    wrapped = click.option("--prometheus-insecure-skip-verify", is_flag=True, envvar="MESHOPS_PROMETHEUS_INSECURE_SKIP_VERIFY",
                           help="Do not verify Prometheus's TLS certificate (testing only).")(wrapped)
    wrapped = click.option("--prometheus-header", multiple=True, metavar="'NAME: VALUE'",
                           help=f"Extra header for Prometheus, e.g. 'X-Scope-OrgID: team-a'; repeatable "
                                f"(or ${PROMETHEUS_HEADERS_ENV}, one per line).")(wrapped)
    for flag, env, metavar, text in reversed(_OPERATOR_OPTIONS):
        wrapped = click.option(flag, default=None, envvar=env, metavar=metavar, help=f"{text} [env {env}]")(wrapped)
    return wrapped
