"""Every current Istio kind is known: schemas, the kinds table (order, scope, prune) and the sandbox's
CRDs; a kind only a cluster's CRD knows is validated by that CRD instead of being an error."""
from __future__ import annotations

import json
from pathlib import Path

from helpers import commit_all
from meshops.model import kinds
from meshops.validate.schemas import SHIPPED_KINDS
from test_validate_schema_upstream import (GOOD_ENVOY_FILTER, GOOD_PROXY_CONFIG, GOOD_TRAFFIC_EXTENSION,
                                           GOOD_WASM_PLUGIN, GOOD_WORKLOAD_GROUP)

NEW_KINDS = (GOOD_ENVOY_FILTER, GOOD_PROXY_CONFIG, GOOD_TRAFFIC_EXTENSION, GOOD_WASM_PLUGIN, GOOD_WORKLOAD_GROUP)
CURRENT_ISTIO_KINDS = {
    "networking.istio.io": {"VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "Sidecar", "WorkloadEntry",
                            "WorkloadGroup", "EnvoyFilter", "ProxyConfig"},
    "security.istio.io": {"PeerAuthentication", "RequestAuthentication", "AuthorizationPolicy"},
    "telemetry.istio.io": {"Telemetry"},
    "extensions.istio.io": {"WasmPlugin", "TrafficExtension"},
}


def test_every_current_istio_kind_is_shipped_and_in_the_kinds_table_with_the_same_versions():
    shipped = {(kind.group, kind.kind): kind for kind in SHIPPED_KINDS}
    for group, names in CURRENT_ISTIO_KINDS.items():
        for name in names:
            schema, row = shipped.get((group, name)), kinds.lookup(group, name)
            assert schema is not None and row is not None, f"{group} {name}"
            assert (row.plural, row.namespaced, row.versions) == (schema.plural, True, schema.versions)


def test_the_kinds_meshops_could_not_read_before_validate_clean_offline(tmp_path, meshops):
    path = tmp_path / "extensions.yaml"
    path.write_text("---\n".join(NEW_KINDS))
    result = meshops("validate", "-f", str(path), "-o", "json")
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["findings"] == []


def _repo(root: Path, documents: list[str]) -> Path:
    files = {
        "environments/dev/meshops.yaml": "namespace: bookinfo\n",
        "environments/dev/values.yaml": "{}\n",
        "templates/namespaces.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: bookinfo}\n",
        "templates/route.yaml": "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: productpage}\n"
                                "spec: {hosts: [productpage.example.com], http: [{route: [{destination: {host: httpbin.org}}]}]}\n",
        "environments/dev/manifests/extensions.yaml": "---\n".join(documents),
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    commit_all(root, "new kinds")  # a git repository: its root commit is the owner id
    return root


def test_new_kinds_apply_in_order_to_a_sandbox_with_the_exported_crds_and_are_pruned(tmp_path, meshops, mesh_sandbox):
    documents = [text.replace("namespace: istio-system", "namespace: bookinfo") for text in NEW_KINDS]
    repo = _repo(tmp_path, documents)
    cluster = ("--repo", str(repo), "--kubeconfig", str(mesh_sandbox.kubeconfig), "--context", "sandbox")
    applied = meshops("apply", "--env", "dev", "--yes", *cluster)
    assert applied.returncode == 0, applied.stderr + applied.stdout
    created = [entry.path.split("/")[-1] for entry in mesh_sandbox.writes() if entry.verb == "create"]
    order = [plural for plural in created if plural != "namespaces"]
    assert order.index("virtualservices") < order.index("envoyfilters") < order.index("wasmplugins")
    assert order.index("workloadgroups") < order.index("proxyconfigs") < order.index("virtualservices")
    mesh_sandbox.server.log.clear()
    assert meshops("apply", "--env", "dev", "--yes", *cluster).returncode == 0
    assert mesh_sandbox.writes() == []
    (repo / "environments/dev/manifests/extensions.yaml").unlink()
    pruned = meshops("apply", "--env", "dev", "--yes", "--allow-mass-prune", *cluster)  # 5 of the 7 objects
    assert pruned.returncode == 0 and "5 pruned" in pruned.stdout, pruned.stdout + pruned.stderr


FUTURE_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "meshquotas.networking.istio.io"},
    "spec": {"group": "networking.istio.io", "scope": "Namespaced",
             "names": {"kind": "MeshQuota", "plural": "meshquotas", "singular": "meshquota", "listKind": "MeshQuotaList"},
             "versions": [{"name": "v1alpha1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "properties": {"spec": {"type": "object", "properties": {
                     "requestsPerSecond": {"type": "integer", "minimum": 1}}}}}}}]},
}
QUOTA = "apiVersion: networking.istio.io/v1alpha1\nkind: MeshQuota\nmetadata: {name: productpage, namespace: bookinfo}\nspec: SPEC\n"


def test_a_kind_only_the_clusters_crd_knows_is_validated_by_that_crd(tmp_path, meshops, mesh_sandbox):
    mesh_sandbox.server.install_crds([FUTURE_CRD])
    repo = _repo(tmp_path, [QUOTA.replace("SPEC", "{requestsPerSecond: 50}")])
    cluster = ("--repo", str(repo), "--kubeconfig", str(mesh_sandbox.kubeconfig), "--context", "sandbox")
    offline = meshops("validate", "--env", "dev", "--repo", str(repo))
    assert offline.returncode == 1 and "MSH103" in offline.stdout  # offline nothing knows MeshQuota
    planned = meshops("diff", "--env", "dev", *cluster)
    assert planned.returncode == 1 and "+ MeshQuota bookinfo/productpage (create)" in planned.stdout, planned.stderr
    (repo / "environments/dev/manifests/extensions.yaml").write_text(QUOTA.replace("SPEC", "{requestsPerSecnd: 50}"))
    refused = meshops("diff", "--env", "dev", *cluster)
    assert refused.returncode == 2 and "MSH105" in refused.stderr and "requestsPerSecond" in refused.stderr


def test_validate_with_a_cluster_checks_any_kind_its_crds_serve(tmp_path, meshops, mesh_sandbox):
    widget_crd = json.loads(json.dumps(FUTURE_CRD).replace("networking.istio.io", "example.com")
                            .replace("MeshQuota", "Widget").replace("meshquota", "widget"))
    mesh_sandbox.server.install_crds([widget_crd])
    path = tmp_path / "widget.yaml"
    path.write_text(QUOTA.replace("networking.istio.io", "example.com").replace("MeshQuota", "Widget")
                    .replace("SPEC", "{requestsPerSecond: 0}"))
    offline = json.loads(meshops("validate", "-f", str(path), "-o", "json").stdout)["findings"]
    assert [f["code"] for f in offline] == ["MSH104"]  # not checked without the CRD
    live = meshops("validate", "-f", str(path), "-o", "json", "--kubeconfig", str(mesh_sandbox.kubeconfig),
                   "--context", "sandbox")
    assert [(f["code"], f["path"]) for f in json.loads(live.stdout)["findings"]] == [("MSH109", ".spec.requestsPerSecond")]
