"""Use case: drive an environment's active rollouts to their end (or for a while), on one cluster.

`meshops rollout run`, `meshops apply --wait`, `reconcile` (and so `meshops serve` and the
controller) all drive rollouts through `drive_rollouts`: it finds the active rollouts, picks the
metrics source (the `--prometheus-url` override or the environment's `prometheus:` settings) and
runs the rollout driver, one thread per rollout. Printing is the caller's, through `on_tick`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

from ..cluster.target import Connection
from ..metrics.source import MetricsSource
from ..source.envconfig import EnvConfig

if TYPE_CHECKING:
    from ..rollout.driver import Tick
    from ..rollout.store import RolloutRef, RolloutStore


def metrics_source(config: EnvConfig, *, prometheus_url: str | None = None) -> MetricsSource:
    """Where analysis gets its numbers: `prometheus_url` when given, else meshops.yaml's `prometheus:`."""
    from ..metrics.prometheus import PrometheusClient, client_from_config

    return PrometheusClient(url=prometheus_url) if prometheus_url else client_from_config(config)


def rollout_store(connection: Connection) -> RolloutStore:
    """The rollouts of `connection`'s cluster (ClusterError when Istio's VirtualServices are not served)."""
    from ..rollout.store import RolloutStore

    return RolloutStore.connect(connection.api, connection.discovery)


def active_rollouts(store: RolloutStore, environment: str) -> list[RolloutRef]:
    """The environment's rollouts that are progressing or paused (one LIST)."""
    return [live.ref for live in store.list(environment) if live.state is not None and live.state.active]


def drive_rollouts(
    connection: Connection,
    config: EnvConfig,
    *,
    refs: Iterable[RolloutRef] | None = None,
    store: RolloutStore | None = None,
    prometheus_url: str | None = None,
    wait: bool = True,
    timeout: float | None = None,
    on_tick: Callable[[Tick], None] | None = None,
) -> list[Tick]:
    """Drive `refs` (default: every active rollout of the environment); the last tick of each."""
    from ..rollout.driver import RolloutEngine
    from ..rollout.event_recorder import EventRecorder

    store = store or rollout_store(connection)
    refs = list(refs) if refs is not None else active_rollouts(store, config.name)
    if not refs:
        return []
    engine = RolloutEngine(store=store, config=config, metrics=metrics_source(config, prometheus_url=prometheus_url),
                           events=EventRecorder(connection.api), on_tick=on_tick)
    return engine.run(refs, wait=wait, timeout=timeout)
