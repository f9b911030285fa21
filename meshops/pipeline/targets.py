"""Which clusters an environment's use cases act on: flags first, then `meshops.yaml`'s `cluster:`.

Order: `--kubeconfig`/`--context`; `cluster:` in `meshops.yaml` (`kubeconfig`, `context`,
`inCluster`); then kubectl's conventions (`$KUBECONFIG`, `~/.kube/config`) and, in a pod, its
service account. Today an environment has one cluster, so one target.
"""
from __future__ import annotations

from ..cluster.target import Target
from ..source.envconfig import EnvConfig


def target_of(config: EnvConfig, *, kubeconfig: str | None = None, context: str | None = None) -> Target:
    """The cluster of `config`'s environment as flags and meshops.yaml name it."""
    section = config.section("cluster") or {}
    return Target(
        environment=config.name,
        kubeconfig=kubeconfig or section.get("kubeconfig"),
        context=context or section.get("context"),
        in_cluster=bool(section.get("inCluster")) and not kubeconfig,
    )


def names_a_cluster(config: EnvConfig | None) -> bool:
    """Whether meshops.yaml says which cluster the environment lives in."""
    return bool(config is not None and config.section("cluster"))
