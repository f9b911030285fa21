"""The cluster seam: a `Target` names one cluster of one environment; `Connection` is it, reachable.

Plan, apply, rollouts and reconcile take a target (or its connection), never a kubeconfig path:
an environment with several clusters is several targets. A target is built by the use cases
(`meshops.pipeline.targets`) from what the operator passed (flags, `$KUBECONFIG`, the allow-list,
the owner id) and the one thing the environment's `meshops.yaml` may say (a context name); this
room only knows how to reach it.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..model.scope import AllowList
from .api import KubeApi, RetryPolicy
from .connect import connect
from .discovery import Discovery

# The name of an environment's only cluster, until environments list several.
DEFAULT_CLUSTER = "default"


@dataclass(frozen=True)
class Target:
    """One cluster of one environment: where its objects, rollouts and records live."""

    environment: str
    cluster: str = DEFAULT_CLUSTER
    kubeconfig: str | None = None  # the operator's; None: $KUBECONFIG or ~/.kube/config, else the pod's service account
    context: str | None = None  # None: the kubeconfig's current context
    allowed: AllowList = AllowList()  # the operator's namespaces: nothing outside them is written or pruned
    owner_id: str | None = None  # the operator's repository id; None: derived from the repository

    def connect(self, *, retry: RetryPolicy = RetryPolicy()) -> Connection:
        """Reach the cluster (a ClusterError naming the kubeconfig or context when it cannot be)."""
        api = connect(kubeconfig=self.kubeconfig, context=self.context, retry=retry)
        return Connection(target=self, api=api, discovery=Discovery(api))

    def __str__(self) -> str:
        return self.environment if self.cluster == DEFAULT_CLUSTER else f"{self.environment}/{self.cluster}"


@dataclass
class Connection:
    """A target with its API client and discovery cache: what every stage that touches a cluster takes."""

    target: Target
    api: KubeApi
    discovery: Discovery

    @property
    def label(self) -> str:
        """How messages name the cluster (context and server)."""
        return self.api.label

    @classmethod
    def of(cls, api: KubeApi, *, environment: str, discovery: Discovery | None = None) -> Connection:
        """A connection around an API client made elsewhere (tests, the sandbox)."""
        return cls(target=Target(environment=environment), api=api, discovery=discovery or Discovery(api))
