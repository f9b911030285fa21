"""Every built-in kind the sandbox serves, and the per-kind hooks of the write path, as tables.

The rows live where their kind's rules are written (`core`: namespaces, config, services, pods …;
`workloads`: apps/batch; `rbac_kinds`; `reviews`: the create-only review APIs); this module only
joins them, so the registry and the write path each import one table.
"""
from __future__ import annotations

from typing import Callable

from .core import CHECKS as CORE_CHECKS, CORE_TYPES, DEFAULTS as CORE_DEFAULTS, UPDATE_CHECKS as CORE_UPDATE_CHECKS
from .rbac_kinds import RBAC_CHECKS, RBAC_TYPES, RBAC_UPDATE_CHECKS
from .resources import ResourceType
from .reviews import REVIEW_TYPES
from .workloads import WORKLOAD_CHECKS, WORKLOAD_DEFAULTS, WORKLOAD_TYPES, WORKLOAD_UPDATE_CHECKS

Causes = list[dict[str, str]]
GroupResource = tuple[str, str]

BUILTIN_TYPES: tuple[ResourceType, ...] = CORE_TYPES + WORKLOAD_TYPES + RBAC_TYPES + REVIEW_TYPES

# (group, plural) -> defaults filled on every write (obj, old).
DEFAULTS: dict[GroupResource, Callable[[dict, "dict | None"], None]] = {**CORE_DEFAULTS, **WORKLOAD_DEFAULTS}
# (group, plural) -> checks of the object alone; each problem is a cause of one 422.
CHECKS: dict[GroupResource, Callable[[dict], Causes]] = {**CORE_CHECKS, **WORKLOAD_CHECKS, **RBAC_CHECKS}
# (group, plural) -> checks of an update against the stored object (immutable fields).
UPDATE_CHECKS: dict[GroupResource, Callable[[dict, dict], Causes]] = {
    **CORE_UPDATE_CHECKS, **WORKLOAD_UPDATE_CHECKS, **RBAC_UPDATE_CHECKS}
# Kinds only ever created, never stored: answered by `reviews.Reviews`.
REVIEW_RESOURCES: frozenset[GroupResource] = frozenset(t.group_resource for t in REVIEW_TYPES)
