"""The names meshops writes into clusters, and how it recognises what is its own — or may adopt.

Labels select (`kubectl get -l`, one label-selected LIST per kind); they are not proof of
ownership: anyone who can write an object can write two labels, and two repositories that both
call an environment `dev` write the same ones. Proof is the owner annotation
(`meshops.dev/owner: <repo-id>/<environment>`), written on every object meshops applies and
checked *together with* the labels: only a full match is updated or pruned. The repo id is the
operator's `--owner-id` or, by default, the repository's root commit (`pipeline.targets`).

Every writer in meshops — apply, rollout decisions, reconcile's Lease and the namespace it creates
— uses the one field manager `FIELD_MANAGER`, so server-side apply attributes every field meshops
set to one manager whatever process wrote it.

Adoption (`apply --adopt`, previewed by `meshops adopt`) takes over a live object git renders that
nobody else claims — created with kubectl, or labelled without an owner annotation — and writes
the labels and the owner annotation on it; an object whose owner annotation names another
repository or environment, or whose labels name another environment or tool, is never adopted
(`adoption_problem`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Callable

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "meshops"
ENVIRONMENT_LABEL = "meshops.dev/environment"
OWNER_ANNOTATION = "meshops.dev/owner"
REVISION_ANNOTATION = "meshops.dev/revision"
ROLLOUT_ANNOTATION = "meshops.dev/rollout"
# Per-object opt-out of pruning, as Argo CD's `Prune=false` and Flux's `prune: disabled`.
PRUNE_ANNOTATION = "meshops.dev/prune"
PRUNE_DISABLED = "disabled"
# One field manager for every write (apply, rollout decisions, Leases): fields one meshops
# process set are never a conflict for another.
FIELD_MANAGER = "meshops"
# What an operator may pass as --owner-id: it becomes the part of an annotation value before the
# environment, so no `/` (the separator) and nothing a label-value-minded tool would choke on.
OWNER_ID = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
# The field managers of people's kubectl commands. Adopting an object takes over the fields they
# set, as `kubectl apply --server-side` takes over `kubectl-client-side-apply`'s (its CSA->SSA
# upgrade); fields of controllers and other tools stay theirs.
ADOPTED_MANAGERS = ("kubectl-client-side-apply", "kubectl", "kubectl-create", "kubectl-edit", "kubectl-patch",
                    "kubectl-replace", "kubectl-label", "kubectl-annotate")

# A plan's overlay: given the rendered object and its live counterpart, the object to write
# (rollouts overlay the weights they own). The identity overlay writes what git says.
Overlay = Callable[[dict, "dict | None"], dict]


def no_overlay(desired: dict, live: dict | None) -> dict:
    """The overlay that changes nothing: git's object as rendered."""
    return desired


@dataclass(frozen=True)
class Owner:
    """Who owns what one apply writes: a repository's stable id and one of its environments."""

    repo: str
    environment: str

    @property
    def annotation(self) -> str:
        """The value of `meshops.dev/owner` on every object this owner applies."""
        return f"{self.repo}/{self.environment}"

    def __str__(self) -> str:
        return self.annotation


class Claim(str, Enum):
    """How a live object relates to one owner."""

    OURS = "ours"  # the labels and the owner annotation both name this owner
    # The labels name this environment but there is no owner annotation: applied by a meshops
    # from before owner annotations (or labelled by hand). See `is_owned` for what that allows.
    UNCLAIMED = "unclaimed"
    OTHERS = "others"  # anything else: not meshops's, another environment's or another repository's


def _metadata_map(obj: dict, name: str) -> dict:
    value = (obj.get("metadata") or {}).get(name)
    return value if isinstance(value, dict) else {}


def claim_of(obj: dict, owner: Owner) -> Claim:
    """Whether `obj` is `owner`'s, carries only its labels, or belongs to someone else."""
    labels = _metadata_map(obj, "labels")
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE or labels.get(ENVIRONMENT_LABEL) != owner.environment:
        return Claim.OTHERS
    recorded = _metadata_map(obj, "annotations").get(OWNER_ANNOTATION)
    if recorded is None:
        return Claim.UNCLAIMED
    return Claim.OURS if recorded == owner.annotation else Claim.OTHERS


def is_owned(obj: dict, owner: Owner, *, adopt: bool = False) -> bool:
    """Whether meshops may prune `obj` for `owner`: a full match, or an unclaimed object with `adopt`.

    Why unclaimed objects need `--adopt` to be pruned: a label-selected LIST finds every object
    labelled for the environment, whoever labelled it — another repository's `dev`, a copy made
    with `kubectl`, an object in istio-system someone tagged by hand. Deleting on labels alone is
    the bug owner annotations fix, so an object that only carries labels is shown as kept, and
    deleted only after a person read the diff and passed `--adopt`.
    """
    claim = claim_of(obj, owner)
    return claim is Claim.OURS or (adopt and claim is Claim.UNCLAIMED)


def ownership_problem(live: dict, owner: Owner, *, adopt: bool = False) -> str | None:
    """Why meshops must not update `live` for `owner`, or None when it may.

    An unclaimed object git renders under this very name and environment is updated, and the
    update writes the owner annotation ("adopted"): it is what a meshops before owner annotations
    applied for this environment, updating it is what git asks for, and nothing is deleted on the
    strength of labels. From then on every other repository sees it as owned. Anything else that
    is not `owner`'s is a conflict, unless `adopt` and nobody else claims it (`adoption_problem`).
    """
    claim = claim_of(live, owner)
    if claim is not Claim.OTHERS:
        return None
    problem = adoption_problem(live, owner)
    if adopt:
        return problem
    labels = _metadata_map(live, "labels")
    recorded = _metadata_map(live, "annotations").get(OWNER_ANNOTATION)
    if labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE:
        if recorded and labels.get(ENVIRONMENT_LABEL) == owner.environment:
            return f"owned by {recorded} ({OWNER_ANNOTATION}), not {owner}: another repository uses this environment name"
        if recorded:
            return f"owned by {recorded} ({OWNER_ANNOTATION}), not {owner}"
        return f"managed by meshops for environment {labels.get(ENVIRONMENT_LABEL)!r}, not {owner.environment!r}"
    manager = labels.get(MANAGED_BY_LABEL)
    adoptable = "" if problem else f"; `meshops adopt --env {owner.environment}` shows what taking it over changes"
    return f"exists and is not managed by meshops{f' (managed-by: {manager})' if manager else ''}{adoptable}"


def owner_selector(environment: str) -> str:
    """The label selector of the prune candidates of `environment` (candidates, not proof)."""
    return f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE},{ENVIRONMENT_LABEL}={environment}"


def adoption_problem(live: dict, owner: Owner) -> str | None:
    """Why meshops must not adopt `live` for `owner`, or None when it may.

    Adoption takes over an object nobody else claims: created with kubectl (no meshops labels, no
    other tool's `managed-by`, not written by a controller: ownerReferences), or labelled for this
    environment without an owner annotation. An object whose owner annotation names another
    repository or environment, or whose labels name another environment, is never adopted: two
    owners would fight over it, and the message names the owner.
    """
    metadata = live.get("metadata") or {}
    labels = _metadata_map(live, "labels")
    recorded = _metadata_map(live, "annotations").get(OWNER_ANNOTATION)
    if recorded is not None and recorded != owner.annotation:
        return (f"owned by {recorded} ({OWNER_ANNOTATION}), never adopted for {owner}: "
                "render it from that repository and environment only")
    manager = labels.get(MANAGED_BY_LABEL)
    if manager == MANAGED_BY_VALUE:
        if labels.get(ENVIRONMENT_LABEL) == owner.environment:
            return None
        return (f"owned by meshops environment {labels.get(ENVIRONMENT_LABEL)!r} ({ENVIRONMENT_LABEL}), never adopted "
                f"for {owner.environment!r}: render it from one environment only")
    if manager:
        return (f"managed by {manager!r} ({MANAGED_BY_LABEL}), never adopted: if {manager} no longer manages it, "
                f"remove the label first (kubectl label ... {MANAGED_BY_LABEL}-)")
    owners = metadata.get("ownerReferences") or []
    if owners:
        return f"written by a controller ({owners[0].get('kind')} {owners[0].get('name')}), never adopted"
    return None


def with_owner(obj: dict, owner: Owner) -> dict:
    """`obj` carrying `owner`'s annotation (a shallow copy: `obj` itself is left as it is).

    Whatever a template wrote under `meshops.dev/owner` is replaced: a repository cannot claim
    to be another.
    """
    metadata = obj.get("metadata") or {}
    annotations = metadata.get("annotations") if isinstance(metadata.get("annotations"), dict) else {}
    return {**obj, "metadata": {**metadata, "annotations": {**annotations, OWNER_ANNOTATION: owner.annotation}}}


def prune_disabled(obj: dict) -> bool:
    """Whether `obj` opted out of pruning (`meshops.dev/prune: disabled`)."""
    return _metadata_map(obj, "annotations").get(PRUNE_ANNOTATION) == PRUNE_DISABLED
