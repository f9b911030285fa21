"""Rollouts in the cluster: find them, read them, and write each decision as one guarded request.

A rollout is its VirtualService: the `meshops.dev/rollout` annotation (see `state`) plus the routes
of the steered rules. `RolloutStore.write` sends ONE JSON Patch that replaces the rules' routes (the
router's operations) and the annotation together, after a `test` of the `resourceVersion` it decided on — so a decision
taken on a stale read never lands (anyone else's write in between, another meshops included,
makes the patch fail and the caller re-reads and decides again). The patch is sent with field
manager `meshops`, the manager apply uses: apply then treats these fields as its own.

A store made for an `Owner` (what every use case that drives or commands rollouts makes) sees and
writes only that owner's rollouts: labels find the candidates, the `meshops.dev/owner` annotation
decides (`model.identity.claim_of`; an object without one, from before owner annotations, is
still the environment's). Two repositories that both call an environment `dev` never drive each
other's canaries. A store without an owner reads by labels alone (the read-only dashboard).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping

from ..cluster.api import JSON_PATCH, ApiError, KubeApi
from ..cluster.discovery import Discovery, Resource
from ..model.identity import FIELD_MANAGER, ROLLOUT_ANNOTATION, Claim, Owner, claim_of, ownership_problem, owner_selector
from ..cluster.live import list_objects
from ..model.errors import ClusterError, UsageError
from ..model.steering import TOTAL_WEIGHT
from .router import VIRTUAL_SERVICE_ROUTER, Router
from .state import RolloutState, state_of

if TYPE_CHECKING:
    from .decide import Decision
    from .event_recorder import EventRecorder

# Write races lost in a row before giving up (someone keeps writing the VirtualService).
MAX_RACES = 5
VIRTUAL_SERVICE = ("networking.istio.io", "VirtualService")


def _pointer(text: str) -> str:
    """`text` escaped as one JSON Pointer segment (RFC 6901)."""
    return text.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True, order=True)
class RolloutRef:
    """Which VirtualService a rollout steers."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class LiveRollout:
    """A VirtualService as read, with its parsed rollout state (None: no rollout recorded)."""

    ref: RolloutRef
    obj: dict
    state: RolloutState | None

    @property
    def resource_version(self) -> str:
        return str((self.obj.get("metadata") or {}).get("resourceVersion") or "")

    def weights(self, router: Router = VIRTUAL_SERVICE_ROUTER) -> dict[str, int]:
        """What the steered rules route now."""
        return router.weights(self.obj, self.state.rules) if self.state else {}


class LostRace(Exception):
    """The VirtualService changed between our read and our write: read again and decide again."""


class NotOwned(UsageError):
    """A rollout's VirtualService belongs to another repository (or environment): not read for, never written."""


class RolloutStore:
    """Rollout reads and writes against one cluster."""

    def __init__(self, api: KubeApi, resource: Resource, router: Router = VIRTUAL_SERVICE_ROUTER, *,
                 owner: Owner | None = None) -> None:
        self.api = api
        self.resource = resource
        self.router = router
        self.owner = owner  # None: labels alone (reads only)

    @classmethod
    def connect(cls, api: KubeApi, discovery: Discovery | None = None, *, owner: Owner | None = None) -> RolloutStore:
        """The store for the VirtualService version the cluster prefers (ClusterError if Istio is absent)."""
        resource = (discovery or Discovery(api)).preferred(*VIRTUAL_SERVICE)
        if resource is None:
            raise ClusterError(f"the cluster ({api.label}) does not serve VirtualServices", hint="install Istio's CRDs")
        return cls(api, resource, owner=owner)

    def owns(self, obj: dict) -> bool:
        """Whether this store may act on `obj`: it has no owner, or `obj` is its owner's (or unclaimed)."""
        return self.owner is None or claim_of(obj, self.owner) is not Claim.OTHERS

    def _check_owner(self, ref: RolloutRef, obj: dict) -> None:
        if not self.owns(obj):
            raise NotOwned(f"VirtualService {ref} is not this repository's rollout: {ownership_problem(obj, self.owner)}",
                           obj=str(ref), hint="drive it from the repository that applied it; nothing was written")

    def read(self, ref: RolloutRef) -> LiveRollout:
        try:
            obj = self.api.request("GET", self.resource.item_path(ref.namespace, ref.name))
        except ApiError as error:
            if error.not_found:
                raise UsageError(f"VirtualService {ref} does not exist", obj=str(ref),
                                 hint="check the service name and the environment's namespace") from None
            raise ClusterError(f"reading VirtualService {ref}: {error.status} {error.reason}: {error.server_message}") from None
        self._check_owner(ref, obj)
        return LiveRollout(ref, obj, state_of(obj))

    def list(self, environment: str) -> list[LiveRollout]:
        """Every VirtualService meshops applied for `environment` that carries a rollout state and that this
        store may act on (one LIST)."""
        found = []
        for obj in list_objects(self.api, self.resource, label_selector=owner_selector(environment)):
            metadata = obj.get("metadata") or {}
            state = state_of(obj)
            if state is not None and self.owns(obj):
                found.append(LiveRollout(RolloutRef(metadata.get("namespace") or "", metadata.get("name") or ""), obj, state))
        return sorted(found, key=lambda live: live.ref)

    def write(self, live: LiveRollout, state: RolloutState, *, weights: Mapping[str, int]) -> LiveRollout:
        """Route `weights` (summing to 100) and record `state`, in one request guarded by resourceVersion."""
        if sum(weights.values()) != TOTAL_WEIGHT:
            raise ValueError(f"refusing to write weights that do not sum to {TOTAL_WEIGHT}: {dict(weights)}")
        route_ops = self.router.route_ops(live.obj, state.rules, weights)
        patch = [{"op": "test", "path": "/metadata/resourceVersion", "value": live.resource_version},
                 *route_ops, self._annotation_op(live, state)]
        return self._patch(live, patch)

    def _patch(self, live: LiveRollout, patch: list[dict]) -> LiveRollout:
        self._check_owner(live.ref, live.obj)  # the `test` of resourceVersion makes the check hold at the write
        path = self.resource.item_path(live.ref.namespace, live.ref.name)
        try:
            written = self.api.request("PATCH", path, body=patch, content_type=JSON_PATCH,
                                       query={"fieldManager": FIELD_MANAGER})
        except ApiError as error:
            # 409: a resourceVersion conflict; 422: a failed `test` op (what a changed object gives).
            if error.status in (409, 422) or error.not_found:
                if error.status == 422 and self._unchanged_since(live):
                    raise ClusterError(f"the API server refused the rollout write to {live.ref}: {error.server_message}") from None
                raise LostRace(str(live.ref)) from None
            raise ClusterError(f"writing VirtualService {live.ref}: {error.status} {error.reason}: {error.server_message}") from None
        return LiveRollout(live.ref, written, state_of(written))

    def write_state(self, live: LiveRollout, state: RolloutState) -> LiveRollout:
        """Record `state` alone (no route change; e.g. what was notified), guarded by resourceVersion."""
        patch = [{"op": "test", "path": "/metadata/resourceVersion", "value": live.resource_version},
                 self._annotation_op(live, state)]
        return self._patch(live, patch)

    def _annotation_op(self, live: LiveRollout, state: RolloutState) -> dict:
        annotations = (live.obj.get("metadata") or {}).get("annotations")
        value = state.to_annotation()
        if isinstance(annotations, dict):
            return {"op": "add", "path": f"/metadata/annotations/{_pointer(ROLLOUT_ANNOTATION)}", "value": value}
        return {"op": "add", "path": "/metadata/annotations", "value": {ROLLOUT_ANNOTATION: value}}

    def update(
        self, ref: RolloutRef, decide: Callable[[LiveRollout], Decision | None], *, events: EventRecorder | None = None
    ) -> tuple[LiveRollout, Decision | None]:
        """Read, decide, write; on a lost race read and decide again. The Event follows a successful write."""
        for _ in range(MAX_RACES):
            live = self.read(ref)
            decision = decide(live)
            if decision is None:
                return live, None
            try:
                written = self.write(live, decision.state, weights=decision.weights)
            except LostRace:
                continue
            if events is not None:
                events.record(written.obj, reason=decision.reason, message=decision.message)
            return written, decision
        raise ClusterError(f"VirtualService {ref} changed under each of {MAX_RACES} attempts to write a decision",
                           hint="something else keeps writing it; try again")

    def _unchanged_since(self, live: LiveRollout) -> bool:
        """Whether the object still has the resourceVersion we decided on (then a 422 is a real refusal)."""
        try:
            return self.read(live.ref).resource_version == live.resource_version
        except UsageError:
            return False

