"""The names meshops writes into clusters, and how it recognises what is its own — or may adopt.

Labels select (`kubectl get -l`, one label-selected LIST per kind); they are not proof of
ownership on their own. Adoption (`apply --adopt`) takes over objects nobody claims, never one
another meshops environment or tool claims (`adoption_problem`). Every writer in meshops — apply, rollout decisions, reconcile's Lease and
the namespace it creates — uses the one field manager `FIELD_MANAGER`, so server-side apply
attributes every field meshops set to one manager whatever process wrote it.
"""
from __future__ import annotations

from typing import Callable

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "meshops"
ENVIRONMENT_LABEL = "meshops.dev/environment"
REVISION_ANNOTATION = "meshops.dev/revision"
ROLLOUT_ANNOTATION = "meshops.dev/rollout"
# One field manager for every write (apply, rollout decisions, Leases): fields one meshops
# process set are never a conflict for another.
FIELD_MANAGER = "meshops"
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


def is_owned(obj: dict, environment: str) -> bool:
    """Whether meshops owns `obj` for `environment`."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE and labels.get(ENVIRONMENT_LABEL) == environment


def owner_selector(environment: str) -> str:
    """The label selector of the prune candidates of `environment` (candidates, not proof)."""
    return f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE},{ENVIRONMENT_LABEL}={environment}"


def adoption_problem(live: dict, environment: str) -> str | None:
    """Why meshops must not adopt `live` for `environment`, or None when it may.

    Adoption takes over an object nobody claims: created with kubectl, carrying no meshops labels and
    no other tool's `managed-by`, and not written by a controller (ownerReferences). An object another
    meshops environment (or repository) owns is never adopted: two environments would fight over it.
    """
    metadata = live.get("metadata") or {}
    labels = metadata.get("labels") or {}
    manager = labels.get(MANAGED_BY_LABEL)
    if manager == MANAGED_BY_VALUE:
        if labels.get(ENVIRONMENT_LABEL) == environment:
            return None
        return (f"owned by meshops environment {labels.get(ENVIRONMENT_LABEL)!r}, never adopted by {environment!r}: "
                "render it from one environment only")
    if manager:
        return (f"managed by {manager!r} ({MANAGED_BY_LABEL}), never adopted: if {manager} no longer manages it, "
                f"remove the label first (kubectl label ... {MANAGED_BY_LABEL}-)")
    owners = metadata.get("ownerReferences") or []
    if owners:
        return f"written by a controller ({owners[0].get('kind')} {owners[0].get('name')}), never adopted"
    return None


def ownership_problem(live: dict, environment: str, *, adopt: bool = False) -> str | None:
    """Why meshops must not write `live` for `environment`, or None when it owns it (or, with `adopt`,
    may take it over: see `adoption_problem`)."""
    if is_owned(live, environment):
        return None
    if adopt:
        return adoption_problem(live, environment)
    labels = (live.get("metadata") or {}).get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE:
        return f"managed by meshops for environment {labels.get(ENVIRONMENT_LABEL)!r}, not {environment!r}"
    manager = labels.get(MANAGED_BY_LABEL)
    hint = "" if manager or adoption_problem(live, environment) else "; `meshops adopt` shows what taking it over changes"
    return f"exists and is not managed by meshops{f' (managed-by: {manager})' if manager else ''}{hint}"


def adopting(live: dict | None, environment: str) -> bool:
    """Whether writing `live` for `environment` takes it over (it exists and is not meshops's yet)."""
    return live is not None and not is_owned(live, environment)
