"""How a cluster is reached: a kubeconfig file and context, or the pod's service account.

`connect` gets what the caller decided (see `cluster.target`): a kubeconfig path or None for the
`KUBECONFIG` variable / `~/.kube/config`, and a context or None for the current one. The
kubeconfig is always the operator's (a flag or the environment), never a file of the config
repository: its exec credential plugins run programs. Without a kubeconfig file, a pod's
service-account config is used. The kubeconfig is read by `cluster.kubeconfig` and turned into
the official client's transport by `cluster.transport`, without importing the whole client; a
kubeconfig that uses a legacy `auth-provider` plugin, and in-cluster config, go through the
client's own loaders. Every way this can fail is a `ClusterError` naming the file or context.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..model.errors import ClusterError
from .api import KubeApi, RetryPolicy
from .kubeconfig import ClusterAccess, kubeconfig_files, resolve
from .transport import open_transport, transport_of

IN_CLUSTER_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


def _in_cluster_available() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and Path(IN_CLUSTER_TOKEN).exists()


def _in_cluster(retry: RetryPolicy) -> KubeApi:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    configuration = k8s_client.Configuration()
    k8s_config.load_incluster_config(client_configuration=configuration)
    return KubeApi(transport_of(configuration), label="in-cluster", retry=retry)


def _with_full_client(access: ClusterAccess, existing: list[str], retry: RetryPolicy) -> KubeApi:
    """The official loader, for what only it implements (gcp/oidc/azure auth-provider plugins)."""
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    configuration = k8s_client.Configuration()
    try:
        k8s_config.load_kube_config(config_file=os.pathsep.join(existing) if len(existing) > 1 else existing[0],
                                    context=access.context, client_configuration=configuration, persist_config=False)
    except Exception as error:  # noqa: BLE001 - expired plugins, bad certificates, missing fields
        raise ClusterError(
            f"kubeconfig {', '.join(existing)} (context {access.context}) is unusable: {error}",
            hint="refresh the credentials or pick another --context",
        ) from None
    return KubeApi(transport_of(configuration), label=access.label, retry=retry)


def connect(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    retry: RetryPolicy = RetryPolicy(),
) -> KubeApi:
    """A `KubeApi` for the cluster a kubeconfig (or the pod's service account) points at."""
    files = kubeconfig_files(kubeconfig)
    existing = [f for f in files if Path(f).is_file()]
    if not existing:
        if not kubeconfig and _in_cluster_available():
            return _in_cluster(retry)
        raise ClusterError(
            f"no kubeconfig at {', '.join(files)}",
            hint="pass --kubeconfig FILE or set KUBECONFIG",
        )
    access = resolve(existing, context)
    if access.needs_full_client:
        return _with_full_client(access, existing, retry)
    return KubeApi(open_transport(access), label=access.label, retry=retry)
