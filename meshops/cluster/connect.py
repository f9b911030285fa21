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
import threading
from pathlib import Path
from typing import Any

from ..model.errors import ClusterError
from .api import KubeApi, RetryPolicy

DEFAULT_KUBECONFIG = "~/.kube/config"


def _kubeconfig_files(explicit: str | None) -> list[str]:
    """The files to merge: `explicit` or `$KUBECONFIG` (both may join several with `:`, as kubectl's
    variable does: one file per cluster of a fleet), else `~/.kube/config`."""
    listed = explicit or os.environ.get("KUBECONFIG")
    if listed:
        return [os.path.expanduser(part) for part in listed.split(os.pathsep) if part]
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
        merged = _merged(existing)
        contexts = [entry["name"] for entry in merged.value.get("contexts") or []]  # ConfigNodes (one per file's context)
    except Exception as error:  # noqa: BLE001 - the client raises many types for a broken file
        raise ClusterError(f"cannot read kubeconfig {', '.join(existing)}: {error}", hint="check the file with `kubectl config view`") from None
    if context and context not in contexts:
        raise ClusterError(
            f"context {context!r} is not in kubeconfig {', '.join(existing)}",
            hint="known contexts: " + (", ".join(contexts) or "none"),
        )
    try:
        k8s_config.kube_config.KubeConfigLoader(config_dict=merged, config_base_path=None,
                                                active_context=context).load_and_set(configuration)
    except Exception as error:  # noqa: BLE001 - expired exec plugins, bad certificates, missing fields
        raise ClusterError(
            f"kubeconfig {', '.join(existing)} (context {context or 'current'}) is unusable: {error}",
            hint="refresh the credentials or pick another --context",
        ) from None
    label = f"context {context or merged.value.get('current-context') or 'current'} at {configuration.host}"
    return KubeApi(k8s_client.ApiClient(configuration), label=label, retry=retry)


# Parsed kubeconfigs by (path, mtime, size) of their files: a fleet connects to many clusters through
# the same files, and parsing them (the client's pure-Python YAML) cost more than the connection.
_MERGED: dict[tuple, Any] = {}
_MERGED_GUARD = threading.Lock()


def _merged(files: list[str]) -> Any:
    """The client's merge of `files` (kubectl's rules, relative certificate paths kept per file), parsed once."""
    from kubernetes.config.kube_config import KubeConfigMerger

    key = tuple((path, *_stamp(path)) for path in files)
    with _MERGED_GUARD:
        if key not in _MERGED:
            config = KubeConfigMerger(os.pathsep.join(files)).config
            if config is None:
                raise ValueError("no configuration found")
            _MERGED[key] = config
        return _MERGED[key]


def _stamp(path: str) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_mtime_ns, status.st_size
