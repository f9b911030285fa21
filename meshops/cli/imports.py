"""`meshops import`: write what runs in a cluster into an environment of the config repo."""
from __future__ import annotations

import json

import click

from .common import output_option, repo_option


@click.command("import")
@click.option("--env", "environment", required=True, metavar="ENV", help="Environment to import into (created if missing).")
@repo_option
@click.option("--context", default=None, metavar="NAME", help="kubeconfig context of the cluster (default: meshops.yaml, then current).")
@click.option("--kubeconfig", default=None, metavar="FILE", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config).")
@click.option("--namespace", "namespaces", multiple=True, metavar="NS",
              help="Namespace to import from; may be repeated (default: the environment's namespace).")
@click.option("--owner-id", default=None, metavar="ID", envvar="MESHOPS_OWNER_ID", show_envvar=True,
              help="The repository's id in meshops.dev/owner annotations, as apply will use it (default: its root commit).")
@click.option("--kind", "kind_names", multiple=True, metavar="KIND",
              help="Import these kinds instead of the Istio and Gateway API kinds (Service, Namespace, Gateway.networking.istio.io …); may be repeated.")
@output_option("text", "json", default="text")
def import_(environment: str, repo: str, context: str | None, kubeconfig: str | None, namespaces: tuple[str, ...],
            owner_id: str | None, kind_names: tuple[str, ...], output: str) -> None:
    """Import live objects into environments/ENV/manifests/ as plain manifests.

    Reads the Istio and Gateway API kinds (or --kind) in each --namespace, plus everything the
    environment already owns; strips server fields; writes one sorted file per kind and a README of what was imported.
    Importing twice writes the same files. Secrets and what `apply --adopt` would refuse (objects of
    another repository, environment or tool, controller-owned objects) are left out (the README lists
    them). Import only reads the cluster: commit the files, then `meshops apply --env ENV --adopt`
    makes the objects this repository's. When there is nothing to import, nothing is written.

    \b
    Examples:
      meshops import --env dev --context kind-dev --namespace bookinfo
      meshops import --env prod --namespace shop --namespace istio-system --kind VirtualService --kind Service
    """
    from pathlib import Path

    from ..cluster.target import Target
    from ..model.errors import UsageError
    from ..pipeline.importer import import_environment, kind_named, mesh_kinds
    from ..pipeline.operator import Operator
    from ..pipeline.targets import target_of
    from ..source.envconfig import ENVIRONMENT_NAME, list_environments, load_env_config
    from ..source.repo import WorkTree, open_source

    if not ENVIRONMENT_NAME.match(environment) or environment == "base":
        raise UsageError(f"invalid environment name {environment!r}", hint="use lowercase letters, digits and '-'")
    operator = Operator(kubeconfig=kubeconfig, context=context, owner_id=owner_id)
    root = Path(repo).resolve()
    tree = WorkTree(root)
    config = load_env_config(tree, environment) if environment in list_environments(tree) else None
    target = target_of(config, operator) if config else Target(environment=environment, kubeconfig=kubeconfig, context=context)
    repo_id = operator.owner_id or (open_source(root).repo_id if root.is_dir() else None)
    chosen = [kind_named(name) for name in kind_names] if kind_names else mesh_kinds()
    wanted = list(namespaces) or ([config.namespace] if config else [])
    imported = import_environment(repo=repo, environment=environment, connection=target.connect(), namespaces=wanted,
                                  chosen=chosen, context=target.context, owner_id=repo_id)
    if output == "json":
        click.echo(json.dumps({"environment": environment, "directory": imported.directory, "counts": imported.counts,
                               "written": imported.written, "removed": imported.removed, "leftOut": imported.left_out,
                               "createdEnvironment": imported.created_environment}, indent=2))
        return
    for entry in imported.left_out:
        click.echo(f"not imported: {entry}", err=True)
    if not imported.objects:
        found = f"{len(imported.left_out)} left out (lines above say why)" if imported.left_out else "no objects found"
        click.echo(f"nothing to import from {', '.join(wanted)}: {found}; nothing written")
        return
    kinds_text = ", ".join(f"{count} {kind}" for kind, count in sorted(imported.counts.items()))
    click.echo(f"imported {imported.objects} objects into {imported.directory}/ ({kinds_text})")
    if imported.created_environment:
        click.echo(f"created environment {environment} (environments/{environment}/meshops.yaml)")
    click.echo(f"next: commit, then meshops adopt --env {environment} (preview) and meshops apply --env {environment} --adopt")
