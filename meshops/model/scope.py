"""Where one environment may write and prune: its own namespaces, inside the operator's allow-list.

Two sides meet here, and only the operator's can say yes:
- the environment's namespaces (`Scope.namespaces`): those its objects are rendered into, the
  Namespaces it renders, and those its `meshops.yaml` declares (`namespace`, `namespaces`);
- the operator's allow-list (`AllowList`, from `--allowed-namespaces` / `MESHOPS_ALLOWED_NAMESPACES`):
  names or `*` patterns. Without one, every namespace but Kubernetes' own system namespaces.
  The repository cannot widen it: a rendered object outside it is refused before any write.

Cluster-scoped objects: a Namespace is in scope when the allow-list allows its name (creating
or pruning a namespace is claiming everything in it); other cluster-scoped kinds (ClusterRoles,
CRDs, webhooks …) act on every namespace at once and are never written.
"""
from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Iterable

from .manifest import ObjectKey

# Kubernetes' own namespaces (control plane, cluster info, node heartbeats): written only when the
# operator names them in the allow-list, never because a repository renders into them.
SYSTEM_NAMESPACES: tuple[str, ...] = ("kube-system", "kube-public", "kube-node-lease")
ALLOW_LIST_FLAG = "--allowed-namespaces"
ALLOW_LIST_ENV = "MESHOPS_ALLOWED_NAMESPACES"


@dataclass(frozen=True)
class AllowList:
    """The operator's namespaces: names or `*` patterns; None means "all but the system namespaces"."""

    patterns: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, text: str | None) -> AllowList:
        """`team-a,istio-system,team-b-*` (commas or spaces); empty or None: the default."""
        if not text or not text.strip():
            return cls(None)
        return cls(tuple(part for part in text.replace(",", " ").split() if part))

    def allows(self, namespace: str) -> bool:
        if self.patterns is None:
            return namespace not in SYSTEM_NAMESPACES
        return any(fnmatchcase(namespace, pattern) for pattern in self.patterns)

    def names(self, namespace: str) -> bool:
        """Whether the operator named `namespace` itself (not a `*` pattern, not the default): the
        namespaces whose existing Namespace object meshops may adopt (`diff.plan.adoptable`)."""
        return self.patterns is not None and namespace in self.patterns

    def describe(self) -> str:
        if self.patterns is None:
            return f"every namespace except {', '.join(SYSTEM_NAMESPACES)} (no {ALLOW_LIST_FLAG} given)"
        return f"{ALLOW_LIST_FLAG} {','.join(self.patterns)}"


@dataclass(frozen=True)
class Scope:
    """One environment's namespaces, and the operator's allow-list they are intersected with."""

    namespaces: frozenset[str]
    allowed: AllowList = AllowList()

    @classmethod
    def of(cls, namespaces: Iterable[str], allowed: AllowList = AllowList()) -> Scope:
        return cls(frozenset(n for n in namespaces if n), allowed)

    @property
    def readable(self) -> list[str]:
        """The namespaces meshops reads and prunes in for this environment, sorted."""
        return sorted(n for n in self.namespaces if self.allowed.allows(n))

    def write_problem(self, key: ObjectKey, *, namespaced: bool) -> str | None:
        """Why a rendered object may not be written, or None when it may."""
        if namespaced:
            if self.allowed.allows(key.namespace):
                return None
            return f"namespace {key.namespace} is outside the namespaces this meshops may write ({self.allowed.describe()})"
        if key.kind == "Namespace" and key.group == "":
            if self.allowed.allows(key.name):
                return None
            return f"namespace {key.name} is outside the namespaces this meshops may write ({self.allowed.describe()})"
        return "cluster-scoped objects other than Namespaces act on every namespace; meshops never writes them"

    def prune_problem(self, key: ObjectKey) -> str | None:
        """Why an owned object no longer rendered may not be pruned here, or None when it may."""
        if not key.namespace:
            if key.kind == "Namespace" and key.group == "" and self.allowed.allows(key.name):
                return None
            return f"{key.name} is outside the namespaces this meshops may write ({self.allowed.describe()})"
        if key.namespace not in self.namespaces:
            return (f"namespace {key.namespace} is no longer one of this environment's namespaces "
                    "(declare it in meshops.yaml `namespaces:` to prune there)")
        if not self.allowed.allows(key.namespace):
            return f"namespace {key.namespace} is outside the namespaces this meshops may write ({self.allowed.describe()})"
        return None
