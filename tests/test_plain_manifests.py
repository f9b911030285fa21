"""Plain manifests are first-class: plain YAML in templates/ and environments/<env>/manifests/ renders as
it is (with file:line provenance), validates and applies; nothing in those places is silently skipped,
and an environment that renders nothing is an error unless it says it may be empty."""
from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from helpers import commit_all

from meshops.model.errors import ConfigError
from meshops.model.identity import ENVIRONMENT_LABEL, MANAGED_BY_LABEL
from meshops.render import render
from meshops.source.repo import open_source

NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: cart
spec:
  selector: {app: cart}
  ports: [{name: http, port: 8080}]
"""
ROUTE = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: cart
spec:
  hosts: [cart]
  http:
  - route:
    - destination: {host: cart}
"""


def write_repo(root: Path, files: dict[str, str], *, namespace: str = "shop") -> Path:
    """A config repo with environment dev (namespace `namespace`) and the given files."""
    defaults = {
        "environments/dev/meshops.yaml": f"namespace: {namespace}\n",
        "environments/dev/values.yaml": "{}\n",
    }
    for name, text in {**defaults, **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_folder_of_plain_yaml_renders_as_it_is_with_labels_and_the_default_namespace(tmp_path):
    repo = write_repo(tmp_path, {"templates/namespace.yaml": NAMESPACE, "templates/cart.yml": SERVICE + "---\n" + ROUTE})
    result = render(open_source(repo), "dev")
    assert [(m.kind, m.namespace, m.name) for m in result.manifests] == [
        ("Namespace", "", "shop"), ("Service", "shop", "cart"), ("VirtualService", "shop", "cart")]
    labels = result.manifests[2].obj["metadata"]["labels"]
    assert labels[MANAGED_BY_LABEL] == "meshops" and labels[ENVIRONMENT_LABEL] == "dev"
    assert result.manifests[2].obj["spec"] == {"hosts": ["cart"], "http": [{"route": [{"destination": {"host": "cart"}}]}]}


def test_a_plain_manifest_keeps_its_file_and_line_for_findings(tmp_path, meshops):
    broken = ROUTE.replace("  hosts: [cart]\n", "  hosts: [cart]\n  gateway: [edge]\n")
    repo = write_repo(tmp_path, {"templates/cart.yaml": SERVICE + "---\n" + broken})
    result = meshops("validate", "--env", "dev", "-o", "json", cwd=repo)
    assert result.returncode == 1, result.stdout
    [finding] = [f for f in json.loads(result.stdout)["findings"] if f["code"] == "MSH105"]
    assert finding["locations"] == [{"file": "templates/cart.yaml", "line": 15}]


def test_a_mixed_folder_renders_templates_and_plain_manifests_together_in_apply_order(tmp_path):
    template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: {{ values.greeting }}\n"
    repo = write_repo(tmp_path, {
        "templates/namespace.yaml": NAMESPACE,
        "templates/route.yaml": ROUTE,
        "templates/settings.yaml.j2": template,
        "environments/base/values.yaml": "greeting: hello\n",
    })
    result = render(open_source(repo), "dev")
    assert [(m.kind, m.name) for m in result.manifests] == [
        ("Namespace", "shop"), ("ConfigMap", "settings"), ("VirtualService", "cart")]
    assert result.manifests[1].obj["data"] == {"greeting": "hello"}
    assert result.manifests[1].location(("data", "greeting")).file == "environments/base/values.yaml"


def test_environment_manifests_render_for_that_environment_only(tmp_path):
    repo = write_repo(tmp_path, {
        "templates/namespace.yaml": NAMESPACE,
        "environments/dev/manifests/route.yaml": ROUTE,
        "environments/prod/meshops.yaml": "namespace: shop\n",
        "environments/prod/values.yaml": "{}\n",
    })
    assert [m.kind for m in render(open_source(repo), "dev").manifests] == ["Namespace", "VirtualService"]
    assert [m.kind for m in render(open_source(repo), "prod").manifests] == ["Namespace"]


def test_a_file_that_is_not_rendered_is_named_in_a_warning(tmp_path, meshops):
    repo = write_repo(tmp_path, {
        "templates/namespace.yaml": NAMESPACE,
        "templates/notes.txt": "remember the canary\n",
        "templates/kustomization.yaml": "resources: [namespace.yaml]\n",
        "templates/README.md": "docs are fine\n",
        "environments/dev/route.yaml": ROUTE,
    })
    rendered = meshops("render", "--env", "dev", "--repo", str(repo))
    assert rendered.returncode == 0, rendered.stderr
    warnings = [line for line in rendered.stderr.splitlines() if line.startswith("warning: ")]
    assert [line.split(":")[1].strip() for line in warnings] == [
        "environments/dev/route.yaml", "templates/kustomization.yaml", "templates/notes.txt"]
    assert "put manifests in manifests/" in warnings[0] and "kustomization" in warnings[1]
    validated = meshops("validate", "--env", "dev", "-o", "json", cwd=repo)
    skipped = [f["locations"][0]["file"] for f in json.loads(validated.stdout)["findings"] if f["code"] == "MSH113"]
    assert skipped == ["environments/dev/route.yaml", "templates/kustomization.yaml", "templates/notes.txt"]


def test_a_template_that_ends_with_a_document_separator_renders(tmp_path):
    repo = write_repo(tmp_path, {"templates/namespace.yaml.j2": "---\n" + NAMESPACE + "---\n"})
    assert [m.name for m in render(open_source(repo), "dev").manifests] == ["shop"]


def test_an_object_in_a_template_and_a_plain_manifest_is_rendered_twice(tmp_path):
    repo = write_repo(tmp_path, {"templates/a.yaml": NAMESPACE, "templates/b.yaml.j2": NAMESPACE})
    with pytest.raises(ConfigError, match="rendered twice"):
        render(open_source(repo), "dev")


def test_an_environment_that_renders_nothing_is_an_error(tmp_path, meshops):
    repo = write_repo(tmp_path, {"templates/notes.txt": "nothing here\n"})
    result = meshops("render", "--env", "dev", "--repo", str(repo))
    assert result.returncode == 2
    error = result.stderr.splitlines()[-1]
    assert error.startswith("error: environments/dev/meshops.yaml: environment 'dev' renders no objects")
    assert "templates/notes.txt" in error and "allowEmpty: true" in error


def test_an_environment_declared_empty_may_render_nothing(tmp_path, meshops):
    repo = write_repo(tmp_path, {"environments/dev/meshops.yaml": "namespace: shop\nallowEmpty: true\n"})
    result = meshops("render", "--env", "dev", "--repo", str(repo))
    assert result.returncode == 0 and result.stdout == ""


def test_plain_manifests_render_from_a_git_revision_too(tmp_path):
    repo = write_repo(tmp_path, {"templates/namespace.yaml": NAMESPACE})
    git_repo = git.Repo.init(repo, initial_branch="main")
    git_repo.git.add(A=True)
    git_repo.index.commit("plain")
    (repo / "templates/namespace.yaml").unlink()
    assert [m.name for m in render(open_source(repo, "HEAD"), "dev").manifests] == ["shop"]


def test_a_folder_of_plain_yaml_applies_and_a_second_apply_writes_nothing(tmp_path, meshops, mesh_sandbox):
    repo = write_repo(tmp_path, {"templates/namespace.yaml": NAMESPACE, "templates/cart.yaml": SERVICE + "---\n" + ROUTE})
    commit_all(repo, "plain manifests")  # the root commit is the owner id
    cluster = ("--repo", str(repo), "--kubeconfig", str(mesh_sandbox.kubeconfig), "--context", "sandbox")
    applied = meshops("apply", "--env", "dev", "--yes", *cluster)
    assert applied.returncode == 0, applied.stderr + applied.stdout
    assert "3 created" in applied.stdout
    route = mesh_sandbox.custom_objects().get_namespaced_custom_object("networking.istio.io", "v1", "shop",
                                                                        "virtualservices", "cart")
    assert route["metadata"]["labels"][ENVIRONMENT_LABEL] == "dev"
    mesh_sandbox.server.log.clear()
    again = meshops("apply", "--env", "dev", "--yes", *cluster)
    assert again.returncode == 0 and mesh_sandbox.writes() == []
    assert meshops("diff", "--env", "dev", *cluster).returncode == 0
