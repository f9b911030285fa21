"""The simulated mesh's workloads: one apps/v1 Deployment per version, with the readiness a running one has.

A rollout checks that the canary's Deployment exists with ready pods before each step. The
simulated world runs no pods, so it creates the Deployment a version's traffic claims to come from
(`{service}-{version}`, labelled `app`/`version` as Bookinfo does) and reports its replicas ready
through the status subresource — what the Deployment controller and kubelets do in a real cluster.
Tests that need a canary that is *not* ready create it with `ready=False` and flip it later.
"""
from __future__ import annotations

from ..cluster.api import MERGE_PATCH, ApiError, KubeApi

COLLECTION = "/apis/apps/v1/namespaces/{namespace}/deployments"
# The image is never pulled (nothing runs it); it names what the Deployment stands for.
IMAGE = "example.com/meshops-sim/{service}:{version}"


def deployment(*, namespace: str, name: str, service: str, version: str, replicas: int) -> dict:
    labels = {"app": service, "version": version}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                     {"name": service, "image": IMAGE.format(service=service, version=version)}]}}},
    }


def set_ready(api: KubeApi, *, namespace: str, name: str, ready: int, replicas: int | None = None) -> None:
    """Report `ready` of the Deployment's replicas ready (the status subresource, as its controller would)."""
    path = COLLECTION.format(namespace=namespace) + f"/{name}"
    current = api.request("GET", path)
    wanted = replicas if replicas is not None else (current.get("spec") or {}).get("replicas", 1)
    status = {"observedGeneration": (current.get("metadata") or {}).get("generation", 1), "replicas": wanted,
              "updatedReplicas": wanted, "readyReplicas": ready, "availableReplicas": ready,
              "unavailableReplicas": max(wanted - ready, 0) or None}
    api.request("PATCH", path + "/status", body={"status": status}, content_type=MERGE_PATCH)


def ensure_deployment(api: KubeApi, *, namespace: str, service: str, version: str, replicas: int = 1,
                      ready: bool = True, workload: str = "{service}-{version}") -> str:
    """Create the version's Deployment unless it exists, and report it ready (or not); its name."""
    name = workload.format(service=service, version=version, namespace=namespace)
    try:
        api.request("POST", COLLECTION.format(namespace=namespace),
                    body=deployment(namespace=namespace, name=name, service=service, version=version, replicas=replicas))
    except ApiError as error:
        if error.status != 409:
            raise
    set_ready(api, namespace=namespace, name=name, ready=replicas if ready else 0, replicas=replicas)
    return name
