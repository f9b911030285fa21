"""`meshops demo`: the whole pipeline end to end on this machine, with no cluster."""
from __future__ import annotations

import click

from .console import is_terminal


@click.command()
@click.option("--fast/--slow", default=True, show_default=True,
              help="Rollout intervals of seconds (fast) or of a quarter minute (slow).")
@click.option("--keep", is_flag=True,
              help="Keep the sandbox, mesh and Prometheus running at the end, with the dashboard, until Ctrl-C.")
@click.option("--example", default=None, metavar="DIR", help="Example config repo to copy (default: this meshops checkout).")
def demo(fast: bool, keep: bool, example: str | None) -> None:
    """Run meshops end to end on an embedded sandbox: git → validate → diff → apply → canary → rollback.

    Starts a local Kubernetes API server (the sandbox) with Istio's CRDs, a synthetic mesh whose
    traffic follows the VirtualService weights, and a real Prometheus when the `prometheus`
    binary is installed (Debian/Ubuntu: apt-get install prometheus). Everything it starts is
    stopped and every temp dir removed at the end, also on Ctrl-C.

    \b
    Example:
      meshops demo --fast
    """
    import time

    from ..demo.script import run_demo
    from ..demo.world import ENVIRONMENT, DemoWorld, find_example_repo

    colour = is_terminal()
    with DemoWorld(find_example_repo(example), fast=fast) as world:
        summary = run_demo(world, say=click.echo, colour=colour)
        click.echo("")
        click.echo("== What happened")
        for line in summary:
            click.echo(f"- {line}")
        click.echo("")
        click.echo("== Try next" + ("" if keep else " (with --keep, while the demo keeps its sandbox running)"))
        args = " ".join(world.cluster_args)
        click.echo(f"  meshops diff --env dev {args}")
        click.echo(f"  meshops rollout status --env dev {args}")
        click.echo(f"  kubectl --kubeconfig {world.kubeconfig} get virtualservices -n bookinfo -o yaml")
        click.echo(f"  meshops dashboard --env dev {args}")
        if keep:
            server = _dashboard(world)
            click.echo("\nthe sandbox keeps running; press Ctrl-C to stop and clean up")
            click.echo(f"dashboard: {server.address}/  (the {ENVIRONMENT} environment, its rollouts with their charts, its plan)")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
            finally:
                server.stop()
    click.echo("stopped the sandbox, the mesh and Prometheus; removed the demo's temp files")


def _dashboard(world):
    """The read-only dashboard over the demo's repo and sandbox, on a free local port."""
    from ..demo.world import ENVIRONMENT
    from ..pipeline.operator import Operator
    from .dashboard import dashboard_pages, start_dashboard

    operator = Operator(kubeconfig=str(world.kubeconfig), context="sandbox")
    pages = dashboard_pages(enabled=True, token=None, host="127.0.0.1", repo=str(world.repo_dir), ref="HEAD",
                            cache_dir=str(world.workdir / "cache"), environments=(ENVIRONMENT,), operator=operator)
    return start_dashboard(host="127.0.0.1", port=0, pages=pages)
