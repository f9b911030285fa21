"""Use case: apply an environment — plan against the cluster, let the caller review, write, announce.

`meshops apply` and `reconcile` (hence `meshops serve` and the controller) both call
`apply_environment`; the CLI passes a `review` that prints the plan and asks for confirmation,
reconcile passes none. Freeze windows are checked by the caller before this runs (before any read
of the cluster): `pipeline.freeze.check_freeze`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..apply.applier import Applier, Progress
from ..apply.brakes import PruneBrake, check_prune_brake
from ..apply.result import ApplyResult, Outcome
from ..cluster.target import Connection
from ..render import RenderResult
from ..validate.findings import Finding
from .manifest_cache import ManifestCache
from .plan import Planned, plan_rendered, require_namespaces


@dataclass(frozen=True)
class ApplyOptions:
    """How to write: for real or as a server dry run, taking over conflicts or not, adopting objects
    nobody claims or not, and what may be pruned."""

    dry_run: bool = False
    prune: bool = True
    force_conflicts: bool = False
    # A person's `--adopt` (after reading `meshops adopt` or `diff --adopt`): take over rendered objects
    # nobody else claims, and prune objects with the environment's labels but no owner annotation.
    adopt: bool = False
    prune_namespaces: bool = False  # Namespaces are kept unless this is set
    brake: PruneBrake = PruneBrake()  # the mass-prune brake; reconcile never releases it on its own


@dataclass
class Applied:
    """What an apply planned and what it did."""

    planned: Planned
    result: ApplyResult


def apply_environment(
    rendered: RenderResult,
    connection: Connection,
    *,
    options: ApplyOptions = ApplyOptions(),
    review: Callable[[Planned], None] | None = None,
    progress: Progress | None = None,
    offline: list[Finding] | None = None,
    cache: ManifestCache | None = None,
) -> Applied:
    """Plan `rendered` against `connection` (`offline`: its offline findings, when already known), check the
    brakes, let `review` see (or refuse) it, then write it."""
    planned = plan_for_apply(rendered, connection, options=options, offline=offline, cache=cache)
    if review is not None:
        review(planned)
    return write_plan(planned, options=options, progress=progress)


def plan_for_apply(rendered: RenderResult, connection: Connection, *, options: ApplyOptions = ApplyOptions(),
                   offline: list[Finding] | None = None, cache: ManifestCache | None = None) -> Planned:
    """The plan an apply with `options` would write, refused (nothing written) when a namespace is missing or
    the mass-prune brake holds; every apply (one cluster, or a wave of them) plans through here.
    `offline`/`cache`: as `plan_rendered` takes them (a cache hit's findings, the live findings kept)."""
    planned = plan_rendered(rendered, connection, adopt=options.adopt, prune_namespaces=options.prune_namespaces,
                            offline=offline, cache=cache)
    require_namespaces(planned)
    if options.prune:
        check_prune_brake(planned.plan, rendered=len(rendered.manifests), brake=options.brake)
    return planned


def write_plan(planned: Planned, *, options: ApplyOptions = ApplyOptions(), progress: Progress | None = None) -> Applied:
    """Write a plan made (and reviewed) before: what `apply_environment` does after its review."""
    rendered, connection = planned.rendered, planned.connection
    applier = Applier(
        connection.api,
        connection.discovery,
        owner=planned.owner,
        revision=rendered.revision,
        dry_run=options.dry_run,
        force_conflicts=options.force_conflicts,
        ignore=tuple(planned.ignore),
        overlay=planned.overlay,
        adopt=options.adopt,
        scope=planned.scope,
    )
    result = applier.run(planned.plan, prune=options.prune, progress=progress)
    if not options.dry_run:
        _announce_rollouts(planned, result)
    return Applied(planned, result)


def _announce_rollouts(planned: Planned, result: ApplyResult) -> int:
    """Events for the rollouts this apply started, restarted or cancelled (the overlay's decisions)."""
    from ..rollout.event_recorder import EventRecorder, announce_applied
    from ..rollout.router import ROUTERS_BY_KIND

    written = {r.key for r in result.results if r.outcome is Outcome.UPDATED}
    pairs = [(change.live, change.desired) for change in planned.plan.updates
             if change.key in written and change.key.kind in ROUTERS_BY_KIND]
    return announce_applied(EventRecorder(planned.api), pairs) if pairs else 0
