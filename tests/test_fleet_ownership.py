"""Owner identity per cluster: in an environment that lists clusters, `meshops.dev/owner` names the
cluster, so one cluster's prune never touches what another cluster applied — even when both
"clusters" are one API server reached through two contexts."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import run_meshops, write_files

OWNER_ID = "fleet-owners"
NAMESPACE = "shared-prod"
FILES = {
    "environments/base/values.yaml": "name: unset\n",
    "environments/prod/values.yaml": "{}\n",
    "environments/prod/meshops.yaml": (f"namespace: {NAMESPACE}\n"
                                       "clusters:\n  - {name: blue, context: blue}\n  - {name: green, context: green}\n"),
    "environments/prod/clusters/blue.yaml": "name: blue-settings\n",
    "environments/prod/clusters/green.yaml": "name: green-settings\n",
    "templates/settings.yaml.j2": ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ values.name }}\n"
                                   "data:\n  owner: {{ values.name | to_json }}\n"),
}


@pytest.fixture
def one_server_two_contexts(fleet, tmp_path: Path):
    """One sandbox reached as `blue` and as `green` (a kubeconfig file for each context)."""
    server = fleet.add("blue")
    fleet.files["green"] = server.write_kubeconfig(tmp_path / "green.kubeconfig", context="green")
    server.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    return fleet


def meshops(repo: Path, fleet, *args: str):
    return run_meshops(*args, "--env", "prod", "--repo", str(repo), "--kubeconfig", fleet.kubeconfig, "--owner-id", OWNER_ID)


def config_maps(server) -> dict[str, str]:
    """Name -> owner annotation of the ConfigMaps in the shared namespace."""
    listed = server.store.items(("", "configmaps"), NAMESPACE)
    return {item["metadata"]["name"]: (item["metadata"].get("annotations") or {}).get("meshops.dev/owner")
            for item in listed if item["metadata"]["name"] != "kube-root-ca.crt"}


def test_each_cluster_writes_an_owner_id_that_names_it(tmp_path, one_server_two_contexts):
    repo = write_files(tmp_path / "repo", FILES)
    applied = meshops(repo, one_server_two_contexts, "apply", "--yes")
    assert applied.returncode == 0, applied.stderr
    assert config_maps(one_server_two_contexts["blue"]) == {"blue-settings": f"{OWNER_ID}/prod/blue",
                                                            "green-settings": f"{OWNER_ID}/prod/green"}


def test_a_clusters_prune_never_touches_what_another_cluster_of_the_environment_applied(tmp_path, one_server_two_contexts):
    fleet = one_server_two_contexts
    repo = write_files(tmp_path / "repo", FILES)
    assert meshops(repo, fleet, "apply", "--yes").returncode == 0
    (repo / "environments/prod/clusters/blue.yaml").write_text("name: blue-renamed\n")
    planned = meshops(repo, fleet, "diff", "--cluster", "blue", "-o", "json")
    (blue,) = json.loads(planned.stdout)["clusters"]
    assert {(c["action"], c["name"]) for c in blue["plan"]["changes"]} == {("create", "blue-renamed"), ("prune", "blue-settings")}
    applied = meshops(repo, fleet, "apply", "--cluster", "blue", "--yes")
    assert applied.returncode == 0, applied.stderr
    assert config_maps(fleet["blue"]) == {"blue-renamed": f"{OWNER_ID}/prod/blue", "green-settings": f"{OWNER_ID}/prod/green"}


def test_an_object_another_cluster_of_the_environment_owns_is_a_conflict_naming_it(tmp_path, one_server_two_contexts):
    fleet = one_server_two_contexts
    repo = write_files(tmp_path / "repo", FILES)
    assert meshops(repo, fleet, "apply", "--cluster", "green", "--yes").returncode == 0
    (repo / "environments/prod/clusters/blue.yaml").write_text("name: green-settings\n")
    result = meshops(repo, fleet, "diff", "--cluster", "blue", "-o", "json")
    (blue,) = json.loads(result.stdout)["clusters"]
    (change,) = blue["plan"]["changes"]
    assert change["action"] == "conflict"
    assert change["reason"] == (f"owned by {OWNER_ID}/prod/green (meshops.dev/owner), not {OWNER_ID}/prod/blue: "
                                "another cluster of this environment applies it to the same API server")


def test_objects_applied_before_the_environment_listed_clusters_are_adopted_not_pruned(tmp_path, one_server_two_contexts):
    fleet = one_server_two_contexts
    one_cluster = {**FILES, "environments/prod/meshops.yaml": f"namespace: {NAMESPACE}\ncluster: {{context: blue}}\n",
                   "environments/prod/values.yaml": "name: blue-settings\n",
                   "templates/old.yaml.j2": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old-settings\n"}
    del one_cluster["environments/prod/clusters/blue.yaml"], one_cluster["environments/prod/clusters/green.yaml"]
    legacy = write_files(tmp_path / "legacy", one_cluster)
    assert meshops(legacy, fleet, "apply", "--yes").returncode == 0
    assert config_maps(fleet["blue"]) == {"blue-settings": f"{OWNER_ID}/prod", "old-settings": f"{OWNER_ID}/prod"}
    repo = write_files(tmp_path / "repo", FILES)
    planned = meshops(repo, fleet, "diff", "--cluster", "blue", "-o", "json")
    (blue,) = json.loads(planned.stdout)["clusters"]
    actions = {c["name"]: (c["action"], c["reason"]) for c in blue["plan"]["changes"]}
    assert actions["blue-settings"] == ("update", f"adopted: records meshops.dev/owner: {OWNER_ID}/prod/blue")
    assert actions["old-settings"] == ("keep", f"meshops.dev/owner: {OWNER_ID}/prod, from before the environment listed its "
                                               f"clusters; --adopt makes it {OWNER_ID}/prod/blue's and prunes it")
    applied = meshops(repo, fleet, "apply", "--cluster", "blue", "--yes")
    assert applied.returncode == 0, applied.stderr
    assert config_maps(fleet["blue"]) == {"blue-settings": f"{OWNER_ID}/prod/blue", "old-settings": f"{OWNER_ID}/prod"}
    adopted = meshops(repo, fleet, "apply", "--cluster", "blue", "--yes", "--adopt")
    assert adopted.returncode == 0, adopted.stderr
    assert config_maps(fleet["blue"]) == {"blue-settings": f"{OWNER_ID}/prod/blue"}
