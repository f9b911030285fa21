"""What a read of the cluster covered, so validation can tell "there is none" from "we did not look".

(Not to be confused with `model.scope`, where meshops may write and prune.) Checks like "this
selector matches no workload" or "this Secret does not exist" are only true when the pods (or
Secrets) where they would be were actually read — RBAC may forbid some. `validate --live` reads every pod;
a plan reads pods only in the namespaces its objects need, plus the pods of each gateway selector
cluster-wide, and Secrets only in the namespaces where gateway workloads run. `LiveScope` records
that, and a check reports an absence only inside it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

Labels = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class LiveScope:
    """Where live pods and Secrets were read: everywhere, in some namespaces, or by label selector."""

    pods_everywhere: bool = False
    pod_namespaces: frozenset[str] = frozenset()
    pod_selectors: frozenset[Labels] = frozenset()  # label sets whose pods were listed cluster-wide
    secret_namespaces: frozenset[str] = frozenset()

    @property
    def read_pods(self) -> bool:
        """Whether any pod was read at all (offline: none, and every selector check is skipped)."""
        return self.pods_everywhere or bool(self.pod_namespaces or self.pod_selectors)

    def knows_pods_in(self, namespace: str) -> bool:
        """Whether every pod of `namespace` was read."""
        return self.pods_everywhere or namespace in self.pod_namespaces

    def knows_pods_selected_by(self, labels: Labels) -> bool:
        """Whether every pod in the cluster that `labels` selects was read."""
        return self.pods_everywhere or labels in self.pod_selectors

    def knows_secrets_in(self, namespace: str) -> bool:
        return namespace in self.secret_namespaces


# Nothing was read: absences are never reported (offline validation).
OFFLINE = LiveScope()
# `validate --live`: every pod was read (Secrets only where named).
EVERY_POD = LiveScope(pods_everywhere=True)


@dataclass
class LiveScopeBuilder:
    """Collects what a read covered, then freezes it."""

    pods_everywhere: bool = False
    pod_namespaces: set[str] = field(default_factory=set)
    pod_selectors: set[Labels] = field(default_factory=set)
    secret_namespaces: set[str] = field(default_factory=set)

    def freeze(self) -> LiveScope:
        return LiveScope(self.pods_everywhere, frozenset(self.pod_namespaces), frozenset(self.pod_selectors),
                         frozenset(self.secret_namespaces))
