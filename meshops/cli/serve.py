"""`meshops serve` (push webhooks -> reconcile), `meshops controller` (the same, in a cluster) and `meshops dashboard`."""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

import click

from .common import (
    DURATION,
    REVISION,
    SIZE,
    cluster_options,
    operator_from,
    operator_options,
    owner_option,
    prometheus_options,
    prune_options,
    render_budget_options,
    rollout_access_options,
)
from .dashboard import dashboard_options, dashboard_pages, start_dashboard
from .reconcile import environment_selection, git_source_options, lock_options, no_prune_option, operator_fields


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.getLogger("git").setLevel(logging.WARNING)


def read_secret(path: str, *, option: str = "--webhook-secret-file", what: str = "webhook secret") -> bytes:
    """A secret (the webhook secret, the dashboard token) from a file, trailing newline dropped; never printed."""
    from ..model.errors import UsageError

    try:
        secret = Path(path).read_bytes().strip()
    except OSError as error:
        raise UsageError(f"cannot read the {what} file {path}: {error.strerror}",
                         hint=f"mount the secret and pass its path to {option}") from None
    if not secret:
        raise UsageError(f"the {what} file {path} is empty", hint="put the secret in it (e.g. openssl rand -hex 32)")
    return secret


def _listen(value: str) -> tuple[str, int]:
    from ..model.errors import UsageError
    from ..webhook.server import parse_listen

    try:
        return parse_listen(value)
    except ValueError as error:
        raise UsageError(f"--listen {error}", hint="e.g. 127.0.0.1:8080 or :8080") from None


def _stop_on_signals(stop: threading.Event) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())


def _settings(*, repo, branch, environments, wait, cache_dir, kubeconfig, context, lock_timeout, lease_duration,
              operator: dict, identity=None):
    from ..reconcile.reconciler import Settings

    extra = {"identity": identity} if identity else {}
    return Settings(repo=repo, ref=branch, environments=environments, wait=wait, cache_dir=cache_dir,
                    kubeconfig=kubeconfig, context=context, lock_timeout=lock_timeout, lease_seconds=lease_duration, **operator,
                    **extra)


def _webhook_limits(*, max_body: int, max_connections: int, header_timeout: float, body_timeout: float):
    from ..webhook.limits import WebhookLimits

    return WebhookLimits(max_body=max_body, header_timeout=header_timeout, body_timeout=body_timeout,
                         max_connections=max_connections)


def endpoint_options(function):
    """What one HTTP client may cost, and when the worker counts as stuck (/healthz)."""
    options = (
        click.option("--max-body", default="25Mi", show_default=True, type=SIZE, metavar="SIZE",
                     help="Largest webhook body accepted (GitHub sends at most 25 MB); larger ones get 413 unread."),
        click.option("--max-connections", default=32, show_default=True, type=click.IntRange(min=1), metavar="N",
                     help="Connections served at once; more are answered 503 at once."),
        click.option("--header-timeout", default="10s", show_default=True, type=DURATION, metavar="DURATION",
                     help="Time a client has to send a request's line and headers."),
        click.option("--body-timeout", default="30s", show_default=True, type=DURATION, metavar="DURATION",
                     help="Time a client has to send a request's body."),
        # Longer than a render may take (60 s budget), a lock wait (60 s) and a rollout step's interval.
        click.option("--stall-timeout", default="10m", show_default=True, type=DURATION, metavar="DURATION",
                     help="/healthz fails when a running reconcile shows no progress for this long."),
    )
    for decorate in reversed(options):
        function = decorate(function)
    return function


def _pages(*, enabled: bool, token_file: str | None, **origin):
    """The dashboard (None when off), with its token read from `token_file` when one is given."""
    token = read_secret(token_file, option="--dashboard-token-file", what="dashboard token") if enabled and token_file else None
    return dashboard_pages(enabled=enabled, token=token, **origin)


def common_options(function):
    """Options serve and controller share: where the config is, which environments, what may be written and pruned,
    and what one HTTP client may cost.

    No --allow-mass-prune and no --adopt: a long-running process never releases the brake or
    takes over objects on its own; a person runs `meshops reconcile` with them once.
    """
    for decorate in (endpoint_options, render_budget_options, lock_options, no_prune_option, prune_options(mass=False),
                     operator_options, rollout_access_options,
                     click.option("--wait/--no-wait", default=True, show_default=True,
                                  help="Drive the rollouts each apply starts to the end before the next environment."),
                     environment_selection,
                     click.option("--branch", default="main", show_default=True, type=REVISION, help="Only pushes to this branch reconcile."),
                     git_source_options):
        function = decorate(function)
    return function


@click.command()
@click.option("--listen", default="127.0.0.1:8080", show_default=True, metavar="ADDR", help="HOST:PORT to listen on (:PORT: all interfaces).")
@click.option("--webhook-secret-file", required=True, metavar="FILE",
              help="File holding the shared webhook secret (required: unsigned deliveries are always refused).")
@common_options
@dashboard_options
def serve(listen, webhook_secret_file, repo, cache_dir, branch, environments, all_environments, wait, access, kubeconfig,
          context, allowed_namespaces, owner_id, prune_namespaces, max_prune_percent, no_prune, lock_timeout, lease_duration,
          max_body, max_connections, header_timeout, body_timeout, stall_timeout, dashboard, dashboard_token_file) -> None:
    """Reconcile on every push: an HTTP endpoint for GitHub, Gitea and GitLab push webhooks.

    POST /webhook checks X-Hub-Signature-256 (HMAC-SHA256; Gitea: X-Gitea-Signature; GitLab:
    X-Gitlab-Token) with a constant-time compare, ignores other branches and event types,
    drops replayed delivery ids, answers 202 at once and reconciles the branch head in the
    background, one run at a time. GET /healthz and /metrics (Prometheus format), and the
    read-only dashboard at / (--dashboard-token-file to require a token, --no-dashboard to drop it).

    \b
    Examples:
      meshops serve --repo https://github.com/acme/mesh-config.git --webhook-secret-file /etc/meshops/secret
      meshops serve --listen :9000 --repo /srv/git/mesh.git --branch main --env dev --env staging
    """
    from ..webhook.metrics import Metrics
    from ..webhook.runner import Runner
    from ..webhook.server import Hooks, WebhookServer
    from ..webhook.worker import ReconcileWorker
    from .reconcile import selected

    secret = read_secret(webhook_secret_file)
    host, port = _listen(listen)
    names = selected(environments, all_environments, required=False)
    limits = _webhook_limits(max_body=max_body, max_connections=max_connections, header_timeout=header_timeout,
                             body_timeout=body_timeout)
    _setup_logging()
    metrics = Metrics()
    fields = operator_fields(allowed_namespaces=allowed_namespaces, owner_id=owner_id, no_prune=no_prune,
                             prune_namespaces=prune_namespaces, max_prune_percent=max_prune_percent, access=access)
    settings = _settings(repo=repo, branch=branch, environments=names, wait=wait, cache_dir=cache_dir,
                         kubeconfig=kubeconfig, context=context, lock_timeout=lock_timeout, lease_duration=lease_duration,
                         operator=fields)
    pages = _pages(enabled=dashboard, token_file=dashboard_token_file, host=host, repo=repo, ref=branch, cache_dir=cache_dir,
                   environments=names, operator=settings.operator)
    runner = Runner(settings, metrics)
    worker = ReconcileWorker(runner).start()
    hooks = Hooks(secret=secret, repo=repo, branch=branch, metrics=metrics, pages=pages,
                  unhealthy=lambda: runner.heartbeat.stalled(stall_timeout),
                  on_push=lambda push, delivery: worker.request(f"webhook {delivery}"))
    stop = threading.Event()
    _stop_on_signals(stop)  # before "listening": a SIGTERM right after start is a clean stop too
    server = WebhookServer(host, port, hooks, limits=limits).start()
    logging.getLogger("meshops.serve").info("listening on %s (POST /webhook, GET /healthz, GET /metrics%s)", server.address,
                                            ", GET / dashboard" if pages else "")
    stop.wait()
    server.stop()
    worker.stop(timeout=30)


@click.command()
@click.option("--listen", default=":8080", show_default=True, metavar="ADDR", help="HOST:PORT for webhooks, probes and metrics.")
@click.option("--webhook-secret-file", default=None, metavar="FILE",
              help="Shared webhook secret; without it webhooks are off (POST /webhook is 404) and only polling runs.")
@common_options
@click.option("--interval", default="60s", show_default=True, type=DURATION, metavar="DURATION", help="How often the leader polls the repository.")
@click.option("--leader-namespace", default=lambda: os.environ.get("POD_NAMESPACE", "default"), show_default="$POD_NAMESPACE or default",
              help="Namespace of the leader-election Lease.")
@click.option("--leader-lease", default="meshops-controller", show_default=True, help="Name of the leader-election Lease.")
@click.option("--leader-lease-duration", default="15s", show_default=True, type=DURATION, metavar="DURATION",
              help="How long a leader that stopped renewing keeps the lead.")
@click.option("--identity", default=None, metavar="ID", help="This replica's name in Leases (default: $POD_NAME, else host-pid).")
@dashboard_options
def controller(listen, webhook_secret_file, repo, cache_dir, branch, environments, all_environments, wait, access, kubeconfig,
               context, allowed_namespaces, owner_id, prune_namespaces, max_prune_percent, no_prune, lock_timeout, lease_duration,
               max_body, max_connections, header_timeout, body_timeout, stall_timeout,
               interval, leader_namespace, leader_lease, leader_lease_duration, identity, dashboard, dashboard_token_file) -> None:
    """Run the reconcile loop in a cluster: poll, accept webhooks, drive rollouts; one leader among replicas.

    Replicas elect a leader with a coordination.k8s.io/v1 Lease; only the leader reconciles
    and only it is ready (/readyz), so a Service routes webhooks to it. On taking the lead it
    reconciles at once, continuing any rollout found active in the cluster. A leader that loses
    its Lease exits (code 3) so its pod restarts as a follower.

    \b
    Examples:
      meshops controller --repo https://github.com/acme/mesh-config.git --webhook-secret-file /var/run/secrets/meshops/webhook
      meshops controller --repo /srv/git/mesh.git --interval 30s --env dev
    """
    from ..cluster.target import Target
    from ..controller.leader import LeaderElector
    from ..controller.loop import Controller
    from ..model.errors import ExitCode
    from ..reconcile.reconciler import default_identity
    from ..reconcile.lease import Lease
    from ..webhook.metrics import Metrics
    from ..webhook.runner import Runner
    from ..webhook.server import Hooks, WebhookServer
    from ..webhook.worker import ReconcileWorker
    from .reconcile import selected

    secret = read_secret(webhook_secret_file) if webhook_secret_file else None
    host, port = _listen(listen)
    names = selected(environments, all_environments, required=False)
    limits = _webhook_limits(max_body=max_body, max_connections=max_connections, header_timeout=header_timeout,
                             body_timeout=body_timeout)
    identity = identity or default_identity()
    api = Target(environment="(controller)", kubeconfig=kubeconfig, context=context).connect().api  # its own cluster: the leader Lease
    _setup_logging()
    log = logging.getLogger("meshops.controller")
    metrics = Metrics()
    fields = operator_fields(allowed_namespaces=allowed_namespaces, owner_id=owner_id, no_prune=no_prune,
                             prune_namespaces=prune_namespaces, max_prune_percent=max_prune_percent, access=access)
    settings = _settings(repo=repo, branch=branch, environments=names, wait=wait, cache_dir=cache_dir,
                         kubeconfig=kubeconfig, context=context, lock_timeout=lock_timeout, lease_duration=lease_duration,
                         operator=fields, identity=identity)
    runner = Runner(settings, metrics)
    worker = ReconcileWorker(runner).start()
    stop = threading.Event()
    lease = Lease(api, namespace=leader_namespace, name=leader_lease, identity=identity, duration=leader_lease_duration)

    def started() -> None:
        metrics.leader.set(1)
        worker.request("leader")

    loop: Controller | None = None
    elector = LeaderElector(lease, on_started=started, on_stopped=lambda reason: loop.step_down(reason))
    pages = _pages(enabled=dashboard, token_file=dashboard_token_file, host=host, repo=repo, ref=branch, cache_dir=cache_dir,
                   environments=names, operator=settings.operator)
    hooks = Hooks(secret=secret, repo=repo, branch=branch, metrics=metrics, ready=elector.leading.is_set, pages=pages,
                  unhealthy=lambda: runner.heartbeat.stalled(stall_timeout),
                  refusing=lambda: None if elector.leading.is_set() else (
                      f"not the leader ({elector.holder} is)" if elector.holder else "not the leader (none elected yet)"),
                  on_push=lambda push, delivery: worker.request(f"webhook {delivery}"))
    server = WebhookServer(host, port, hooks, limits=limits).start()
    loop = Controller(elector=elector, worker=worker, server=server, interval=interval, stop=stop)
    log.info("controller %s listening on %s; candidate for %s", identity, server.address, lease)
    _stop_on_signals(stop)
    loop.run()
    metrics.leader.set(0)
    server.stop()
    if loop.lost:
        click.echo(f"error: stopped leading: {loop.lost} (the pod restarts as a follower)", err=True)
        sys.exit(ExitCode.UNAVAILABLE)
    worker.stop(timeout=30)


@click.command()
@git_source_options
@click.option("--ref", default="HEAD", show_default=True, type=REVISION, metavar="REV",
              help="Branch, tag or commit whose environments are shown (plans compare it with the cluster).")
@environment_selection
@cluster_options
@owner_option
@prometheus_options
@click.option("--listen", default="127.0.0.1:8090", show_default=True, metavar="ADDR", help="HOST:PORT to listen on.")
@click.option("--token-file", default=None, metavar="FILE",
              help="Require this token (Authorization: Bearer, or the password a browser asks for).")
def dashboard(repo, cache_dir, ref, environments, all_environments, kubeconfig, context, owner_id, access, listen,
              token_file) -> None:
    """Open the read-only dashboard on this machine: environments, drift, rollouts, plans.

    The same pages `meshops serve` and `meshops controller` serve at /, read with your own
    kubeconfig: each environment's last reconcile (from its Lease), drift against the applied
    revision, freeze windows, promotion order, rollouts with their chart, and the plan of the
    branch head. It never writes. Prometheus URLs inside a cluster are rarely reachable from a
    laptop: port-forward and pass --prometheus-url.

    \b
    Examples:
      meshops dashboard --repo . --context prod-cluster
      meshops dashboard --repo https://github.com/acme/mesh-config.git --ref main --prometheus-url http://localhost:9090
    """
    from .reconcile import selected

    names = selected(environments, all_environments, required=False)
    host, port = _listen(listen)
    operator = operator_from(kubeconfig=kubeconfig, context=context, owner_id=owner_id, access=access)
    pages = _pages(enabled=True, token_file=token_file, host=host, repo=repo, ref=ref, cache_dir=cache_dir,
                   environments=names, operator=operator)
    _setup_logging()
    stop = threading.Event()
    _stop_on_signals(stop)
    server = start_dashboard(host=host, port=port, pages=pages)
    logging.getLogger("meshops.dashboard").info("listening on %s (GET / dashboard, /healthz, /metrics)", server.address)
    click.echo(f"dashboard at {server.address}/ (read-only; Ctrl-C to stop)")
    stop.wait()
    server.stop()
