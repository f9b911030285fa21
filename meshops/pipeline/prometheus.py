"""Use case support: which Prometheus an environment's rollouts ask, and with what credentials.

Two parties say something about it. The **config repo** (`prometheus:` in meshops.yaml) is
untrusted input — a pull request can change it — so it may only say *which* Prometheus to ask,
how long to wait and which plain headers to send (a tenant: `X-Scope-OrgID`). The **operator**
(flags and `MESHOPS_PROMETHEUS_*` environment of the process that drives rollouts: a CI job, the
controller) owns everything that reads a secret or decides how it travels:

| setting                      | repo (`prometheus:`) | operator (flag / environment)                                   |
|------------------------------|----------------------|-----------------------------------------------------------------|
| url                          | yes                  | `--prometheus-url` / `MESHOPS_PROMETHEUS_URL` (wins)             |
| timeout                      | yes                  | `--prometheus-timeout` / `MESHOPS_PROMETHEUS_TIMEOUT` (wins)     |
| headers                      | yes (plain values)   | `--prometheus-header` / `MESHOPS_PROMETHEUS_HEADERS` (win by name)|
| bearer token                 | no                   | `--prometheus-bearer-token-file`, `MESHOPS_PROMETHEUS_BEARER_TOKEN(_FILE)` |
| basic auth                   | no                   | `--prometheus-username` + `--prometheus-password-file`, `MESHOPS_PROMETHEUS_PASSWORD(_FILE)` |
| CA bundle, insecureSkipVerify| no                   | `--prometheus-ca-file`, `--prometheus-insecure-skip-verify`      |

and credentials are sent only to a URL the operator named: a repo can neither make meshops read
a file of its choosing nor send the operator's token to a host of its choosing. A repo that
writes a credential key gets an error naming the flag to use instead; a repo URL with
`user:password@` is an inline secret and refused (masked in the message).
"""
from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from ..metrics.access import DEFAULT_TIMEOUT, Credentials, PrometheusAccess, header_problem
from ..model.durations import parse_duration
from ..model.errors import ConfigError, UsageError
from ..model.masking import has_userinfo, mask_url
from ..source.envconfig import EnvConfig

SECTION = "prometheus"
# Keys a repo might write for credentials or TLS trust, and what the operator uses instead.
OPERATOR_ONLY_KEYS = {
    "bearerToken": "--prometheus-bearer-token-file or $MESHOPS_PROMETHEUS_BEARER_TOKEN",
    "bearerTokenFile": "--prometheus-bearer-token-file or $MESHOPS_PROMETHEUS_BEARER_TOKEN_FILE",
    "basicAuth": "--prometheus-username with --prometheus-password-file (or $MESHOPS_PROMETHEUS_PASSWORD)",
    "username": "--prometheus-username",
    "password": "--prometheus-password-file or $MESHOPS_PROMETHEUS_PASSWORD",
    "passwordFile": "--prometheus-password-file",
    "tls": "--prometheus-ca-file or --prometheus-insecure-skip-verify",
    "caFile": "--prometheus-ca-file",
    "insecureSkipVerify": "--prometheus-insecure-skip-verify",
}


@dataclass(frozen=True)
class PrometheusSettings:
    """What the operator says about Prometheus (flags and environment); every field optional."""

    url: str | None = None
    timeout: float | None = None
    headers: tuple[tuple[str, str], ...] = ()
    credentials: Credentials = Credentials()

    def check(self) -> None:
        """Operator mistakes, before anything is read from the repo or written to a cluster."""
        if self.credentials.any and not self.url:
            raise UsageError(
                "Prometheus credentials or TLS settings were given without --prometheus-url",
                hint="credentials are only sent to a Prometheus the operator names: pass --prometheus-url "
                     "(or $MESHOPS_PROMETHEUS_URL) too",
            )
        if self.url:
            problem = url_problem(self.url)
            if problem:
                raise UsageError(f"--prometheus-url {mask_url(self.url)!r} {problem}", hint="write it as https://host:9090")
        if self.timeout is not None and self.timeout <= 0:
            raise UsageError("--prometheus-timeout must be longer than 0", hint="e.g. 5s")
        self.access(url=self.url or "http://unused.invalid").check()

    def access(self, *, url: str, timeout: float | None = None,
               headers: tuple[tuple[str, str], ...] = ()) -> PrometheusAccess:
        """These settings over a repo's url, timeout and headers (the operator's win by name)."""
        mine = {name.lower() for name, _ in self.headers}
        merged = tuple((name, value) for name, value in headers if name.lower() not in mine) + self.headers
        return PrometheusAccess(
            url=self.url or url,
            timeout=self.timeout if self.timeout is not None else (timeout if timeout is not None else DEFAULT_TIMEOUT),
            headers=merged,
            credentials=self.credentials,
        )


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a Prometheus base URL, or None."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return "is not an http(s) URL"
    try:
        parsed.port
    except ValueError:
        return "has a port that is not a number"
    return None


def _repo_headers(config: EnvConfig, section: dict) -> tuple[tuple[str, str], ...]:
    headers = section.get("headers") or {}
    pairs = []
    for name, value in headers.items():
        problem = header_problem(str(name), str(value))
        if problem:
            raise ConfigError(f"prometheus.headers: {problem}", location=config.location(SECTION, "headers", name),
                              hint="headers here are plain, non-secret values such as X-Scope-OrgID")
        pairs.append((str(name), str(value)))
    return tuple(pairs)


def check_repo_section(config: EnvConfig) -> None:
    """The repo side of the rule (see the module docstring); ConfigError at the line to edit."""
    section = config.section(SECTION) or {}
    for key, instead in OPERATOR_ONLY_KEYS.items():
        if key in section:
            raise ConfigError(
                f"prometheus.{key}: credentials and TLS trust are the operator's, not the config repo's "
                "(a repo must not choose what meshops reads and sends)",
                location=config.location(SECTION, key),
                hint=f"remove it here and set {instead} where meshops runs",
            )
    url = section.get("url")
    if url:
        if has_userinfo(url):
            raise ConfigError(f"prometheus.url {mask_url(url)!r} carries credentials, which never belong in the repo",
                              location=config.location(SECTION, "url"),
                              hint="remove user:password@ and give them as --prometheus-username/--prometheus-password-file")
        problem = url_problem(url)
        if problem:
            raise ConfigError(f"prometheus.url {url!r} {problem}", location=config.location(SECTION, "url"),
                              hint="write it as http://host:9090")
    timeout = section.get("timeout")
    if timeout and parse_duration(timeout) <= 0:
        raise ConfigError("prometheus.timeout must be longer than 0", location=config.location(SECTION, "timeout"))
    _repo_headers(config, section)


def prometheus_access(config: EnvConfig, operator: PrometheusSettings | None = None) -> PrometheusAccess:
    """The Prometheus the environment's rollouts ask: the operator's settings over the repo's."""
    operator = operator or PrometheusSettings()
    check_repo_section(config)
    section = config.section(SECTION) or {}
    if operator.url:  # the operator's Prometheus: the repo's url does not apply, its timeout and headers do
        section = {**section, "url": operator.url}
    url = section.get("url")
    if not url:
        raise ConfigError(
            "prometheus.url is not set, so rollouts cannot be analysed",
            location=config.location(SECTION),
            hint="add prometheus: {url: http://prometheus.istio-system:9090}, or pass --prometheus-url",
        )
    timeout = section.get("timeout")
    access = operator.access(url=url, timeout=parse_duration(timeout) if timeout else None,
                             headers=_repo_headers(config, section))
    access.check()
    return access
