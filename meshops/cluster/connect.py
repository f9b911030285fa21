"""How a cluster is reached: a kubeconfig file and context, or the pod's service account.

`connect` gets what the caller decided (see `cluster.target`): a kubeconfig path or None for the
`KUBECONFIG` variable / `~/.kube/config`, and a context or None for the current one. The
kubeconfig is always the operator's (a flag or the environment), never a file of the config
repository: its exec credential plugins run programs. Without a kubeconfig file, a pod's
service-account config is used. Every way this can fail is a `ClusterError` naming the file or
context.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..model.errors import ClusterError
from .api import KubeApi, RetryPolicy

DEFAULT_KUBECONFIG = "~/.kube/config"


def _kubeconfig_files(explicit: str | None) -> list[str]:
    if explicit:
        return [os.path.expanduser(explicit)]
    from_env = os.environ.get("KUBECONFIG")
    if from_env:
        return [os.path.expanduser(part) for part in from_env.split(os.pathsep) if part]
    return [os.path.expanduser(DEFAULT_KUBECONFIG)]


def _in_cluster_available() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and Path("/var/run/secrets/kubernetes.io/serviceaccount/token").exists()


def connect(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    retry: RetryPolicy = RetryPolicy(),
) -> KubeApi:
    """A `KubeApi` for the cluster a kubeconfig (or the pod's service account) points at."""
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    configuration = k8s_client.Configuration()
    files = _kubeconfig_files(kubeconfig)
    existing = [f for f in files if Path(f).is_file()]
    if not existing:
        if not kubeconfig and _in_cluster_available():
            k8s_config.load_incluster_config(client_configuration=configuration)
            return KubeApi(k8s_client.ApiClient(configuration), label="in-cluster", retry=retry)
        raise ClusterError(
            f"no kubeconfig at {', '.join(files)}",
            hint="pass --kubeconfig FILE or set KUBECONFIG",
        )
    try:
        loader = k8s_config.kube_config._get_kube_config_loader(filename=os.pathsep.join(existing), active_context=None)
        contexts = [entry["name"] for entry in loader.list_contexts()]
    except Exception as error:  # noqa: BLE001 - the client raises many types for a broken file
        raise ClusterError(f"cannot read kubeconfig {', '.join(existing)}: {error}", hint="check the file with `kubectl config view`") from None
    if context and context not in contexts:
        raise ClusterError(
            f"context {context!r} is not in kubeconfig {', '.join(existing)}",
            hint="known contexts: " + (", ".join(contexts) or "none"),
        )
    try:
        k8s_config.load_kube_config(
            config_file=os.pathsep.join(existing) if len(existing) > 1 else existing[0],
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
    except Exception as error:  # noqa: BLE001 - expired exec plugins, bad certificates, missing fields
        raise ClusterError(
            f"kubeconfig {', '.join(existing)} (context {context or 'current'}) is unusable: {error}",
            hint="refresh the credentials or pick another --context",
        ) from None
    label = f"context {context or _current_context(loader)} at {configuration.host}"
    return KubeApi(k8s_client.ApiClient(configuration), label=label, retry=retry)


def _current_context(loader: Any) -> str:
    try:
        return loader.current_context["name"]
    except Exception:  # noqa: BLE001
        return "current"
