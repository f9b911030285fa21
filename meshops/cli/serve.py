"""`meshops serve` (push webhooks -> reconcile) and `meshops controller` (the same, in a cluster)."""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

import click

from .common import cluster_options, operator_options
from .reconcile import DURATION, environment_selection, git_source_options, lock_options


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.getLogger("git").setLevel(logging.WARNING)


def read_secret(path: str) -> bytes:
    """The webhook secret from a file (trailing newline dropped); never printed."""
    from ..model.errors import UsageError

    try:
        secret = Path(path).read_bytes().strip()
    except OSError as error:
        raise UsageError(f"cannot read the webhook secret file {path}: {error.strerror}",
                         hint="mount the secret and pass its path to --webhook-secret-file") from None
    if not secret:
        raise UsageError(f"the webhook secret file {path} is empty", hint="put the shared secret in it (e.g. openssl rand -hex 32)")
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


def _settings(*, repo, branch, environments, wait, operator, cache_dir, kubeconfig, context, lock_timeout, lease_duration,
              identity=None):
    from ..reconcile.reconciler import Settings

    extra = {"identity": identity} if identity else {}
    return Settings(repo=repo, ref=branch, environments=environments, wait=wait, operator=operator, cache_dir=cache_dir,
                    kubeconfig=kubeconfig, context=context, lock_timeout=lock_timeout, lease_seconds=lease_duration, **extra)


def common_options(function):
    """Options serve and controller share: where the config is and which environments."""
    for decorate in (lock_options, cluster_options, operator_options,
                     click.option("--wait/--no-wait", default=True, show_default=True,
                                  help="Drive the rollouts each apply starts to the end before the next environment."),
                     environment_selection,
                     click.option("--branch", default="main", show_default=True, help="Only pushes to this branch reconcile."),
                     git_source_options):
        function = decorate(function)
    return function


@click.command()
@click.option("--listen", default="127.0.0.1:8080", show_default=True, metavar="ADDR", help="HOST:PORT to listen on (:PORT: all interfaces).")
@click.option("--webhook-secret-file", required=True, metavar="FILE",
              help="File holding the shared webhook secret (required: unsigned deliveries are always refused).")
@common_options
def serve(listen, webhook_secret_file, repo, cache_dir, branch, environments, all_environments, wait, operator, kubeconfig,
          context, lock_timeout, lease_duration) -> None:
    """Reconcile on every push: an HTTP endpoint for GitHub, Gitea and GitLab push webhooks.

    POST /webhook checks X-Hub-Signature-256 (HMAC-SHA256; Gitea: X-Gitea-Signature; GitLab:
    X-Gitlab-Token) with a constant-time compare, ignores other branches and event types,
    drops replayed delivery ids, answers 202 at once and reconciles the branch head in the
    background, one run at a time. GET /healthz and /metrics (Prometheus format).

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
    _setup_logging()
    metrics = Metrics()
    settings = _settings(repo=repo, branch=branch, environments=names, wait=wait, operator=operator, cache_dir=cache_dir,
                         kubeconfig=kubeconfig, context=context, lock_timeout=lock_timeout, lease_duration=lease_duration)
    worker = ReconcileWorker(Runner(settings, metrics)).start()
    hooks = Hooks(secret=secret, repo=repo, branch=branch, metrics=metrics,
                  on_push=lambda push, delivery: worker.request(f"webhook {delivery}"))
    server = WebhookServer(host, port, hooks).start()
    logging.getLogger("meshops.serve").info("listening on %s (POST /webhook, GET /healthz, GET /metrics)", server.address)
    stop = threading.Event()
    _stop_on_signals(stop)
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
def controller(listen, webhook_secret_file, repo, cache_dir, branch, environments, all_environments, wait, operator, kubeconfig,
               context, lock_timeout, lease_duration, interval, leader_namespace, leader_lease, leader_lease_duration, identity) -> None:
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
    identity = identity or default_identity()
    api = Target(environment="(controller)", kubeconfig=kubeconfig, context=context).connect().api  # its own cluster: the leader Lease
    _setup_logging()
    log = logging.getLogger("meshops.controller")
    metrics = Metrics()
    settings = _settings(repo=repo, branch=branch, environments=names, wait=wait, operator=operator, cache_dir=cache_dir,
                         kubeconfig=kubeconfig, context=context, lock_timeout=lock_timeout, lease_duration=lease_duration,
                         identity=identity)
    worker = ReconcileWorker(Runner(settings, metrics)).start()
    stop = threading.Event()
    lease = Lease(api, namespace=leader_namespace, name=leader_lease, identity=identity, duration=leader_lease_duration)

    def started() -> None:
        metrics.leader.set(1)
        worker.request("leader")

    loop: Controller | None = None
    elector = LeaderElector(lease, on_started=started, on_stopped=lambda reason: loop.step_down(reason))
    hooks = Hooks(secret=secret, repo=repo, branch=branch, metrics=metrics, ready=elector.leading.is_set,
                  refusing=lambda: None if elector.leading.is_set() else (
                      f"not the leader ({elector.holder} is)" if elector.holder else "not the leader (none elected yet)"),
                  on_push=lambda push, delivery: worker.request(f"webhook {delivery}"))
    server = WebhookServer(host, port, hooks).start()
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
