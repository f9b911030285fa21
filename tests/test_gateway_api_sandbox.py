"""The Gateway API kinds through the whole pipeline: render, validate, diff, apply and prune with the real
CLI against the sandbox serving meshops's own Gateway API CRDs (`meshops crds export`), read back with the
request log, the kubernetes client and kubectl."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers import commit_all, copy_example_repo

GATEWAY_API = "gateway.networking.k8s.io"
KUBECTL = Path("/usr/bin/kubectl")

# An ingress for productpage through the Gateway API, and a route from another namespace (`shop`) to
# reviews, allowed by a ReferenceGrant in bookinfo. No namespace on the bookinfo objects: the
# environment's namespace is filled in, as for every other kind.
EDGE_TEMPLATE = """\
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {shared-gateway-access: "true"}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: edge
spec:
  gatewayClassName: istio
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    hostname: "*.example.com"
    allowedRoutes:
      namespaces: {from: Selector, selector: {matchLabels: {shared-gateway-access: "true"}}}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata:
  name: shop-to-reviews
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop}]
  to: [{group: "", kind: Service, name: reviews}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: shop-reviews
  namespace: shop
spec:
  parentRefs: [{name: edge, namespace: {{ environment.namespace }}}]
  hostnames: [shop.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /reviews}}]
    backendRefs: [{name: reviews, namespace: {{ environment.namespace }}, port: 9080}]
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = copy_example_repo(tmp_path / "config")
    (path / "templates" / "edge.yaml.j2").write_text(EDGE_TEMPLATE)
    namespaces = path / "environments" / "base" / "values.yaml"
    namespaces.write_text(namespaces.read_text().replace(
        "namespaces:\n  bookinfo:\n", "namespaces:\n  bookinfo:\n    # Gateway API routes from other namespaces may attach.\n", 1))
    commit_all(path, "example config with an edge Gateway")  # a git repository: its root commit is the owner id
    return path


@pytest.fixture
def cli(meshops, repo, mesh_sandbox):
    def run(*args: str):
        return meshops(*args, "--repo", str(repo), "--kubeconfig", str(mesh_sandbox.kubeconfig), "--context", "sandbox")

    return run


def _routes(mesh_sandbox, namespace: str = "bookinfo") -> dict[str, dict]:
    items = mesh_sandbox.custom_objects().list_namespaced_custom_object(GATEWAY_API, "v1", namespace, "httproutes")["items"]
    return {item["metadata"]["name"]: item for item in items}


def test_render_gives_gateway_api_objects_the_environment_namespace(meshops, repo):
    result = meshops("render", "--env", "dev", "--repo", str(repo), "-o", "json")
    assert result.returncode == 0, result.stderr
    objects = {(o["kind"], o["metadata"]["name"]): o for o in json.loads(result.stdout) if o["apiVersion"].startswith(GATEWAY_API)}
    assert objects[("HTTPRoute", "details")]["metadata"]["namespace"] == "bookinfo"
    assert objects[("Gateway", "edge")]["metadata"]["namespace"] == "bookinfo"
    assert objects[("ReferenceGrant", "shop-to-reviews")]["metadata"]["namespace"] == "bookinfo"
    assert objects[("HTTPRoute", "shop-reviews")]["metadata"]["namespace"] == "shop"


def test_apply_writes_grants_before_gateways_before_routes_and_a_second_diff_is_clean(cli, mesh_sandbox):
    assert cli("validate", "--env", "dev").returncode == 0
    applied = cli("apply", "--env", "dev", "--yes")
    assert applied.returncode == 0, applied.stderr + applied.stdout
    created = [(e.group, e.resource) for e in mesh_sandbox.server.log.entries(verb="create") if e.status == 201]
    position = {what: [i for i, c in enumerate(created) if c == what] for what in set(created)}
    services, grants = position[("", "services")], position[(GATEWAY_API, "referencegrants")]
    gateways, routes = position[(GATEWAY_API, "gateways")], position[(GATEWAY_API, "httproutes")]
    assert max(services) < min(grants) and max(grants) < min(gateways) and max(gateways) < min(routes)
    assert len(routes) == 2
    live = _routes(mesh_sandbox)["details"]
    assert live["spec"]["rules"][0]["backendRefs"][0]["kind"] == "Service"  # the server filled in its defaults
    second = cli("diff", "--env", "dev")
    assert second.returncode == 0, second.stdout
    mesh_sandbox.server.log.clear()
    assert cli("apply", "--env", "dev", "--yes").returncode == 0
    assert mesh_sandbox.writes() == []


def test_diff_markdown_summarises_httproute_backend_weights_and_apply_sets_them(cli, repo, mesh_sandbox):
    assert cli("apply", "--env", "staging", "--yes").returncode == 0
    values = repo / "environments" / "staging" / "values.yaml"
    values.write_text(values.read_text().replace(
        "\nservices:\n", "\nservices:\n  details:\n    versions: [v1, v2]\n    canary: {version: v2, weight: 10}\n", 1))
    result = cli("diff", "--env", "staging", "-o", "markdown")
    assert result.returncode == 1, result.stderr
    assert "details: details-v1 100→90, details-v2 –→10" in result.stdout
    assert "+ Service bookinfo/details-v2" in cli("diff", "--env", "staging").stdout
    assert cli("apply", "--env", "staging", "--yes").returncode == 0
    backends = _routes(mesh_sandbox)["details"]["spec"]["rules"][0]["backendRefs"]
    assert [(b["name"], b["weight"]) for b in backends] == [("details-v1", 90), ("details-v2", 10)]
    assert cli("diff", "--env", "staging").returncode == 0


def test_a_changed_listener_is_updated_in_place_by_name(cli, repo, mesh_sandbox):
    assert cli("apply", "--env", "dev", "--yes").returncode == 0
    template = repo / "templates" / "edge.yaml.j2"
    template.write_text(template.read_text().replace("    port: 80\n", "    port: 8080\n", 1))
    assert cli("apply", "--env", "dev", "--yes").returncode == 0
    gateway = mesh_sandbox.custom_objects().get_namespaced_custom_object(GATEWAY_API, "v1", "bookinfo", "gateways", "edge")
    assert [(listener["name"], listener["port"]) for listener in gateway["spec"]["listeners"]] == [("http", 8080)]
    assert cli("diff", "--env", "dev").returncode == 0


def test_validate_against_the_cluster_reads_its_gateways_and_grants(cli, repo, mesh_sandbox):
    assert cli("apply", "--env", "dev", "--yes").returncode == 0
    namespace, _gateway, _grant, shop_route = EDGE_TEMPLATE.split("---\n")[1:]
    template = repo / "templates" / "edge.yaml.j2"
    template.write_text("---\n" + namespace + "---\n" + shop_route)  # the Gateway and the grant now live only in the cluster
    result = cli("validate", "--env", "dev", "-o", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    template.write_text("---\n" + namespace + "---\n" + shop_route.replace("name: edge,", "name: egde,"))
    result = cli("validate", "--env", "dev", "-o", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    [finding] = [f for f in json.loads(result.stdout)["findings"] if f["code"] == "MSH232"]
    assert finding["object"]["name"] == "shop-reviews" and "did you mean 'edge'" in finding["message"]


def test_a_cross_namespace_backend_without_its_grant_stops_apply_before_any_write(cli, repo, mesh_sandbox):
    template = repo / "templates" / "edge.yaml.j2"
    template.write_text(template.read_text().replace("name: reviews}]", "name: ratings}]"))
    result = cli("apply", "--env", "dev", "--yes")
    assert result.returncode != 0
    assert "MSH234" in result.stdout + result.stderr
    assert mesh_sandbox.writes() == []


def test_prune_removes_the_routes_meshops_owns_and_never_a_handmade_one(cli, repo, mesh_sandbox):
    assert cli("apply", "--env", "prod", "--yes").returncode == 0
    mesh_sandbox.custom_objects().create_namespaced_custom_object(GATEWAY_API, "v1", "bookinfo", "httproutes", {
        "apiVersion": f"{GATEWAY_API}/v1", "kind": "HTTPRoute", "metadata": {"name": "handmade"},
        "spec": {"parentRefs": [{"name": "edge"}], "rules": [{"backendRefs": [{"name": "ratings", "port": 9080}]}]}})
    base = repo / "environments" / "base" / "values.yaml"
    base.write_text(base.read_text().replace("    router: httproute\n", ""))  # details back on a VirtualService
    edge = repo / "templates" / "edge.yaml.j2"
    edge.write_text(EDGE_TEMPLATE.split("---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway")[0])  # the Namespace only
    plan = json.loads(cli("diff", "--env", "prod", "-o", "json").stdout)
    pruned = sorted((c["kind"], c["name"]) for c in plan["changes"] if c["action"] == "prune")
    assert pruned == [("Gateway", "edge"), ("HTTPRoute", "details"), ("HTTPRoute", "shop-reviews"),
                      ("ReferenceGrant", "shop-to-reviews"), ("Service", "details-v1")]
    mesh_sandbox.server.log.clear()
    result = cli("apply", "--env", "prod", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    deleted = [e.resource for e in mesh_sandbox.server.log.entries(verb="delete") if e.status == 200]
    assert deleted == ["httproutes", "httproutes", "gateways", "referencegrants", "services"]  # routes first
    assert set(_routes(mesh_sandbox)) == {"handmade"}
    created = [e.resource for e in mesh_sandbox.server.log.entries(verb="create") if e.status == 201]
    assert "virtualservices" in created and "destinationrules" in created


@pytest.mark.skipif(not KUBECTL.exists(), reason=f"kubectl is not installed at {KUBECTL}")
def test_kubectl_lists_the_applied_routes_by_their_short_and_full_names(cli, mesh_sandbox, tmp_path):
    assert cli("apply", "--env", "dev", "--yes").returncode == 0
    base = [str(KUBECTL), "--kubeconfig", str(mesh_sandbox.kubeconfig), "--cache-dir", str(tmp_path / "kube-cache")]
    routes = subprocess.run(base + ["get", "httproutes.gateway.networking.k8s.io", "-A", "-o", "name"],
                            capture_output=True, text=True, timeout=60)
    assert routes.returncode == 0, routes.stderr
    assert sorted(routes.stdout.split()) == ["httproute.gateway.networking.k8s.io/details",
                                             "httproute.gateway.networking.k8s.io/shop-reviews"]
    grants = subprocess.run(base + ["get", "refgrant", "-n", "bookinfo", "-o", "name"], capture_output=True, text=True, timeout=60)
    assert grants.stdout.split() == ["referencegrant.gateway.networking.k8s.io/shop-to-reviews"], grants.stderr


def test_a_cluster_without_the_gateway_api_crds_is_told_to_install_them(meshops, repo, sandbox, tmp_path):
    from meshops.validate.schemas import shipped_crds

    sandbox.install_crds([crd for crd in shipped_crds() if crd["spec"]["group"].endswith("istio.io")])
    kubeconfig = sandbox.write_kubeconfig(tmp_path / "istio-only.kubeconfig")
    result = meshops("diff", "--env", "dev", "--repo", str(repo), "--kubeconfig", str(kubeconfig), "--context", "sandbox")
    assert result.returncode == 3, result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "ReferenceGrant bookinfo/shop-to-reviews: gateway.networking.k8s.io/v1beta1 ReferenceGrant is not served" in line
    assert line.endswith("(install the Gateway API CRDs (standard channel, the release your Istio supports) "
                         "or remove the object)")
