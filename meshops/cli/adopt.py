"""`meshops adopt`: preview what `meshops apply --adopt` would take over, field by field, writing nothing."""
from __future__ import annotations

import json
import sys

import click

from .common import cluster_options, output_option, source_options, warn_skipped


@click.command()
@source_options
@cluster_options
@output_option("text", "json", default="text")
def adopt(environment, repo, ref, sets, kubeconfig, context, output) -> None:
    """Show which live objects git renders that meshops does not own yet, and what adopting them changes.

    An object created with kubectl (client- or server-side apply, create, edit) is adopted: meshops
    adds its labels, takes over the fields kubectl's managers own, and from then on git's values win
    and a field only kubectl set is removed. Labels and annotations git does not set are kept
    (a Namespace keeps istio-injection). Objects another meshops environment or another tool owns
    are never adopted. Nothing is written; `meshops apply --env ENV --adopt` does it.
    Exit codes: 0 nothing to adopt or refuse, 1 objects to adopt or refused, 2 or more an error.

    \b
    Examples:
      meshops adopt --env dev
      meshops adopt --env prod --context prod -o json
    """
    from ..diff.output import field_changes
    from ..diff.plan import Action
    from ..pipeline.plan import plan_environment

    planned = plan_environment(repo=repo, ref=ref, environment=environment, sets=sets, kubeconfig=kubeconfig,
                               context=context, adopt=True)
    warn_skipped(planned.rendered.skipped)
    plan = planned.plan
    adoptions = plan.adoptions
    refused = [change for change in plan.changes if change.action is Action.CONFLICT]
    if output == "json":
        click.echo(json.dumps({
            "environment": environment,
            "adopt": [{"kind": c.key.kind, "namespace": c.key.namespace, "name": c.key.name, "reason": c.reason,
                       "fields": field_changes(c)} for c in adoptions],
            "refused": [{"kind": c.key.kind, "namespace": c.key.namespace, "name": c.key.name, "reason": c.reason}
                        for c in refused],
        }, indent=2))
    else:
        for change in adoptions:
            click.echo(f"~ {change.key} ({change.reason})")
            for line in field_changes(change):
                click.echo(f"    {line}")
        for change in refused:
            click.echo(f"! {change.key}: {change.reason}")
        click.echo(f"{len(adoptions)} to adopt, {len(refused)} refused"
                   + (f"; apply with: meshops apply --env {environment} --adopt" if adoptions else ""))
    sys.exit(1 if adoptions or refused else 0)
