"""`meshops diff`: what apply would change in the cluster, with kubectl diff's exit codes."""
from __future__ import annotations

import sys

import click

from .common import cache_option, cluster_options, manifest_cache, output_option, source_options
from .console import is_terminal


@click.command()
@source_options
@cluster_options
@output_option("text", "json", "markdown", default="text")
@click.option("--show-unchanged", is_flag=True, help="Also list objects that would not change.")
@cache_option
def diff(environment, repo, ref, sets, kubeconfig, context, output, show_unchanged, no_cache) -> None:
    """Show what `meshops apply` would change: creates, updates, prunes, conflicts.

    Exit codes follow `kubectl diff`: 0 no differences, 1 differences, 2 or more an error
    (invalid config 2, cluster unreachable or forbidden 3). Secret values are always masked.

    \b
    Examples:
      meshops diff --env staging
      meshops diff --env prod --ref origin/main -o markdown > comment.md
      meshops diff --env dev --kubeconfig ./kubeconfig --context kind-dev -o json
    """
    from ..diff.output import text_lines, to_json, to_markdown
    from ..pipeline.plan import plan_environment

    planned = plan_environment(repo=repo, ref=ref, environment=environment, sets=sets, kubeconfig=kubeconfig, context=context,
                               cache=manifest_cache(no_cache))
    plan = planned.plan
    from ..cluster.live import missing_namespaces

    for namespace, keys in sorted(missing_namespaces(planned.rendered.manifests, planned.live).items()):
        click.echo(f"warning: namespace {namespace!r} does not exist and is not rendered: apply would refuse ({len(keys)} objects)", err=True)
    if output == "json":
        click.echo(to_json(plan))
    elif output == "markdown":
        click.echo(to_markdown(plan), nl=False)
    else:
        colour = is_terminal()
        for line, style in text_lines(plan, show_unchanged=show_unchanged):
            click.echo(click.style(line, fg=None if style in (None, "bold") else style, bold=style == "bold") if colour and style else line)
    sys.exit(1 if plan.has_changes else 0)
