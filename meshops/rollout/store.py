"""Rollouts in the cluster: find them, read them, and write each decision as one guarded request.

A rollout is the route object it steers — a VirtualService or an HTTPRoute, each with its router
(`router.ROUTERS`): the `meshops.dev/rollout` annotation (see `state`) plus the routes of the
steered rules. A store serves every routed kind the cluster serves (one LIST per kind to find
rollouts); a `RolloutRef` names the kind with the namespace and name. `RolloutStore.write` sends ONE JSON Patch that replaces the rules' routes (the
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
from ..model.steering import BY_SERVICE, TOTAL_WEIGHT
from .router import ROUTERS, VIRTUAL_SERVICE_ROUTER, Router, router_for
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
    """Which route object (a VirtualService unless said otherwise) a rollout steers."""

    namespace: str
    name: str
    kind: str = VIRTUAL_SERVICE[1]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def described(self) -> str:
        """`VirtualService shop/cart`: the object as messages name it."""
        return f"{self.kind} {self}"


@dataclass(frozen=True)
class LiveRollout:
    """A VirtualService as read, with its parsed rollout state (None: no rollout recorded)."""

    ref: RolloutRef
    obj: dict
    state: RolloutState | None

    @property
    def resource_version(self) -> str:
        return str((self.obj.get("metadata") or {}).get("resourceVersion") or "")

    def weights(self, router: Router | None = None) -> dict[str, int]:
        """What the steered rules route now."""
        if self.state is None:
            return {}
        router = router or router_for(self.ref.kind, by_service=self.state.split_by == BY_SERVICE)
        return router.weights(self.obj, self.state.rules)


class LostRace(Exception):
    """The VirtualService changed between our read and our write: read again and decide again."""


class NotOwned(UsageError):
    """A rollout's VirtualService belongs to another repository (or environment): not read for, never written."""


class RolloutStore:
    """Rollout reads and writes against one cluster."""

    def __init__(self, api: KubeApi, resource: Resource, router: Router = VIRTUAL_SERVICE_ROUTER, *,
                 owner: Owner | None = None, more: dict[str, tuple[Resource, Router]] | None = None) -> None:
        self.api = api
        self.resource = resource  # of the first routed kind (VirtualService when served)
        self.router = router
        self.owner = owner  # None: labels alone (reads only)
        # kind -> (its resource, its router): every routed kind the cluster serves.
        self.kinds: dict[str, tuple[Resource, Router]] = {router.kind: (resource, router), **(more or {})}

    @classmethod
    def connect(cls, api: KubeApi, discovery: Discovery | None = None, *, owner: Owner | None = None) -> RolloutStore:
        """The store for every routed kind the cluster serves, at its preferred version (ClusterError: none)."""
        discovery = discovery or Discovery(api)
        served = [(discovery.preferred(group, kind), router) for (group, kind), router in ROUTERS.items()]
        served = [(resource, router) for resource, router in served if resource is not None]
        if not served:
            raise ClusterError(f"the cluster ({api.label}) serves neither VirtualServices nor HTTPRoutes",
                               hint="install Istio's CRDs (or the Gateway API's)")
        (resource, router), rest = served[0], served[1:]
        return cls(api, resource, router, owner=owner, more={other.kind: (res, other) for res, other in rest})

    def router_of(self, ref: RolloutRef, state: RolloutState | None = None) -> Router:
        """The router of `ref`'s kind (for a rollout whose versions are Services, its by-Service router)."""
        router = self._kind(ref)[1]
        return router_for(ref.kind, by_service=True) if state is not None and state.split_by == BY_SERVICE else router

    def _kind(self, ref: RolloutRef) -> tuple[Resource, Router]:
        try:
            return self.kinds[ref.kind]
        except KeyError:
            raise ClusterError(f"the cluster ({self.api.label}) does not serve {ref.kind}s, which {ref} is",
                               hint="install the CRDs of that kind") from None

    def owns(self, obj: dict) -> bool:
        """Whether this store may act on `obj`: it has no owner, or `obj` is its owner's (or unclaimed)."""
        return self.owner is None or claim_of(obj, self.owner) is not Claim.OTHERS

    def _check_owner(self, ref: RolloutRef, obj: dict) -> None:
        if not self.owns(obj):
            raise NotOwned(f"{ref.described} is not this repository's rollout: {ownership_problem(obj, self.owner)}",
                           obj=str(ref), hint="drive it from the repository that applied it; nothing was written")

    def read(self, ref: RolloutRef) -> LiveRollout:
        try:
            obj = self.api.request("GET", self._kind(ref)[0].item_path(ref.namespace, ref.name))
        except ApiError as error:
            if error.not_found:
                raise UsageError(f"{ref.described} does not exist", obj=str(ref),
                                 hint="check the service name and the environment's namespace") from None
            raise ClusterError(f"reading {ref.described}: {error.status} {error.reason}: {error.server_message}") from None
        self._check_owner(ref, obj)
        return LiveRollout(ref, obj, state_of(obj))

    def find(self, namespace: str, name: str) -> LiveRollout:
        """The route object `namespace/name` of whichever routed kind has it (UsageError: none has)."""
        missing: UsageError | None = None
        for kind in self.kinds:
            try:
                return self.read(RolloutRef(namespace, name, kind))
            except NotOwned:
                raise
            except UsageError as error:
                missing = missing or error
        raise missing or UsageError(f"{namespace}/{name} does not exist", obj=f"{namespace}/{name}")

    def list(self, environment: str) -> list[LiveRollout]:
        """Every route object meshops applied for `environment` that carries a rollout state and that this
        store may act on (one LIST per routed kind)."""
        found = []
        for kind, (resource, _router) in self.kinds.items():
            for obj in list_objects(self.api, resource, label_selector=owner_selector(environment)):
                metadata = obj.get("metadata") or {}
                state = state_of(obj)
                if state is not None and self.owns(obj):
                    ref = RolloutRef(metadata.get("namespace") or "", metadata.get("name") or "", kind)
                    found.append(LiveRollout(ref, obj, state))
        return sorted(found, key=lambda live: live.ref)

    def write(self, live: LiveRollout, state: RolloutState, *, weights: Mapping[str, int]) -> LiveRollout:
        """Route `weights` (summing to 100) and record `state`, in one request guarded by resourceVersion."""
        if sum(weights.values()) != TOTAL_WEIGHT:
            raise ValueError(f"refusing to write weights that do not sum to {TOTAL_WEIGHT}: {dict(weights)}")
        route_ops = self.router_of(live.ref, state).route_ops(live.obj, state.rules, weights, stage=state.stage())
        patch = [{"op": "test", "path": "/metadata/resourceVersion", "value": live.resource_version},
                 *route_ops, self._annotation_op(live, state)]
        return self._patch(live, patch)

    def _patch(self, live: LiveRollout, patch: list[dict]) -> LiveRollout:
        self._check_owner(live.ref, live.obj)  # the `test` of resourceVersion makes the check hold at the write
        path = self._kind(live.ref)[0].item_path(live.ref.namespace, live.ref.name)
        try:
            written = self.api.request("PATCH", path, body=patch, content_type=JSON_PATCH,
                                       query={"fieldManager": FIELD_MANAGER})
        except ApiError as error:
            # 409: a resourceVersion conflict; 422: a failed `test` op (what a changed object gives).
            if error.status in (409, 422) or error.not_found:
                if error.status == 422 and self._unchanged_since(live):
                    raise ClusterError(f"the API server refused the rollout write to {live.ref}: {error.server_message}") from None
                raise LostRace(str(live.ref)) from None
            raise ClusterError(f"writing {live.ref.described}: {error.status} {error.reason}: {error.server_message}") from None
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
        raise ClusterError(f"{ref.described} changed under each of {MAX_RACES} attempts to write a decision",
                           hint="something else keeps writing it; try again")

    def _unchanged_since(self, live: LiveRollout) -> bool:
        """Whether the object still has the resourceVersion we decided on (then a 422 is a real refusal)."""
        try:
            return self.read(live.ref).resource_version == live.resource_version
        except UsageError:
            return False

