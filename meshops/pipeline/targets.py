"""Which clusters an environment's use cases act on: flags first, then `meshops.yaml`.

The one place where flags and `meshops.yaml` become targets. An environment is one cluster
(`cluster:` or nothing: the cluster `default`) or several (`clusters:`, each with a context of the
operator's kubeconfig, in waves). The operator says how to reach them: `--kubeconfig` (one file or
several joined like `$KUBECONFIG`) or `$KUBECONFIG`/`~/.kube/config`, and in a pod its service
account; `--context` overrides a context, which only makes sense for one cluster. `--cluster`
narrows an environment to some of its clusters.
"""
from __future__ import annotations

from typing import Sequence

from ..cluster.target import Target
from ..model.errors import UsageError
from ..source.clusters import ClusterSpec
from ..source.envconfig import EnvConfig


def targets_of(config: EnvConfig, *, kubeconfig: str | None = None, context: str | None = None,
               clusters: Sequence[str] = ()) -> list[Target]:
    """The clusters of `config`'s environment (those named in `clusters`, when given), in meshops.yaml's order."""
    chosen = {config.cluster(name).name for name in clusters}
    specs = [spec for spec in config.clusters if not chosen or spec.name in chosen]
    if context and len(specs) > 1:
        raise UsageError(f"--context names one cluster, but environment {config.name} spans {len(specs)}: "
                         + ", ".join(spec.name for spec in specs),
                         hint="add --cluster NAME, or leave the contexts to meshops.yaml")
    return [_target(config, spec, kubeconfig=kubeconfig, context=context) for spec in specs]


def _target(config: EnvConfig, spec: ClusterSpec, *, kubeconfig: str | None, context: str | None) -> Target:
    single = {} if spec.listed else (config.section("cluster") or {})
    return Target(
        environment=config.name,
        cluster=spec.name,
        kubeconfig=kubeconfig or single.get("kubeconfig"),
        context=context or spec.context,
        in_cluster=bool(single.get("inCluster")) and not kubeconfig,
    )


def target_of(config: EnvConfig, *, kubeconfig: str | None = None, context: str | None = None,
              cluster: str | None = None) -> Target:
    """The one cluster a command that acts on one cluster works on (`cluster`, or the environment's only one)."""
    targets = targets_of(config, kubeconfig=kubeconfig, context=context, clusters=(cluster,) if cluster else ())
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
