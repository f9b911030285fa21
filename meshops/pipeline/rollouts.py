"""Use case: drive an environment's active rollouts to their end (or for a while), on one cluster.

`meshops rollout run`, `meshops apply --wait`, `reconcile` (and so `meshops serve` and the
controller) all drive rollouts through `drive_rollouts`: it finds the active rollouts, picks the
metrics source (the `--prometheus-url` override or the environment's `prometheus:` settings) and
runs the rollout driver, one thread per rollout. Printing is the caller's, through `on_tick`.
What the operator decides (Prometheus credentials, the secrets directory) arrives as one
`pipeline.operator.Operator`. Rollouts are acted on for one `Owner` (this repository's
environment): the store finds them by labels and keeps only those whose route object (VirtualService
or HTTPRoute) carries the owner's annotation (or none yet), so another repository's environment of the same name is
never driven, paused or promoted from here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

from ..cluster.target import Connection
from ..metrics.prometheus import PrometheusClient
from ..metrics.source import MetricsSource
from ..model.identity import Owner
from ..source.envconfig import EnvConfig
from .operator import Operator
from .prometheus import prometheus_access

if TYPE_CHECKING:
    from ..rollout.driver import Tick
    from ..rollout.notifier import Notifier
    from ..rollout.store import RolloutRef, RolloutStore


def metrics_source(config: EnvConfig, *, operator: Operator | None = None) -> MetricsSource:
    """Where analysis gets its numbers: meshops.yaml's `prometheus:` under the operator's settings."""
    return PrometheusClient.from_access(prometheus_access(config, (operator or Operator()).prometheus))


def notifier_of(config: EnvConfig, *, operator: Operator | None = None) -> Notifier | None:
    """The environment's notification receivers with their secrets read (None: it has none)."""
    from ..rollout.notifier import Notifier
    from ..rollout.receivers import receivers

    listed = receivers(config)
    if not listed:
        return None
    return Notifier(listed, secrets=(operator or Operator()).secrets, environment=config.name)


def check_rollout_settings(config: EnvConfig, *, operator: Operator | None = None) -> None:
    """Everything driving rollouts needs, checked before a command writes anything: Prometheus
    (url, credentials, CA) when one is configured, and the notification receivers (their secrets).
    An environment without a Prometheus may still have nothing to roll out; driving one that has
    something says so then."""
    operator = operator or Operator()
    if config.section("prometheus") is not None or operator.prometheus.url:
        metrics_source(config, operator=operator)
    notifier_of(config, operator=operator)


def rollout_store(connection: Connection, *, owner: Owner | None) -> RolloutStore:
    """`owner`'s rollouts on `connection`'s cluster (None: every environment's by labels, for reads only),
    on every routed kind it serves (VirtualServices, HTTPRoutes); ClusterError when it serves neither."""
    from ..rollout.store import RolloutStore

    return RolloutStore.connect(connection.api, connection.discovery, owner=owner)


def active_rollouts(store: RolloutStore, environment: str, *, notifier: Notifier | None = None) -> list[RolloutRef]:
    """The environment's rollouts that are progressing or paused — or ended with decisions `notifier`'s
    receivers were never told about (a driver killed right after writing them) — in one LIST."""
    refs = []
    for live in store.list(environment):
        state = live.state
        if state is None:
            continue
        pending = notifier is not None and notifier.wants(state.service) and bool(state.pending_notifications)
        if state.active or pending:
            refs.append(live.ref)
    return refs


def drive_rollouts(
    connection: Connection,
    config: EnvConfig,
    *,
    owner: Owner,
    refs: Iterable[RolloutRef] | None = None,
    store: RolloutStore | None = None,
    operator: Operator | None = None,
    notifier: Notifier | None = None,
    wait: bool = True,
    timeout: float | None = None,
    on_tick: Callable[[Tick], None] | None = None,
) -> list[Tick]:
    """Drive `refs` (default: every active rollout of `owner`'s environment); the last tick of each.

    `store` (default: `owner`'s) must be `owner`'s. `notifier` (default: the environment's receivers,
    secrets read from `operator`'s directory) is told every decision. Analysis asks the Prometheus of
    `connection`'s cluster (its `clusters:` entry's, else the environment's; the operator's URL wins)."""
    from ..rollout.driver import RolloutEngine
    from ..rollout.event_recorder import EventRecorder
    from .targets import config_of

    config = config_of(config, connection.target)
    store = store or rollout_store(connection, owner=owner)
    if store.owner != owner:
        raise ValueError(f"a rollout store for {store.owner} cannot drive {owner}'s rollouts")
    notifier = notifier if notifier is not None else notifier_of(config, operator=operator)
    refs = list(refs) if refs is not None else active_rollouts(store, config.name, notifier=notifier)
    if not refs:
        return []
    engine = RolloutEngine(store=store, config=config, metrics=metrics_source(config, operator=operator),
                           events=EventRecorder(connection.api), on_tick=on_tick, notifier=notifier)
    return engine.run(refs, wait=wait, timeout=timeout)
