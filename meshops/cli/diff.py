"""`meshops diff`: what apply would change in the cluster, with kubectl diff's exit codes."""
from __future__ import annotations

import sys

import click

from .common import (cache_option, manifest_cache, operator_from, operator_options, output_option, prune_options,
                     source_options, warn_skipped)
from .console import is_terminal


@click.command()
@source_options
@operator_options
@prune_options()
@output_option("text", "json", "markdown", default="text")
@click.option("--show-unchanged", is_flag=True, help="Also list objects that would not change.")
@cache_option
def diff(environment, repo, ref, sets, kubeconfig, context, allowed_namespaces, owner_id, prune_namespaces, max_prune_percent,
         adopt, allow_mass_prune, output, show_unchanged, no_cache) -> None:
    """Show what `meshops apply` would change: creates, updates, prunes, conflicts, and what it keeps.

    Take the same --adopt/--prune-namespaces/--allowed-namespaces as the apply you mean to run;
    a plan apply's mass-prune brake would refuse is said on stderr.

    Exit codes follow `kubectl diff`: 0 no differences, 1 differences, 2 or more an error
    (invalid config 2, cluster unreachable or forbidden 3). Secret values are always masked.

    \b
    Examples:
      meshops diff --env staging
      meshops diff --env prod --ref origin/main -o markdown > comment.md
      meshops diff --env dev --kubeconfig ./kubeconfig --context kind-dev -o json
      meshops diff --env dev --adopt                  as `apply --adopt` would: adoptions, not conflicts
    """
    from ..apply.brakes import MassPrune, PruneBrake, check_prune_brake
    from ..cluster.live import missing_namespaces
    from ..diff.output import text_lines, to_json, to_markdown
    from ..pipeline.plan import plan_environment

    operator = operator_from(kubeconfig=kubeconfig, context=context, allowed_namespaces=allowed_namespaces, owner_id=owner_id)
    planned = plan_environment(repo=repo, ref=ref, environment=environment, sets=sets, operator=operator, adopt=adopt,
                               prune_namespaces=prune_namespaces, cache=manifest_cache(no_cache))
    plan = planned.plan
    warn_skipped(planned.rendered.skipped)
    for namespace, keys in sorted(missing_namespaces(planned.rendered.manifests, planned.live).items()):
        click.echo(f"warning: namespace {namespace!r} does not exist and is not rendered: apply would refuse ({len(keys)} objects)", err=True)
    try:
        check_prune_brake(plan, rendered=len(planned.rendered.manifests),
                          brake=PruneBrake(max_percent=max_prune_percent, allow_mass_prune=allow_mass_prune))
    except MassPrune as refused:
        click.echo(f"warning: apply would refuse: {refused.message} (--allow-mass-prune to go ahead)", err=True)
    if output == "json":
        click.echo(to_json(plan))
    elif output == "markdown":
        click.echo(to_markdown(plan), nl=False)
    else:
        colour = is_terminal()
        for line, style in text_lines(plan, show_unchanged=show_unchanged):
            click.echo(click.style(line, fg=None if style in (None, "bold") else style, bold=style == "bold") if colour and style else line)
    sys.exit(1 if plan.has_changes else 0)
