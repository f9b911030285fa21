"""`meshops init`: scaffold a config repository that validates and deploys out of the box."""
from __future__ import annotations

import click

from .common import repo_option


@click.command()
@repo_option
@click.option("--env", "environments", multiple=True, metavar="ENV",
              help="An environment, in promotion order; may be repeated (default: dev, staging, prod; the last is production).")
@click.option("--namespace", default=None, metavar="NS", help="Namespace of the environments' workloads (default: apps).")
def init(repo: str, environments: tuple[str, ...], namespace: str | None) -> None:
    """Create a config repository: environments, a template per Istio kind, the GitHub workflows.

    Nothing is overwritten: every file it would write must not exist yet.

    \b
    Examples:
      meshops init --repo mesh-config
      meshops init --repo mesh-config --env test --env prod --namespace shop
    """
    from ..source.scaffold import DEFAULT_ENVIRONMENTS, DEFAULT_NAMESPACE, promotion_chain, starter_repo, write_new_files

    specs = promotion_chain(list(environments or DEFAULT_ENVIRONMENTS), namespace=namespace or DEFAULT_NAMESPACE)
    written = write_new_files(repo, starter_repo(specs))
    click.echo(f"wrote {len(written)} files to {repo}")
    first = specs[0].name
    enter = "" if repo == "." else f"cd {repo} && "
    click.echo(f"next: {enter}git init && meshops validate --env {first}; "
               f"set cluster.context in environments/{first}/meshops.yaml, then meshops diff --env {first}")
