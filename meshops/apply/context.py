"""What every apply verb shares: the cluster, the environment, and how a write is addressed and stamped.

`ApplyContext` is handed to each verb (`create`, `update`, `prune`); the verbs return either an
outcome or `Raced` — "the object changed between plan and write" — and the applier decides what
to do about a race (re-plan with `replan`, then write again), so no verb calls another.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from ..cluster.api import ApiError, KubeApi
from ..cluster.discovery import Discovery, Resource
from ..diff.normalize import IgnoreRule
from ..diff.plan import Change, adoptable, plan_object
from ..model.errors import ClusterError
from ..model.identity import FIELD_MANAGER, REVISION_ANNOTATION, Overlay, Owner, no_overlay, with_owner
from ..model.scope import Scope
from .result import Outcome

# What a verb returns when it is done with an object: the outcome and a message for the report.
Done = tuple[Outcome, str]


@dataclass(frozen=True)
class Raced:
    """The object changed under us: `live` is what is there now (None: it is gone)."""

    live: dict | None


@dataclass
class ApplyContext:
    """One apply of one environment to one cluster: the settings every write obeys."""

    api: KubeApi
    discovery: Discovery
    owner: Owner  # the repository and environment every write is recorded for, and every prune checked against
    revision: str | None
    dry_run: bool = False
    force_conflicts: bool = False
    ignore: tuple[IgnoreRule, ...] = ()
    overlay: Overlay = no_overlay
    # `--adopt`: take over objects git renders that nobody else claims (kubectl's fields included),
    # and prune objects that carry the environment's labels but no owner annotation.
    adopt: bool = False
    scope: Scope | None = None  # the plan's scope (a Namespace the operator names is adoptable: `adoptable`)

    @property
    def environment(self) -> str:
        return self.owner.environment

    def query(self, **extra: object) -> dict:
        """Query parameters of a write: meshops's field manager, and dryRun when dry-running."""
        query = {"fieldManager": FIELD_MANAGER, **extra}
        if self.dry_run:
            query["dryRun"] = "All"
        return query

    def resource(self, change: Change) -> Resource:
        """Where the object of `change` lives on the API server."""
        obj = change.desired or change.live or {}
        resource = self.discovery.resolve(obj.get("apiVersion", ""), change.key.kind)
        if resource is None:
            raise ClusterError(f"{change.key}: {obj.get('apiVersion')} is not served by the cluster", hint="install the CRD first")
        return resource

    def stamped(self, body: dict) -> dict:
        """A copy of `body` carrying its owner and the revision it is applied from."""
        stamped = copy.deepcopy(with_owner(body, self.owner))
        if self.revision:
            stamped.setdefault("metadata", {}).setdefault("annotations", {})[REVISION_ANNOTATION] = self.revision
        return stamped

    def read(self, resource: Resource, change: Change) -> dict | None:
        """The object as it is now, or None when it does not exist."""
        try:
            return self.api.request("GET", resource.item_path(change.key.namespace, change.key.name))
        except ApiError as error:
            if error.not_found:
                return None
            raise

    def replan(self, change: Change, live: dict | None) -> Change:
        """The same object planned again against what is live now (the plan's own classification)."""
        if change.manifest is None:
            return change
        adopt = self.adopt if self.scope is None else adoptable(change.key, adopt=self.adopt, scope=self.scope)
        return plan_object(change.manifest, live, owner=self.owner, ignore=list(self.ignore), overlay=self.overlay,
                           adopt=adopt)


def failed(error: ApiError) -> Done:
    """The report of a write the server refused for good."""
    return Outcome.FAILED, f"{error.status} {error.reason}: {error.server_message}"
