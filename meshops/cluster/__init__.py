"""The edge between meshops and a Kubernetes API server, through the official `kubernetes` client.

`connect(...)` turns flags / `meshops.yaml` / kubeconfig conventions into a `KubeApi`; `KubeApi`
sends requests (retrying what is transient, turning everything else into typed errors);
`discovery` maps kinds to REST resources; `live` reads the objects diff and apply compare against,
one LIST per kind per namespace. Diff, apply, rollout and reconcile only talk to a cluster through
this package.
"""
from __future__ import annotations

from .api import ApiError, KubeApi, RetryPolicy
from .connect import connect

__all__ = ["ApiError", "KubeApi", "RetryPolicy", "connect"]
