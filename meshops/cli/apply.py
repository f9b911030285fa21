"""`meshops apply`: make the cluster(s) match git, validated first, in make-before-break order."""
from __future__ import annotations

import json
import sys

import click

from ..model.errors import ExitCode, UsageError
from .common import (cache_option, fleet_options, manifest_cache, operator_from, operator_options, output_option,
                     prune_options, rollout_access_options, source_options, warn_skipped)


@click.command()
@source_options
@operator_options
@fleet_options
@click.option("--dry-run", "dry_run", type=click.Choice(["none", "server"]), default="none", show_default=True,
              help="server: send every write with dryRun=All (validated and admitted by the server, nothing persisted).")
@click.option("--no-prune", is_flag=True, help="Do not delete objects git no longer renders.")
@prune_options()
@click.option("--force-conflicts", is_flag=True, help="Take over fields another field manager owns (server-side apply force).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (required when stdin is not a terminal).")
@click.option("--wait", is_flag=True, help="Then drive the environment's active rollouts (those this apply started included) until each ends; "
                                           "over several clusters, wave by wave.")
@click.option("--timeout", default=None, metavar="D", help="With --wait: stop waiting after this long (Go duration: 10m).")
@rollout_access_options
@click.option("--override-freeze", default=None, metavar="REASON", help="Apply even inside a freeze window of meshops.yaml (say why).")
@output_option("text", "json", default="text")
@cache_option
def apply(environment, repo, ref, sets, kubeconfig, context, allowed_namespaces, owner_id, clusters, parallel, dry_run, no_prune,
          prune_namespaces, max_prune_percent, adopt, allow_mass_prune, force_conflicts, yes, wait, timeout, access,
          override_freeze, output, no_cache) -> None:
    """Apply an environment: validate, plan, then write in dependency order.

    Only objects this repository owns for this environment (labels and the meshops.dev/owner
    annotation) are updated or pruned, and only inside the allowed namespaces; an object of the
    same name someone else owns is reported as a conflict and left alone, unless --adopt takes it
    over (only if no other repository, environment or tool claims it). Namespaces, objects
    annotated meshops.dev/prune=disabled and mass prunes need a flag. Running apply twice makes
    no second write.

    An environment that spans clusters is applied wave by wave (meshops.yaml `waves:`): the
    clusters of a wave at once, the next wave only after every cluster of this one was written,
    its rollouts succeeded (`--wait` drives them; without it apply stops there) and `soak:`
    passed. A failure stops the waves; later clusters are not contacted. `--cluster` narrows.

    \b
    Examples:
      meshops apply --env dev --yes
      meshops apply --env prod --dry-run=server
      meshops apply --env staging --no-prune -o json --yes
      meshops apply --env prod --yes --wait --timeout 30m
      meshops apply --env prod --cluster eu-west --yes --kubeconfig us.yaml:eu.yaml
      meshops apply --env dev --adopt --yes          objects created with kubectl become meshops's
    """
    from datetime import datetime, timezone

    from ..apply.brakes import PruneBrake
    from ..pipeline.apply import ApplyOptions
    from ..pipeline.fleet import open_fleet
    from ..pipeline.freeze import check_freeze
    from ..pipeline.rollouts import check_rollout_settings
    from ..pipeline.targets import config_of
    from .rollout import parse_timeout

    seconds = parse_timeout(timeout)
    server_dry_run = dry_run == "server"
    operator = operator_from(kubeconfig=kubeconfig, context=context, allowed_namespaces=allowed_namespaces, owner_id=owner_id,
                             access=access)
    renders, targets = open_fleet(repo=repo, ref=ref, environment=environment, sets=sets, operator=operator, clusters=clusters,
                                  cache=manifest_cache(no_cache))
    for rendered in {id(r): r for r in (renders.for_cluster(target.cluster) for target in targets)}.values():
        warn_skipped(rendered.skipped)  # once per distinct render
    if not server_dry_run:  # freeze windows stop writes (and so the rollouts they would start), not dry runs
        check_freeze(renders.config, datetime.now(timezone.utc), override=override_freeze)
    if wait:  # Prometheus or receivers that cannot work are an error before the first write, not after
        for target in targets:
            check_rollout_settings(config_of(renders.config, target), operator=operator)
    options = ApplyOptions(dry_run=server_dry_run, prune=not no_prune, force_conflicts=force_conflicts, adopt=adopt,
                           prune_namespaces=prune_namespaces,
                           brake=PruneBrake(max_percent=max_prune_percent, allow_mass_prune=allow_mass_prune))
    if not renders.config.cluster(targets[0].cluster).listed:
        _apply_one(renders, targets[0], options=options, yes=yes, wait=wait, timeout=seconds, operator=operator, output=output)
    from ..pipeline.waves import WaveSettings

    settings = WaveSettings(options=options, wait=wait, timeout=seconds, operator=operator, parallel=parallel)
    _apply_fleet(renders, targets, settings=settings, yes=yes, output=output)


def _confirm(pending: int, where: str, *, options, yes: bool) -> None:
    """Ask before a real write (unless --yes); refuse without a terminal to ask on."""
    if pending and not options.dry_run and not yes:
        if not sys.stdin.isatty():
            raise UsageError("refusing to write without confirmation", hint="pass --yes (stdin is not a terminal)")
        click.confirm(f"Apply {pending} changes to {where}?", abort=True, err=True)


def _pending(plan, options) -> int:
    return len(plan.creates) + len(plan.updates) + (len(plan.prunes) if options.prune else 0)


def _show_plan(plan, *, prefix: str = "") -> None:
    from ..diff.output import text_lines

    for line, _ in text_lines(plan):
        if line.startswith(("+ ", "~ ", "- ", "! ", "# ")) or line == plan.summary():
            click.echo(prefix + line, err=True)


def _apply_one(renders, target, *, options, yes: bool, wait: bool, timeout, operator, output: str) -> None:
    """An environment of one cluster: plan, review, write with a progress bar, then (--wait) its rollouts."""
    from ..pipeline.apply import apply_environment
    from ..pipeline.targets import owner_of
    from .progress import ApplyProgress
    from .rollout import drive

    rendered = renders.for_cluster(target.cluster)  # validated by the plan (against the cluster's CRDs too)
    connection = target.connect()

    def review(planned) -> None:
        """Show the plan, then ask before a real write (unless --yes)."""
        pending = _pending(planned.plan, options)
        if output == "text":
            _show_plan(planned.plan)
        _confirm(pending, connection.label, options=options, yes=yes)
        progress.start(pending)

    with ApplyProgress(label=f"applying {target.environment}") as progress:
        applied = apply_environment(rendered, connection, options=options, review=review,
                                    progress=progress if output == "text" else None,
                                    offline=renders.offline(target.cluster), cache=renders.cache)
    result = applied.result
    if output == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _report_undone(result)
        click.echo(result.summary() + f" ({result.writes} write requests)")
    if options.dry_run:
        sys.exit(ExitCode.OK if result.ok else ExitCode.INCOMPLETE)
    if not result.ok:
        sys.exit(ExitCode.INCOMPLETE)
    if wait:
        sys.exit(drive(connection, rendered.config, wait=True, timeout=timeout, operator=operator,
                       owner=owner_of(connection.target, rendered)))
    sys.exit(ExitCode.OK)


def _report_undone(result, *, prefix: str = "") -> None:
    for object_result in result.results:
        if not object_result.outcome.done:
            click.echo(f"{prefix}{object_result.outcome.value}: {object_result.key}: {object_result.message}", err=True)


def _apply_fleet(renders, targets, *, settings, yes: bool, output: str) -> None:
    """An environment over clusters: wave after wave, a line per cluster, the worst exit code."""
    from ..pipeline.fleet import worst_exit_code
    from ..pipeline.waves import apply_in_waves
    from .rollout import ended

    def review(number: int, planned: list) -> None:
        if output == "text":
            for one in planned:
                _show_plan(one.plan, prefix=f"{one.connection.target}: ")
        pending = sum(_pending(one.plan, settings.options) for one in planned)
        _confirm(pending, f"wave {number} ({', '.join(one.connection.target.cluster for one in planned)})",
                 options=settings.options, yes=yes)

    def emit(line: str) -> None:
        click.echo(line, err=True)

    def on_tick(target, tick) -> None:
        line = tick.line()
        if line:
            emit(f"{target}: {line}")

    waves = apply_in_waves(renders, targets, settings=settings, review=review, emit=emit, on_tick=on_tick)
    reached = {target for wave in waves for target in wave.targets}
    untouched = [target for target in targets if target not in reached]
    codes = [wave.exit_code for wave in waves]
    for wave in waves:
        for result in wave.plans + wave.applied + wave.rollouts:
            if result.error is not None:
                emit(f"error: {result.target}: {result.error.one_line().removeprefix('error: ')}")
                codes.append(result.exit_code)
        if output == "text":
            for result in wave.applied:
                if result.value is not None:
                    _report_undone(result.value.result, prefix=f"{result.target}: ")
                    click.echo(f"{result.target}: {result.value.result.summary()} ({result.value.result.writes} write requests)")
            if settings.wait:
                for result in wave.rollouts:
                    if result.value:
                        ended(result.value, prefix=f"{result.target}: ")
        if wave.stopped:
            emit(f"{renders.config.name}: stopped after wave {wave.number}: {wave.stopped}")
    if untouched:
        emit(f"{renders.config.name}: not started: {', '.join(t.cluster for t in untouched)}")
    if output == "json":
        click.echo(json.dumps(_waves_document(renders.config.name, waves, untouched), indent=2))
    sys.exit(worst_exit_code(codes))


def _waves_document(environment: str, waves, untouched) -> dict:
    applied = {result.target: result for wave in waves for result in wave.applied}
    errors = {result.target: result.error for wave in waves for result in wave.plans + wave.applied + wave.rollouts
              if result.error is not None}
    return {
        "environment": environment,
        "waves": [
            {"wave": wave.number, "stopped": wave.stopped or None, "exitCode": wave.exit_code,
             "clusters": [{"cluster": target.cluster,
                           "result": applied[target].value.result.to_dict() if target in applied and applied[target].value else None,
                           "error": errors[target].one_line().removeprefix("error: ") if target in errors else None}
                          for target in wave.targets]}
            for wave in waves
        ],
        "notStarted": [target.cluster for target in untouched],
    }
