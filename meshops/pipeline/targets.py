"""Which cluster an environment's use cases act on, as whom, and where: the operator decides.

The one place where what the operator passed (flags, environment variables) and what the config
repository says become a `Target`, an `Owner` and a `Scope`. The repository is untrusted input
(a pull request can change it), so it may only *narrow* what the operator allows:
- the cluster: `--kubeconfig` or `$KUBECONFIG` (then `~/.kube/config`, then a pod's service
  account); the repository may name a context (`cluster.context`, which `--context` overrides),
  never a kubeconfig file, whose exec plugins would run programs (`source.envconfig.OPERATOR_ONLY`);
- the owner: `--owner-id` / `MESHOPS_OWNER_ID`, else the repository's root commit;
- the scope: the environment's namespaces inside `--allowed-namespaces` / `MESHOPS_ALLOWED_NAMESPACES`.
Today an environment has one cluster, so one target.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..cluster.target import Target
from ..model.errors import UsageError
from ..model.identity import Owner
from ..model.scope import Scope
from ..source.envconfig import EnvConfig
from .operator import OWNER_ID_ENV, OWNER_ID_FLAG, Operator

if TYPE_CHECKING:
    from ..render import RenderResult
    from ..source.repo import Source


def target_of(config: EnvConfig, operator: Operator = Operator()) -> Target:
    """The cluster of `config`'s environment: the operator's kubeconfig, the context the operator or meshops.yaml names."""
    section = config.section("cluster") or {}
    return Target(environment=config.name, kubeconfig=operator.kubeconfig, context=operator.context or section.get("context"),
                  allowed=operator.allowed, owner_id=operator.owner_id)


def owner_of(target: Target, rendered: RenderResult) -> Owner:
    """Who owns what this environment applies: the operator's id, else the repository's root commit."""
    return Owner(repo=repo_id_of(target, rendered), environment=rendered.environment)


def repo_id_of(target: Target, source: RenderResult | Source) -> str:
    """The repository part of owner annotations: the operator's id, else the root commit of `source`'s repository."""
    repo = target.owner_id or source.repo_id
    if not repo:
        root = getattr(source.tree, "root", None)  # a working tree names its directory
        raise UsageError(
            "the config repository is not a git repository with a commit, so meshops cannot tell which repository "
            "owns the objects it would write",
            obj=str(root) if root else None,
            hint=f"commit the config to git, or pass {OWNER_ID_FLAG} ID (or set {OWNER_ID_ENV}); "
                 "see README 'Ownership, scope and brakes'",
        )
    return repo


def scope_of(target: Target, rendered: RenderResult) -> Scope:
    """The environment's namespaces (rendered into, rendered as Namespaces, declared), inside the allow-list."""
    namespaces = set(rendered.config.declared_namespaces)
    for manifest in rendered.manifests:
        if manifest.namespace:
            namespaces.add(manifest.namespace)
        elif manifest.kind == "Namespace" and manifest.key.group == "":
            namespaces.add(manifest.name)
    return Scope.of(namespaces, target.allowed)
