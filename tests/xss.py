"""Markup where people put names, reasons and values: a config repo and cluster objects that carry it.

Kubernetes names cannot hold `<` (DNS labels), so the payload goes where free text is allowed:
a VirtualService's rollout annotation (message, decisions, check names and reasons, the canary
subset), an environment's Lease record (reason, who), a freeze window's reason, a ConfigMap value.
If any of it ran, it would set `window.meshopsPwned`.
"""
from __future__ import annotations

import json
from pathlib import Path

from helpers import commit_all

PAYLOAD = '<script>window.meshopsPwned=1</script><img src=x onerror="window.meshopsPwned=2">'
ENVIRONMENT = "xss"
NAMESPACE = "xss"
LABELS = {"app.kubernetes.io/managed-by": "meshops", "meshops.dev/environment": ENVIRONMENT}


def xss_repo(root: Path) -> Path:
    """A committed config repo: environment `xss` renders one ConfigMap whose value is the payload."""
    files = {
        "environments/base/values.yaml": json.dumps({"message": PAYLOAD}) + "\n",
        "environments/xss/values.yaml": "{}\n",
        "environments/xss/meshops.yaml": json.dumps({"namespace": NAMESPACE, "cluster": {"context": "sandbox"},
                                                     "freeze": [{"from": "2020-01-01", "reason": PAYLOAD}]}) + "\n",
        "templates/settings.yaml.j2": ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n"
                                       "  namespace: {{ environment.namespace }}\ndata:\n  message: {{ values.message | to_json }}\n"),
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    commit_all(root, "markup everywhere")
    return root


def _rollout_state() -> str:
    at = "2026-01-01T10:00:00.000Z"
    entry = {"at": at, "reason": "RolledBack", "step": 1, "current": {"v1": 100}, "message": PAYLOAD}
    return json.dumps({
        "schema": 1, "phase": "Failed", "service": "reviews", "rule": "default", "stable": "v1", "canary": PAYLOAD,
        "weights": [20, 50], "step": 1, "current": {"v1": 100, PAYLOAD: 0}, "failedChecks": 1, "threshold": 1,
        "lastAnalysis": {"decision": "fail", "at": at, "step": 1, "window": "1m", "summary": PAYLOAD,
                         "checks": [{"name": PAYLOAD, "outcome": "fail", "value": 50, "min": 99, "unit": "%", "reason": PAYLOAD}]},
        "history": [{**entry, "reason": "Started", "step": 0, "at": "2026-01-01T09:59:00.000Z"}, entry],
        "revision": "0123456789abcdef", "startedAt": "2026-01-01T09:59:00.000Z", "updatedAt": at, "endedBy": "analysis",
        "message": PAYLOAD,
    })


def plant(mesh) -> None:
    """The namespace, a VirtualService and the environment's Lease, each carrying the payload."""
    mesh.core_v1().create_namespace({"metadata": {"name": NAMESPACE}})
    mesh.custom_objects().create_namespaced_custom_object("networking.istio.io", "v1", NAMESPACE, "virtualservices", {
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "reviews", "labels": LABELS, "annotations": {"meshops.dev/rollout": _rollout_state()}},
        "spec": {"hosts": ["reviews"], "http": [{"name": "default", "route": [{"destination": {"host": "reviews", "subset": "v1"}}]}]},
    })
    from kubernetes import client

    client.CoordinationV1Api(mesh.api_client).create_namespaced_lease(NAMESPACE, {
        "metadata": {"name": f"meshops-{ENVIRONMENT}", "annotations": {
            "meshops.dev/revision": "0123456789abcdef",
            "meshops.dev/reconcile": json.dumps({"revision": "0123456789abcdef", "phase": "Failed", "stage": "apply",
                                                 "reason": PAYLOAD, "by": PAYLOAD, "time": "2026-01-01T10:00:00.000000Z"})}},
        "spec": {"leaseDurationSeconds": 30},
    })
