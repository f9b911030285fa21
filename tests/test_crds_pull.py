"""`meshops crds pull`: a cluster's Istio CRDs saved into the config repo, read back by validate.

The cluster is a small HTTP server that answers the one request pull makes (a paged LIST of
CustomResourceDefinitions) the way the API server does; the real kubernetes client talks to it.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from helpers import copy_example_repo, run_meshops
from meshops.source.repo import WorkTree
from meshops.validate.schemas import shipped_crds
from meshops.validate.schemas.repo import load_repo_crds

OTHER_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com", "resourceVersion": "3"},
    "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}, "scope": "Namespaced",
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {"type": "object"}}}]},
}


@pytest.fixture
def cluster():
    """A server listing shipped CRDs plus a non-Istio one, two per page; records request paths."""
    crds = [OTHER_CRD] + [dict(crd, metadata={**crd["metadata"], "uid": "x", "resourceVersion": "9"}) for crd in shipped_crds()]
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            requests.append(self.path)
            url = urlsplit(self.path)
            if url.path != "/apis/apiextensions.k8s.io/v1/customresourcedefinitions":
                self.send_response(404)
                self.end_headers()
                return
            query = parse_qs(url.query)
            start = int(query.get("continue", ["0"])[0])
            limit = int(query.get("limit", ["500"])[0])
            page = crds[start:start + min(limit, 2)]
            token = str(start + len(page)) if start + len(page) < len(crds) else ""
            body = json.dumps({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinitionList",
                               "metadata": {"continue": token}, "items": page}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


def kubeconfig(path: Path, server: str, context: str = "test") -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
    }))
    return path


def test_pull_saves_only_the_istio_and_gateway_api_crds_and_validate_can_read_them(tmp_path, cluster):
    server, requests = cluster
    config = kubeconfig(tmp_path / "kubeconfig", server)
    result = run_meshops("crds", "pull", "--context", "test", "--kubeconfig", str(config), "--repo", str(tmp_path))
    assert result.returncode == 0, result.stderr
    shipped = len(shipped_crds())
    assert f"wrote {shipped} CRDs" in result.stdout
    assert len(requests) == (shipped + 1 + 1) // 2  # the shipped CRDs and one other, 2 per page: every continue token followed
    text = (tmp_path / "crds" / "istio.yaml").read_text()
    assert "widgets.example.com" not in text and "resourceVersion" not in text and "uid:" not in text
    schemas = load_repo_crds(WorkTree(tmp_path), None)
    assert schemas.served_versions("networking.istio.io", "VirtualService") == ("v1", "v1beta1", "v1alpha3")
    assert schemas.served_versions("gateway.networking.k8s.io", "HTTPRoute") == ("v1", "v1beta1")


def test_pull_with_env_takes_the_context_from_meshops_yaml_and_writes_the_env_file(tmp_path, cluster):
    server, _ = cluster
    repo = copy_example_repo(tmp_path / "config")
    operators = kubeconfig(tmp_path / "kubeconfig.json", server, context="kind-dev")  # dev's meshops.yaml names kind-dev
    result = run_meshops("crds", "pull", "--env", "dev", "--repo", str(repo), env={"KUBECONFIG": str(operators)})
    assert result.returncode == 0, result.stderr
    assert load_repo_crds(WorkTree(repo), "dev").source == "crds/dev.yaml"


def test_pull_from_an_unreachable_cluster_exits_3_without_a_traceback(tmp_path):
    config = kubeconfig(tmp_path / "kubeconfig", "http://127.0.0.1:9")
    result = run_meshops("crds", "pull", "--context", "test", "--kubeconfig", str(config), "--repo", str(tmp_path))
    assert result.returncode == 3 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert not (tmp_path / "crds").exists()


def test_pull_without_a_cluster_is_a_usage_error(tmp_path):
    result = run_meshops("crds", "pull", "--repo", str(tmp_path))
    assert result.returncode == 2 and "no cluster given" in result.stderr
