"""`meshops apply`: make the cluster match git, validated first, in make-before-break order."""
from __future__ import annotations

import json
import sys

import click

from ..model.errors import ExitCode, UsageError
from .common import cluster_options, output_option, source_options


@click.command()
@source_options
@cluster_options
@click.option("--dry-run", "dry_run", type=click.Choice(["none", "server"]), default="none", show_default=True,
              help="server: send every write with dryRun=All (validated and admitted by the server, nothing persisted).")
@click.option("--no-prune", is_flag=True, help="Do not delete objects git no longer renders.")
@click.option("--force-conflicts", is_flag=True, help="Take over fields another field manager owns (server-side apply force).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (required when stdin is not a terminal).")
@click.option("--wait", is_flag=True, help="Then drive the environment's active rollouts (those this apply started included) until each ends.")
@click.option("--timeout", default=None, metavar="D", help="With --wait: stop waiting after this long (Go duration: 10m).")
@click.option("--prometheus-url", default=None, metavar="URL", help="With --wait: Prometheus to analyse with (default: meshops.yaml).")
@click.option("--override-freeze", default=None, metavar="REASON", help="Apply even inside a freeze window of meshops.yaml (say why).")
@output_option("text", "json", default="text")
def apply(environment, repo, ref, sets, kubeconfig, context, dry_run, no_prune, force_conflicts, yes, wait, timeout,
          prometheus_url, override_freeze, output) -> None:
    """Apply an environment: validate, plan, then write in dependency order.

    Only objects labelled as meshops's for this environment are ever updated or pruned; an object
    of the same name that meshops does not own is reported as a conflict and left alone. Running
    apply twice makes no second write.

    \b
    Examples:
      meshops apply --env dev --yes
      meshops apply --env prod --dry-run=server
      meshops apply --env staging --no-prune -o json --yes
      meshops apply --env prod --yes --wait --timeout 30m
    """
    from ..apply.executor import Applier
    from ..diff.output import text_lines
    from ..pipeline.plan import plan_environment, require_namespaces
    from ..diff.normalize import ignore_rules
    from .progress import ApplyProgress
    from .rollout import RolloutEnvironment, drive, parse_timeout

    seconds = parse_timeout(timeout)
    planned = plan_environment(repo=repo, ref=ref, environment=environment, sets=sets, kubeconfig=kubeconfig, context=context)
    if dry_run != "server":  # freeze windows stop writes (and so the rollouts they would start), not dry runs
        from datetime import datetime, timezone

        from ..reconcile.freeze import check_freeze

        check_freeze(planned.rendered.config, datetime.now(timezone.utc), override=override_freeze)
    require_namespaces(planned)
    plan = planned.plan
    server_dry_run = dry_run == "server"
    pending = len(plan.creates) + len(plan.updates) + (0 if no_prune else len(plan.prunes))
    if output == "text":
        for line, _ in text_lines(plan):
            if line.startswith(("+ ", "~ ", "- ", "! ")) or line == plan.summary():
                click.echo(line, err=True)
    if pending and not server_dry_run and not yes:
        if not sys.stdin.isatty():
            raise UsageError("refusing to write without confirmation", hint="pass --yes (stdin is not a terminal)")
        click.confirm(f"Apply {pending} changes to {planned.api.label}?", abort=True, err=True)
    applier = Applier(
        planned.api,
        planned.discovery,
        environment=environment,
        revision=planned.rendered.revision,
        dry_run=server_dry_run,
        force_conflicts=force_conflicts,
        ignore=tuple(ignore_rules(planned.rendered.config.section("ignore"))),
        overlay=planned.overlay,
    )
    with ApplyProgress(pending, label=f"applying {environment}") as progress:
        result = applier.run(plan, prune=not no_prune, progress=progress if output == "text" else None)
    if output == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for object_result in result.results:
            if not object_result.outcome.done:
                click.echo(f"{object_result.outcome.value}: {object_result.key}: {object_result.message}", err=True)
        click.echo(result.summary() + f" ({result.writes} write requests)")
    if server_dry_run:
        sys.exit(ExitCode.OK if result.ok else ExitCode.INCOMPLETE)
    _announce_rollouts(planned.api, plan, result)
    if not result.ok:
        sys.exit(ExitCode.INCOMPLETE)
    if wait:
        env = RolloutEnvironment(name=environment, config=planned.rendered.config, api=planned.api, discovery=planned.discovery)
        refs = [live.ref for live in env.store.list(environment) if live.state.active]
        sys.exit(drive(env, refs, wait=True, timeout=seconds, prometheus_url=prometheus_url))
    sys.exit(ExitCode.OK)


def _announce_rollouts(api, plan, result) -> None:
    """Events for the rollouts this apply started, restarted or cancelled (the overlay's decisions)."""
    from ..rollout.event_recorder import announce_apply_result

    announce_apply_result(api, plan, result)
