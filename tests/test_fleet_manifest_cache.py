"""The manifest cache keys a render on the cluster whose values layer it merges.

An environment that spans clusters renders once per values set (base <- environment <-
`clusters/<name>.yaml` <- `--set`). Two clusters with different values must never share a cached
render, and editing a cluster's values file must miss. These tests render the fleet config repo
(a real git repository) through a real cache directory, and run the real CLI for `render --cluster`.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from helpers import run_meshops
from meshops.pipeline.fleet import Renders
from meshops.pipeline.manifest_cache import ManifestCache
from meshops.pipeline.rendering import OFFLINE_FINDINGS, render_text
from meshops.source.envconfig import load_env_config
from meshops.source.repo import open_source

AP_SOUTH_VALUES = "environments/prod/clusters/ap-south.yaml"
EU_WEST_VALUES = "environments/prod/clusters/eu-west.yaml"


def _with_ap_south_values(fleet_repo) -> str:
    """The fleet repo with a values file for ap-south too (eu-west has one already); its directory."""
    repo = fleet_repo.working_tree_dir
    (Path(repo) / AP_SOUTH_VALUES).write_text("region: ap-south\n")
    return repo


def _region(text: str) -> str:
    for document in yaml.safe_load_all(text):
        if document and document.get("kind") == "ConfigMap":
            return document["data"]["region"]
    raise AssertionError("no ConfigMap rendered")


def _text(repo: str, cluster: str, cache: ManifestCache) -> str:
    text, _, _ = render_text(repo=repo, ref=None, environment="prod", cluster=cluster, cache=cache)
    return text


def _key(repo: str, cluster: str | None, cache: ManifestCache) -> str | None:
    return cache.key(open_source(repo, None), repo=repo, environment="prod", sets=(), cluster=cluster)


def test_two_clusters_with_different_values_each_get_their_own_render_from_a_warm_cache(fleet_repo, tmp_path):
    repo = _with_ap_south_values(fleet_repo)
    cache = ManifestCache(tmp_path / "cache")
    cold = {cluster: _text(repo, cluster, cache) for cluster in ("eu-west", "ap-south")}
    assert _key(repo, "eu-west", cache) != _key(repo, "ap-south", cache)
    assert all(cache.load_text(_key(repo, cluster, cache)) is not None for cluster in cold)  # both kept: warm
    warm = {cluster: _text(repo, cluster, cache) for cluster in ("eu-west", "ap-south")}
    assert warm == cold
    assert {cluster: _region(text) for cluster, text in warm.items()} == {"eu-west": "eu-west", "ap-south": "ap-south"}


def test_editing_a_clusters_values_file_misses_and_renders_the_new_values(fleet_repo, tmp_path):
    repo = fleet_repo.working_tree_dir
    cache = ManifestCache(tmp_path / "cache")
    assert _region(_text(repo, "eu-west", cache)) == "eu-west"
    before = _key(repo, "eu-west", cache)
    (Path(repo) / EU_WEST_VALUES).write_text("region: eu-central\n")
    after = _key(repo, "eu-west", cache)
    assert after != before
    assert cache.load_text(after) is None
    assert _region(_text(repo, "eu-west", cache)) == "eu-central"


def test_a_fleets_renders_come_from_the_cache_per_values_set_with_their_offline_findings(fleet_repo, tmp_path):
    repo = _with_ap_south_values(fleet_repo)
    cache = ManifestCache(tmp_path / "cache")

    def renders() -> Renders:
        source = open_source(repo, None)
        return Renders(source, load_env_config(source.tree, "prod"), repo=repo, cache=cache)

    first = renders()
    for cluster in ("eu-west", "ap-south", "us-east"):
        first.validated(cluster)
    second = renders()
    regions = {}
    for cluster in ("eu-west", "ap-south", "us-east"):
        rendered = second.for_cluster(cluster)
        assert cache.knows(rendered)  # loaded from the cache, not rendered again
        assert OFFLINE_FINDINGS in rendered.derived  # validation kept beside it: skipped too
        regions[cluster] = next(m.obj["data"]["region"] for m in rendered.manifests if m.kind == "ConfigMap")
    assert regions == {"eu-west": "eu-west", "ap-south": "ap-south", "us-east": "none"}


def test_render_cluster_through_the_cache_prints_what_no_cache_prints_for_each_cluster(fleet_repo, tmp_path):
    repo = _with_ap_south_values(fleet_repo)
    env = {"MESHOPS_CACHE_DIR": str(tmp_path / "cache")}
    outputs = {}
    for cluster in ("eu-west", "ap-south"):
        args = ("render", "--env", "prod", "--cluster", cluster, "--repo", repo)
        runs = [run_meshops(*args, env=env), run_meshops(*args, env=env), run_meshops(*args, "--no-cache", env=env)]
        assert [run.returncode for run in runs] == [0, 0, 0], [run.stderr for run in runs]
        assert runs[0].stdout == runs[1].stdout == runs[2].stdout
        outputs[cluster] = _region(runs[0].stdout)
    assert outputs == {"eu-west": "eu-west", "ap-south": "ap-south"}
