"""`meshops apply`: make the cluster match git, validated first, in make-before-break order."""
from __future__ import annotations

import json
import sys

import click

from ..model.errors import ExitCode, UsageError
from .common import (cache_option, manifest_cache, operator_from, operator_options, output_option, prune_options,
                     rollout_access_options, source_options, warn_skipped)


@click.command()
@source_options
@operator_options
@click.option("--dry-run", "dry_run", type=click.Choice(["none", "server"]), default="none", show_default=True,
              help="server: send every write with dryRun=All (validated and admitted by the server, nothing persisted).")
@click.option("--no-prune", is_flag=True, help="Do not delete objects git no longer renders.")
@prune_options()
@click.option("--force-conflicts", is_flag=True, help="Take over fields another field manager owns (server-side apply force).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (required when stdin is not a terminal).")
@click.option("--wait", is_flag=True, help="Then drive the environment's active rollouts (those this apply started included) until each ends.")
@click.option("--timeout", default=None, metavar="D", help="With --wait: stop waiting after this long (Go duration: 10m).")
@rollout_access_options
@click.option("--override-freeze", default=None, metavar="REASON", help="Apply even inside a freeze window of meshops.yaml (say why).")
@output_option("text", "json", default="text")
@cache_option
def apply(environment, repo, ref, sets, kubeconfig, context, allowed_namespaces, owner_id, dry_run, no_prune, prune_namespaces,
          max_prune_percent, adopt, allow_mass_prune, force_conflicts, yes, wait, timeout, access, override_freeze,
          output, no_cache) -> None:
    """Apply an environment: validate, plan, then write in dependency order.

    Only objects this repository owns for this environment (labels and the meshops.dev/owner
    annotation) are updated or pruned, and only inside the allowed namespaces; an object of the
    same name someone else owns is reported as a conflict and left alone, unless --adopt takes it
    over (only if no other repository, environment or tool claims it). Namespaces, objects
    annotated meshops.dev/prune=disabled and mass prunes need a flag. Running apply twice makes
    no second write.

    \b
    Examples:
      meshops apply --env dev --yes
      meshops apply --env prod --dry-run=server
      meshops apply --env staging --no-prune -o json --yes
      meshops apply --env prod --yes --wait --timeout 30m
      meshops apply --env dev --adopt --yes          objects created with kubectl become meshops's
    """
    from datetime import datetime, timezone

    from ..diff.output import text_lines
    from ..apply.brakes import PruneBrake
    from ..pipeline.apply import ApplyOptions, apply_environment
    from ..pipeline.freeze import check_freeze
    from ..pipeline.rendering import render_validated
    from ..pipeline.rollouts import check_rollout_settings
    from ..pipeline.targets import owner_of, target_of
    from .progress import ApplyProgress
    from .rollout import drive, parse_timeout

    seconds = parse_timeout(timeout)
    server_dry_run = dry_run == "server"
    cache = manifest_cache(no_cache)
    rendered, offline = render_validated(repo=repo, ref=ref, environment=environment, sets=sets, cache=cache)
    warn_skipped(rendered.skipped)
    if not server_dry_run:  # freeze windows stop writes (and so the rollouts they would start), not dry runs
        check_freeze(rendered.config, datetime.now(timezone.utc), override=override_freeze)
    operator = operator_from(kubeconfig=kubeconfig, context=context, allowed_namespaces=allowed_namespaces, owner_id=owner_id,
                             access=access)
    if wait:  # Prometheus or receivers that cannot work are an error before the first write, not after
        check_rollout_settings(rendered.config, operator=operator)
    connection = target_of(rendered.config, operator).connect()
    options = ApplyOptions(dry_run=server_dry_run, prune=not no_prune, force_conflicts=force_conflicts, adopt=adopt,
                           prune_namespaces=prune_namespaces,
                           brake=PruneBrake(max_percent=max_prune_percent, allow_mass_prune=allow_mass_prune))
    pending = 0

    def review(planned) -> None:
        """Show the plan, then ask before a real write (unless --yes)."""
        nonlocal pending
        plan = planned.plan
        pending = len(plan.creates) + len(plan.updates) + (len(plan.prunes) if options.prune else 0)
        if output == "text":
            for line, _ in text_lines(plan):
                if line.startswith(("+ ", "~ ", "- ", "! ", "# ")) or line == plan.summary():
                    click.echo(line, err=True)
        if pending and not server_dry_run and not yes:
            if not sys.stdin.isatty():
                raise UsageError("refusing to write without confirmation", hint="pass --yes (stdin is not a terminal)")
            click.confirm(f"Apply {pending} changes to {connection.label}?", abort=True, err=True)
        progress.start(pending)

    with ApplyProgress(label=f"applying {environment}") as progress:
        applied = apply_environment(rendered, connection, options=options, review=review,
                                    progress=progress if output == "text" else None, offline=offline, cache=cache)
    result = applied.result
    if output == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for object_result in result.results:
            if not object_result.outcome.done:
                click.echo(f"{object_result.outcome.value}: {object_result.key}: {object_result.message}", err=True)
        click.echo(result.summary() + f" ({result.writes} write requests)")
    if server_dry_run:
        sys.exit(ExitCode.OK if result.ok else ExitCode.INCOMPLETE)
    if not result.ok:
        sys.exit(ExitCode.INCOMPLETE)
    if wait:
        sys.exit(drive(connection, rendered.config, wait=True, timeout=seconds, operator=operator,
                       owner=owner_of(connection.target, rendered)))
    sys.exit(ExitCode.OK)
