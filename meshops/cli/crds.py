"""`meshops crds export|pull`: the schemas validate uses, as CustomResourceDefinitions.

`export` prints the Istio and Gateway API schemas meshops ships (what the sandbox installs, what
offline validation uses); `pull` saves a cluster's own Istio and Gateway API CRDs into the config repo
(`crds/`), so offline validation in CI matches the versions that cluster runs.
"""
from __future__ import annotations

import json
import os

import click

from .common import output_option, repo_option


@click.group()
def crds() -> None:
    """Istio and Gateway API CRD schemas: print the shipped ones, or save a cluster's into the config repo."""


@crds.command()
@click.option("--group", "group", default=None, metavar="GROUP", help="Only this API group (e.g. networking.istio.io).")
@output_option("yaml", "json", default="yaml")
def export(group: str | None, output: str) -> None:
    """Print the shipped Istio and Gateway API schemas as apiextensions.k8s.io/v1 CRDs.

    \b
    Examples:
      meshops crds export | kubectl apply -f -
      meshops crds export --group security.istio.io -o json
      meshops crds export --group gateway.networking.k8s.io
    """
    from ..model.errors import UsageError
    from ..validate.schemas import SHIPPED_KINDS, shipped_crds
    from ..yamlio.documents import dump_all

    documents = shipped_crds(group)
    if not documents:
        groups = ", ".join(sorted({kind.group for kind in SHIPPED_KINDS}))
        raise UsageError(f"no shipped schemas for group {group!r}", hint=f"groups: {groups}")
    if output == "json":
        click.echo(json.dumps({"apiVersion": "v1", "kind": "List", "items": documents}, indent=2, sort_keys=True))
    else:
        click.echo(dump_all(documents), nl=False)


@crds.command()
@click.option("--context", "context", default=None, metavar="CONTEXT", help="kubeconfig context of the cluster.")
@click.option("--kubeconfig", default=None, type=click.Path(dir_okay=False), help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config).")
@click.option("--env", "environment", default=None, metavar="ENV",
              help="Take the cluster from this environment's meshops.yaml and save to crds/ENV.yaml.")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False),
              help="File to write (default: crds/ENV.yaml with --env, else crds/istio.yaml, in the repo).")
@repo_option
def pull(context: str | None, kubeconfig: str | None, environment: str | None, out: str | None, repo: str) -> None:
    """Save a cluster's Istio and Gateway API CRDs into the config repo for offline validation.

    \b
    Examples:
      meshops crds pull --context prod-eu
      meshops crds pull --env staging        # cluster from environments/staging/meshops.yaml
    """
    from ..cluster.target import Target
    from ..model.errors import UsageError
    from ..pipeline.operator import Operator
    from ..pipeline.targets import target_of
    from ..source.envconfig import load_env_config
    from ..source.repo import open_source
    from ..validate.schemas.repo import crds_yaml, istio_crds, list_cluster_crds, repo_crds_path

    operator = Operator(kubeconfig=kubeconfig, context=context)
    if environment:  # the context meshops.yaml names, in the operator's kubeconfig
        cluster = target_of(load_env_config(open_source(repo, None).tree, environment), operator)
    else:
        cluster = Target(environment="", kubeconfig=kubeconfig, context=context)
    context = cluster.context
    if not context:
        raise UsageError("no cluster given", hint="pass --context, or --env with a cluster.context in its meshops.yaml")
    found = istio_crds(list_cluster_crds(cluster.connect().api.client))
    if not found:
        raise UsageError(f"context {context!r} serves no Istio CRDs", hint="is Istio installed in that cluster?")
    target = out or os.path.join(repo, repo_crds_path(environment))
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(crds_yaml(found, source=f"context {context}"))
    kinds = sorted({crd["spec"]["names"]["kind"] for crd in found})
    click.echo(f"wrote {len(found)} CRDs ({', '.join(kinds)}) to {target}")
