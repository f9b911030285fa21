"""`meshops adopt`: preview what `meshops apply --adopt` would take over, field by field, writing nothing."""
from __future__ import annotations

import json
import sys

import click

from .common import operator_from, operator_options, output_option, source_options, warn_skipped


@click.command()
@source_options
@operator_options
@output_option("text", "json", default="text")
def adopt(environment, repo, ref, sets, kubeconfig, context, allowed_namespaces, owner_id, output) -> None:
    """Show which live objects git renders that this repository does not own yet, and what adopting them changes.

    An object created with kubectl (client- or server-side apply, create, edit), or labelled for the
    environment without a meshops.dev/owner annotation, is adopted: meshops writes its labels and
    the owner annotation, takes over the fields kubectl's managers own, and from then on git's
    values win and a field only kubectl set is removed. Labels and annotations git does not set are
    kept (a Namespace keeps istio-injection). Objects another repository, environment or tool owns
    are refused, naming the owner. Labelled objects without an owner annotation that git no longer
    renders are listed too: `--adopt` prunes them. Nothing is written; `meshops apply --env ENV
    --adopt` does it.
    Exit codes: 0 nothing to adopt or refuse, 1 objects to adopt or refused, 2 or more an error.

    \b
    Examples:
      meshops adopt --env dev
      meshops adopt --env prod --context prod -o json
    """
    from ..diff.output import field_changes
    from ..diff.plan import Action
    from ..model.identity import Claim, claim_of
    from ..pipeline.plan import plan_environment

    operator = operator_from(kubeconfig=kubeconfig, context=context, allowed_namespaces=allowed_namespaces, owner_id=owner_id)
    planned = plan_environment(repo=repo, ref=ref, environment=environment, sets=sets, operator=operator, adopt=True)
    warn_skipped(planned.rendered.skipped)
    plan = planned.plan
    adoptions = plan.adoptions
    refused = [change for change in plan.changes if change.action is Action.CONFLICT]
    pruned = [change for change in plan.prunes if claim_of(change.live, planned.owner) is Claim.UNCLAIMED]
    if output == "json":
        click.echo(json.dumps({
            "environment": environment,
            "owner": str(planned.owner),
            "adopt": [{"kind": c.key.kind, "namespace": c.key.namespace, "name": c.key.name, "reason": c.reason,
                       "fields": field_changes(c)} for c in adoptions],
            "refused": [{"kind": c.key.kind, "namespace": c.key.namespace, "name": c.key.name, "reason": c.reason}
                        for c in refused],
            "prune": [{"kind": c.key.kind, "namespace": c.key.namespace, "name": c.key.name} for c in pruned],
        }, indent=2))
    else:
        for change in adoptions:
            click.echo(f"~ {change.key} ({change.reason})")
            for line in field_changes(change):
                click.echo(f"    {line}")
        for change in pruned:
            click.echo(f"- {change.key} (labelled for {environment} without an owner, no longer rendered: pruned)")
        for change in refused:
            click.echo(f"! {change.key}: {change.reason}")
        click.echo(f"{len(adoptions)} to adopt for {planned.owner}, {len(pruned)} to prune, {len(refused)} refused"
                   + (f"; apply with: meshops apply --env {environment} --adopt" if adoptions or pruned else ""))
    sys.exit(1 if adoptions or refused or pruned else 0)
