"""The dashboard's wiring into the HTTP commands (`serve`, `controller`, `dashboard`): options and pages."""
from __future__ import annotations

import logging

import click

# Hosts a dashboard without a token may listen on without a warning: only this machine reaches them.
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def dashboard_options(function):
    """--dashboard/--no-dashboard and --dashboard-token-file, for `serve` and `controller`."""
    function = click.option("--dashboard-token-file", default=None, metavar="FILE",
                            help="Require this token for the dashboard (not the webhook secret): "
                                 "Authorization: Bearer, or the password a browser asks for.")(function)
    return click.option("--dashboard/--no-dashboard", default=True, show_default=True,
                        help="Serve the read-only dashboard at / (environments, rollouts, plans).")(function)


def dashboard_pages(*, enabled: bool, token: bytes | None, host: str, repo: str, ref: str, cache_dir: str | None,
                    environments: tuple[str, ...], operator):
    """The dashboard to hand the HTTP server (`Hooks.pages`), or None when it is off.

    `operator` (`pipeline.operator.Operator`) is what the reconciling process uses: the cluster
    credentials, the owner id, and the Prometheus settings (URL, credentials, TLS) the charts read
    Prometheus with, as rollout analysis does."""
    from ..dashboard.app import Dashboard
    from ..dashboard.sources import Origin, Sources

    if not enabled:
        return None
    if token is None and host not in LOOPBACK:
        logging.getLogger("meshops.dashboard").warning(
            "the dashboard at / is readable by anyone who reaches %s: pass --dashboard-token-file FILE "
            "(or --no-dashboard)", host)
    origin = Origin(repo=repo, ref=ref, cache_dir=cache_dir, environments=environments, operator=operator)
    return Dashboard(Sources(origin), token=token)


def start_dashboard(*, host: str, port: int, pages):
    """An HTTP server with only the dashboard (no webhook: POST answers 404); started."""
    from ..webhook.metrics import Metrics
    from ..webhook.server import Hooks, WebhookServer

    hooks = Hooks(secret=None, repo="", branch="", on_push=lambda push, delivery: None, metrics=Metrics(), pages=pages)
    return WebhookServer(host, port, hooks).start()
