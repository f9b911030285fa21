"""`meshops validate` against a live cluster (the sandbox): live Services resolve hosts, live Pods
decide whether a subset selects anything, and the cluster's own CRDs are the schemas."""
from __future__ import annotations

import json
from pathlib import Path

VS_AND_DR = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: shop}
spec:
  hosts: [ratings]
  http:
  - route:
    - destination: {host: ratings, subset: v1}
      weight: 90
    - destination: {host: ratings, subset: v2}
      weight: 10
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings, namespace: shop}
spec:
  host: ratings
  subsets:
  - {name: v1, labels: {app: ratings, version: v1}}
  - {name: v2, labels: {app: ratings, version: v2}}
"""


def _codes(result) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for finding in json.loads(result.stdout)["findings"]:
        found.setdefault(finding["code"], []).append(finding)
    return found


def _live(mesh) -> None:
    core = mesh.core_v1()
    core.create_namespace({"metadata": {"name": "shop"}})
    core.create_namespaced_service("shop", {"metadata": {"name": "ratings"}, "spec": {"selector": {"app": "ratings"}, "ports": [{"port": 9080}]}})
    core.create_namespaced_pod("shop", {"metadata": {"name": "ratings-v1-abc", "labels": {"app": "ratings", "version": "v1"}},
                                        "spec": {"containers": [{"name": "app", "image": "ratings:v1"}]}})
    mesh.server.log.clear()


def test_a_host_found_only_in_the_cluster_is_not_reported(meshops, mesh_sandbox, tmp_path: Path):
    manifest = tmp_path / "ratings.yaml"
    manifest.write_text(VS_AND_DR)
    _live(mesh_sandbox)
    offline = _codes(meshops("validate", "-f", str(manifest), "-o", "json"))
    live = _codes(meshops("validate", "-f", str(manifest), "-o", "json", "--kubeconfig", str(mesh_sandbox.kubeconfig), "--context", "sandbox"))
    assert "MSH202" not in live and "MSH211" not in live
    assert "MSH204" in offline or "MSH202" in offline  # offline the Service is unknown


def test_a_subset_without_running_pods_is_reported_only_with_a_cluster(meshops, mesh_sandbox, tmp_path: Path):
    manifest = tmp_path / "ratings.yaml"
    manifest.write_text(VS_AND_DR)
    _live(mesh_sandbox)
    offline = _codes(meshops("validate", "-f", str(manifest), "-o", "json"))
    live = _codes(meshops("validate", "-f", str(manifest), "-o", "json", "--kubeconfig", str(mesh_sandbox.kubeconfig), "--context", "sandbox"))
    assert "MSH218" not in offline
    assert [f["path"] for f in live["MSH218"]] == [".spec.subsets[1].labels"]
    assert mesh_sandbox.writes() == []  # validation never writes
