"""The names meshops writes into clusters, and how it recognises what is its own.

Labels select (`kubectl get -l`, one label-selected LIST per kind); they are not proof of
ownership on their own. Every writer in meshops — apply, rollout decisions, reconcile's Lease and
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
# The name of an environment's only cluster when meshops.yaml does not list clusters; part of the
# names of per-cluster records (Leases), so it never changes.
DEFAULT_CLUSTER = "default"

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


def ownership_problem(live: dict, environment: str) -> str | None:
    """Why meshops must not write `live` for `environment`, or None when it owns it."""
    if is_owned(live, environment):
        return None
    labels = (live.get("metadata") or {}).get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE:
        return f"managed by meshops for environment {labels.get(ENVIRONMENT_LABEL)!r}, not {environment!r}"
    manager = labels.get(MANAGED_BY_LABEL)
    return f"exists and is not managed by meshops{f' (managed-by: {manager})' if manager else ''}"
