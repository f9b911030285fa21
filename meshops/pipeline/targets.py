"""Which clusters an environment's use cases act on, as whom, and where: the operator decides.

The one place where what the operator passed (flags, environment variables) and what the config
repository says become `Target`s, an `Owner` and a `Scope`. The repository is untrusted input
(a pull request can change it), so it may only *narrow* what the operator allows:
- the clusters: `--kubeconfig` (one file or several joined like `$KUBECONFIG`) or `$KUBECONFIG`
  (then `~/.kube/config`, then a pod's service account); the repository may name a context per
  cluster (`cluster.context`, or `context` of each `clusters:` entry; `--context` overrides it for
  one cluster), never a kubeconfig file, whose exec plugins would run programs
  (`source.envconfig.OPERATOR_ONLY`);
- the owner: `--owner-id` / `MESHOPS_OWNER_ID`, else the repository's root commit, and the
  cluster when the environment lists clusters (`model.identity.Owner`);
- the scope: the environment's namespaces inside `--allowed-namespaces` / `MESHOPS_ALLOWED_NAMESPACES`.
An environment is one cluster (`cluster:` or nothing: the cluster `default`) or several
(`clusters:`, in waves); `--cluster` narrows it to some of them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ..cluster.target import Target
from ..model.errors import UsageError
from ..model.identity import Owner
from ..model.scope import Scope
from ..source.envconfig import EnvConfig
from .operator import OWNER_ID_ENV, OWNER_ID_FLAG, Operator

if TYPE_CHECKING:
    from ..render import RenderResult
    from ..source.repo import Source


def targets_of(config: EnvConfig, operator: Operator = Operator(), *, clusters: Sequence[str] = ()) -> list[Target]:
    """The clusters of `config`'s environment (those named in `clusters`, when given), in meshops.yaml's order."""
    chosen = {config.cluster(name).name for name in clusters}
    specs = [spec for spec in config.clusters if not chosen or spec.name in chosen]
    if operator.context and len(specs) > 1:
        raise UsageError(f"--context names one cluster, but environment {config.name} spans {len(specs)}: "
                         + ", ".join(spec.name for spec in specs),
                         hint="add --cluster NAME, or leave the contexts to meshops.yaml")
    return [Target(environment=config.name, cluster=spec.name, kubeconfig=operator.kubeconfig,
                   context=operator.context or spec.context, allowed=operator.allowed, owner_id=operator.owner_id)
            for spec in specs]


def target_of(config: EnvConfig, operator: Operator = Operator(), *, cluster: str | None = None) -> Target:
    """The one cluster a command that acts on one cluster works on (`cluster`, or the environment's only one)."""
    targets = targets_of(config, operator, clusters=(cluster,) if cluster else ())
    if len(targets) > 1:
        raise UsageError(f"environment {config.name} spans {len(targets)} clusters: " + ", ".join(t.cluster for t in targets),
                         hint="pick one with --cluster NAME")
    return targets[0]


def waves_of(config: EnvConfig, targets: Sequence[Target]) -> list[list[Target]]:
    """`targets` grouped by their wave, first wave first (waves with none of them left out)."""
    wave_of = {spec.name: spec.wave for spec in config.clusters}
    waves: dict[int, list[Target]] = {}
    for target in targets:
        waves.setdefault(wave_of[target.cluster], []).append(target)
    return [waves[number] for number in sorted(waves)]


def config_of(config: EnvConfig, target: Target) -> EnvConfig:
    """The environment's settings as `target`'s cluster sees them (its own Prometheus, when it has one)."""
    if any(spec.name == target.cluster for spec in config.clusters):
        return config.for_cluster(target.cluster)
    return config


def names_a_cluster(config: EnvConfig | None) -> bool:
    """Whether meshops.yaml says which cluster(s) the environment lives in."""
    return bool(config is not None and (config.section("cluster") or config.section("clusters")))


def owner_of(target: Target, source: RenderResult | Source) -> Owner:
    """Who owns what this environment applies to `target`: the operator's id, else the repository's root commit;
    with the cluster when the environment lists clusters (`model.identity.Owner`)."""
    return Owner(repo=repo_id_of(target, source), environment=target.environment, cluster=target.cluster)


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
