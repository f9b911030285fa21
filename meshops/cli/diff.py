"""`meshops diff`: what apply would change in the cluster(s), with kubectl diff's exit codes."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass

import click

from .common import (cache_option, fleet_options, manifest_cache, operator_from, operator_options, output_option, prune_options,
                     source_options, warn_skipped)
from .console import is_terminal


@click.command()
@source_options
@operator_options
@fleet_options
@prune_options()
@output_option("text", "json", "markdown", default="text")
@click.option("--show-unchanged", is_flag=True, help="Also list objects that would not change.")
@cache_option
def diff(environment, repo, ref, sets, kubeconfig, context, allowed_namespaces, owner_id, clusters, parallel, prune_namespaces,
         max_prune_percent, adopt, allow_mass_prune, output, show_unchanged, no_cache) -> None:
    """Show what `meshops apply` would change: creates, updates, prunes, conflicts, and what it keeps.

    Take the same --adopt/--prune-namespaces/--allowed-namespaces as the apply you mean to run;
    a plan apply's mass-prune brake would refuse is said on stderr.

    An environment that spans clusters is diffed on each of them at once (`--parallel`), one
    block per cluster; `--cluster NAME` narrows. Exit codes follow `kubectl diff`: 0 no
    differences, 1 differences, 2 or more an error (invalid config 2, cluster unreachable or
    forbidden 3); over several clusters, the highest of theirs. Secret values are always masked.

    \b
    Examples:
      meshops diff --env staging
      meshops diff --env prod --ref origin/main -o markdown > comment.md
      meshops diff --env prod --cluster eu-west --kubeconfig us.yaml:eu.yaml
      meshops diff --env dev --kubeconfig ./kubeconfig --context kind-dev -o json
      meshops diff --env dev --adopt                  as `apply --adopt` would: adoptions, not conflicts
    """
    from functools import partial

    from ..apply.brakes import PruneBrake
    from ..diff.output import ClusterPlan, fleet_document, fleet_markdown, to_json, to_markdown
    from ..pipeline.fleet import open_fleet, plan_targets, worst_exit_code

    operator = operator_from(kubeconfig=kubeconfig, context=context, allowed_namespaces=allowed_namespaces, owner_id=owner_id)
    renders, targets = open_fleet(repo=repo, ref=ref, environment=environment, sets=sets, operator=operator, clusters=clusters,
                                  cache=manifest_cache(no_cache))
    brake = PruneBrake(max_percent=max_prune_percent, allow_mass_prune=allow_mass_prune)
    listed = renders.config.cluster(targets[0].cluster).listed
    results = plan_targets(renders, targets, parallel=parallel, adopt=adopt, prune_namespaces=prune_namespaces,
                           portable=partial(_shown, brake=brake, listed=listed))
    if not listed:  # one cluster, the simple form: the output (and an error) as it has always been
        (result,) = results
        if result.error is not None:
            raise result.error
    warned: set[int] = set()  # clusters sharing a render share its warnings
    entries = []
    for result in results:
        shown = result.value
        if shown is None:
            click.echo(f"error: {result.target}: {result.error.one_line().removeprefix('error: ')}", err=True)
            entries.append(ClusterPlan(result.target.cluster, None, error=result.error.one_line().removeprefix("error: "),
                                       exit_code=result.exit_code))
            continue
        rendered = renders.for_cluster(result.target.cluster)
        if id(rendered) not in warned:
            warned.add(id(rendered))
            warn_skipped(rendered.skipped)
        for warning in shown.warnings:
            click.echo(warning, err=True)
        entries.append(shown.entry)
    revision = renders.source.revision
    if output == "json":
        click.echo(json.dumps(fleet_document(environment, revision, entries), indent=2, sort_keys=True) if listed
                   else to_json(entries[0].plan))
    elif output == "markdown":
        click.echo(fleet_markdown(environment, revision, entries) if listed else to_markdown(entries[0].plan), nl=False)
    else:
        _text(entries, listed=listed, environment=environment, show_unchanged=show_unchanged)
    sys.exit(worst_exit_code([entry.exit_code for entry in entries]))


@dataclass
class _Shown:
    """What diff keeps of one cluster's plan: its entry (the plan as outputs show it) and its warnings."""

    entry: object  # diff.output.ClusterPlan
    warnings: list[str]


def _shown(planned, *, brake, listed: bool) -> _Shown:
    """One cluster's plan as diff prints it: plain enough to come back from a forked process."""
    from ..diff.output import ClusterPlan

    plan = planned.plan
    entry = ClusterPlan(planned.connection.target.cluster, plan.portable(), exit_code=1 if plan.has_changes else 0,
                        label=planned.connection.label)
    return _Shown(entry, _warnings(planned, brake=brake, prefix=f"{planned.connection.target}: " if listed else ""))


def _warnings(planned, *, brake, prefix: str) -> list[str]:
    """What apply would refuse that a diff still shows: missing namespaces, a mass prune."""
    from ..apply.brakes import MassPrune, check_prune_brake
    from ..cluster.live import missing_namespaces

    warnings = [f"warning: {prefix}namespace {namespace!r} does not exist and is not rendered: apply would refuse "
                f"({len(keys)} objects)" for namespace, keys in sorted(missing_namespaces(planned.rendered.manifests,
                                                                                          planned.live).items())]
    try:
        check_prune_brake(planned.plan, rendered=len(planned.rendered.manifests), brake=brake)
    except MassPrune as refused:
        warnings.append(f"warning: {prefix}apply would refuse: {refused.message} (--allow-mass-prune to go ahead)")
    return warnings


def _text(entries, *, listed: bool, environment: str, show_unchanged: bool) -> None:
    """The plans as coloured unified diffs: one block per cluster when the environment lists clusters."""
    from ..diff.output import text_lines

    colour = is_terminal()

    def echo(line: str, style: str | None) -> None:
        click.echo(click.style(line, fg=None if style in (None, "bold") else style, bold=style == "bold") if colour and style else line)

    for entry in entries:
        if listed:
            echo(f"== {environment}/{entry.cluster}" + (f" ({entry.label})" if entry.label else "") + " ==", "bold")
        if entry.plan is None:
            echo(f"error (exit {entry.exit_code}): {entry.error}", "red")
            continue
        for line, style in text_lines(entry.plan, show_unchanged=show_unchanged):
            echo(line, style)
