"""Use case: an environment on each of its clusters — one render per values set, one plan per cluster.

An environment that spans clusters is several targets. What they share is done once: the
environment is rendered once per distinct values set (clusters without a values file of their own
share the environment's render) and each render is validated offline once. What each cluster
needs alone — connecting, reading its objects (one LIST per kind), validating against them,
planning — fans out over a bounded pool of threads (`fanout.fan_out`; `diff` also over one forked
process per core, `fanout.fan_out_forked`), and every cluster ends in a value or the `MeshopsError`
that stopped it, never taking the others down. `diff`, `apply` and
`reconcile` all go through here.
"""
from __future__ import annotations

import threading
from typing import Callable, Sequence, TypeVar

from ..cluster.api import RetryPolicy
from ..cluster.target import Target
from ..render import RenderResult, render
from ..validate.findings import Finding, has_errors
from ..source.clusters import cluster_values_file
from ..source.envconfig import ENVIRONMENTS_DIR, EnvConfig, load_env_config
from ..source.repo import Source, open_source
from . import DEFAULT_PARALLEL
from .fanout import TargetResult, fan_out, fan_out_forked
from .manifest_cache import ManifestCache
from .plan import Planned, plan_rendered
from .rendering import OFFLINE_FINDINGS, InvalidConfig, check_settings, cluster_may_know, render_source, validate_rendered
from .operator import Operator
from .targets import repo_id_of, targets_of

R = TypeVar("R")


class Renders:
    """An environment rendered for its clusters at one revision: once per distinct values set, on demand."""

    def __init__(self, source: Source, config: EnvConfig, *, sets: Sequence[str] = (), repo: str | None = None,
                 cache: ManifestCache | None = None) -> None:
        self.source = source
        self.config = config
        self.sets = tuple(sets)
        self.repo = repo
        self.cache = cache if repo is not None else None  # the cache keys on the repository's path
        self._renders: dict[str | None, RenderResult] = {}
        self._keys: dict[str | None, str | None] = {}
        self._guard = threading.Lock()

    def layer_of(self, cluster: str) -> str | None:
        """The cluster whose values layer a target's render merges: its own when it has a file, else None."""
        spec = self.config.cluster(cluster)
        if not spec.listed:
            return None
        own = cluster_values_file(f"{ENVIRONMENTS_DIR}/{self.config.name}", cluster)
        return cluster if self.source.tree.read(own) is not None else None

    def for_cluster(self, cluster: str) -> RenderResult:
        """The render cluster `cluster` gets (rendered the first time any cluster with its values set asks)."""
        layer = self.layer_of(cluster)
        with self._guard:
            if layer not in self._renders:
                self._renders[layer] = self._render(layer)
            return self._renders[layer]

    def _render(self, layer: str | None) -> RenderResult:
        """One values set rendered: through the manifest cache (keyed on `layer` too) when there is one."""
        if self.cache is None:
            return render(self.source, self.config.name, self.sets, cluster=layer)
        self._keys[layer] = self.cache.key(self.source, repo=self.repo, environment=self.config.name, sets=self.sets,
                                           cluster=layer)
        return render_source(self.source, repo=self.repo, environment=self.config.name, sets=self.sets, cluster=layer,
                             cache=self.cache)

    def validated(self, cluster: str) -> RenderResult:
        """`for_cluster`, validated offline (once per render; InvalidConfig on errors); a cached render
        keeps its findings, so the next run skips validation too."""
        rendered = self.for_cluster(cluster)
        known = OFFLINE_FINDINGS in rendered.derived
        findings = validate_rendered(rendered)
        key = self._keys.get(self.layer_of(cluster))
        if not known and key is not None and self.cache.knows(rendered):
            self.cache.store(key, rendered, findings=findings)
        return rendered

    def offline(self, cluster: str) -> list[Finding] | None:
        """The offline findings of `cluster`'s render when it passed offline validation, else None (the plan
        validates it, against the cluster's CRDs when only they may know a kind)."""
        findings = self.for_cluster(cluster).derived.get(OFFLINE_FINDINGS)
        return findings if findings is not None and not has_errors(findings) else None

    @property
    def distinct(self) -> int:
        """How many renders were made so far (benchmarks and tests read it)."""
        return len(self._renders)


def open_fleet(*, repo: str, ref: str | None, environment: str, sets: Sequence[str] = (), operator: Operator = Operator(),
               clusters: Sequence[str] = (), cache: ManifestCache | None = None) -> tuple[Renders, list[Target]]:
    """The environment's renders (through the manifest `cache`, when given) and the targets the operator and
    meshops.yaml name (nothing rendered yet)."""
    source = open_source(repo, ref)
    config = load_env_config(source.tree, environment)
    check_settings(config)
    targets = targets_of(config, operator, clusters=clusters)
    return Renders(source, config, sets=sets, repo=repo, cache=cache), targets


def check_offline(renders: Renders, targets: Sequence[Target]) -> None:
    """Everything that needs no cluster, before any is contacted: each render validated, and an owner id
    (one error, not one per cluster)."""
    for target in targets:
        try:
            renders.validated(target.cluster)
        except InvalidConfig as invalid:
            if not cluster_may_know(invalid):
                raise  # else each cluster's CRDs decide (`plan_rendered`)
    if targets:
        repo_id_of(targets[0], renders.source)


def plan_targets(renders: Renders, targets: Sequence[Target], *, parallel: int = DEFAULT_PARALLEL,
                 adopt: bool = False, prune_namespaces: bool = False,
                 retry: RetryPolicy = RetryPolicy(),
                 portable: Callable[[Planned], R] | None = None) -> list[TargetResult[Planned]] | list[TargetResult[R]]:
    """Each target planned against its own cluster, `parallel` at a time (`meshops diff`).

    With `portable` (what the caller keeps of a plan, as plain data), the clusters are shared between
    forked copies of this process, one per core (`fanout.fan_out_forked`), and each result is
    `portable(planned)`; without it, between threads of this process.
    """
    check_offline(renders, targets)

    def plan(target: Target) -> Planned:
        return plan_rendered(renders.for_cluster(target.cluster), target.connect(retry=retry), adopt=adopt,
                             prune_namespaces=prune_namespaces, offline=renders.offline(target.cluster), cache=renders.cache)

    if portable is not None:
        return fan_out_forked(targets, plan, portable, parallel=parallel)
    return fan_out(targets, plan, parallel=parallel)


def worst_exit_code(codes: Sequence[int]) -> int:
    """The exit code of a fan-out: the highest of its clusters' (0 < differences < invalid < unreachable < incomplete)."""
    return max(codes, default=0)
