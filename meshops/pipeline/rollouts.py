"""Use case: drive an environment's active rollouts to their end (or for a while), on one cluster.

`meshops rollout run`, `meshops apply --wait`, `reconcile` (and so `meshops serve` and the
controller) all drive rollouts through `drive_rollouts`: it finds the active rollouts, picks the
metrics source (the `--prometheus-url` override or the environment's `prometheus:` settings) and
runs the rollout driver, one thread per rollout. Printing is the caller's, through `on_tick`.
"""
from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Callable, Iterable

from ..cluster.target import Connection
from ..metrics.prometheus import DEFAULT_TIMEOUT, PrometheusClient
from ..metrics.source import MetricsSource
from ..model.durations import parse_duration
from ..model.errors import ConfigError
from ..source.envconfig import EnvConfig

if TYPE_CHECKING:
    from ..rollout.driver import Tick
    from ..rollout.store import RolloutRef, RolloutStore


def metrics_source(config: EnvConfig, *, prometheus_url: str | None = None) -> MetricsSource:
    """Where analysis gets its numbers: `prometheus_url` when given, else meshops.yaml's `prometheus:`."""
    return PrometheusClient(url=prometheus_url) if prometheus_url else prometheus_from_config(config)


def prometheus_from_config(config: EnvConfig) -> PrometheusClient:
    """The client for an environment's `prometheus:` section of meshops.yaml."""
    section = config.section("prometheus") or {}
    url = section.get("url")
    if not url:
        raise ConfigError(
            "prometheus.url is not set, so rollouts cannot be analysed",
            location=config.location("prometheus"),
            hint="add prometheus: {url: http://prometheus.istio-system:9090}",
        )
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            f"prometheus.url {url!r} is not an http(s) URL",
            location=config.location("prometheus", "url"),
            hint="write it as http://host:9090",
        )
    timeout = section.get("timeout")
    seconds = parse_duration(timeout) if timeout else DEFAULT_TIMEOUT
    if seconds <= 0:
        raise ConfigError("prometheus.timeout must be longer than 0", location=config.location("prometheus", "timeout"))
    return PrometheusClient(url=url, timeout=seconds)


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
