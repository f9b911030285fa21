"""A kubeconfig for the sandbox: one cluster, one token user, one context.

The cluster entry carries the sandbox's self-signed certificate as its CA (`tls`). kubectl
(`--kubeconfig`) and the official client (`config.load_kube_config(config_file=...)`)
both read it as they read any other, which is the point: code under test finds the sandbox the
way it would find a real cluster. The file holds the bearer token, so it is written owner-only.
"""
from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

from ..yamlio.atomic_write import write_atomically
from ..yamlio.documents import dump


def kubeconfig(*, server: str, token: str, context: str, namespace: str = "default",
               ca_pem: bytes | None = None) -> dict[str, Any]:
    cluster: dict[str, Any] = {"server": server}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": context, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context, "namespace": namespace}}],
        "current-context": context,
        "preferences": {},
    }


def write(path: str | os.PathLike, config: dict[str, Any]) -> Path:
    """Written atomically (a reader never sees a half-written file) and owner-only (mkstemp's 0600)."""
    target = Path(path)
    write_atomically(target, dump(config))
    os.chmod(target, 0o600)
    return target
