"""The manifest cache never answers with a stale render: every kind of input change misses.

Each change test renders the example repo (a real git repository) through a cache, changes one
input, and checks that the key moved and that what the cache hands back now is exactly a fresh
render of the changed repo. The CLI tests run `meshops diff` cold, warm and with `--no-cache`
against the sandbox and compare the bytes.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import pytest

from helpers import copy_example_repo
from meshops.model.errors import ConfigError
from meshops.model.readscope import EVERY_POD, OFFLINE, LiveScope
from meshops.pipeline.manifest_cache import FORMAT, MAGIC, ManifestCache
from meshops.pipeline.rendering import InvalidConfig, render_text, render_validated
from meshops.source.inputs import RecordingTree
from meshops.source.repo import open_source
from meshops.validate.schemas import shipped_crds
from meshops.validate.schemas.repo import crds_yaml


def _render(repo: Path, cache: ManifestCache | None, *, sets: tuple[str, ...] = (), ref: str | None = None):
    return render_validated(repo=str(repo), ref=ref, environment="dev", sets=sets, cache=cache)


def _objects(rendered) -> list[dict]:
    return [manifest.obj for manifest in rendered.manifests]


def _key(cache: ManifestCache, repo: Path, sets: tuple[str, ...] = (), ref: str | None = None) -> str:
    return cache.key(open_source(repo, ref), repo=str(repo), environment="dev", sets=sets)


def _edit(relative: str, old: str, new: str) -> Callable[[Path], tuple[str, ...]]:
    def change(repo: Path) -> tuple[str, ...]:
        path = repo / relative
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
        return ()

    return change


def _add(relative: str, text: str) -> Callable[[Path], tuple[str, ...]]:
    def change(repo: Path) -> tuple[str, ...]:
        (repo / relative).parent.mkdir(parents=True, exist_ok=True)
        (repo / relative).write_text(text)
        return ()

    return change


def _ignored_template(repo: Path) -> tuple[str, ...]:
    (repo / ".gitignore").write_text("*.local.yaml.j2\n")
    return _add("templates/extra.local.yaml.j2", CONFIGMAP)(repo)


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {a: b}\n"
CHANGES: dict[str, Callable[[Path], tuple[str, ...]]] = {
    "a template": _edit("templates/namespaces.yaml.j2", "istio-injection: enabled", "istio-injection: disabled"),
    "a new template": _add("templates/extra.yaml.j2", CONFIGMAP),
    "a template git ignores": _ignored_template,
    "the environment's values": _edit("environments/dev/values.yaml", "hosts: [reviews.dev.example.com]\n\nservices",
                                      "hosts: [reviews2.dev.example.com]\n\nservices"),
    "the environment's meshops.yaml": _edit("environments/dev/meshops.yaml", "Shared development cluster", "Dev"),
    "the base values": _edit("environments/base/values.yaml", "istio: ingressgateway", "istio: edge-gateway"),
    "a --set": lambda repo: ("ingressSelector.istio=edge",),
}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_a_change_of_any_input_misses_and_the_render_is_fresh(example_repo, tmp_path, change):
    repo = Path(example_repo.working_tree_dir)
    cache = ManifestCache(tmp_path / "cache")
    before, _ = _render(repo, cache)
    assert _render(repo, cache)[0].values is None  # the second render was a hit
    key = _key(cache, repo)
    sets = CHANGES[change](repo)
    assert _key(cache, repo, sets) != key
    cached, _ = _render(repo, cache, sets=sets)
    fresh, _ = _render(repo, None, sets=sets)
    assert cached.values is not None, "a miss renders"
    assert (_objects(cached), cached.config.data) == (_objects(fresh), fresh.config.data)
    assert (_objects(cached), cached.config.data) != (_objects(before), before.config.data)


# Files render and validation read, each replaced by a link to an identical copy outside the repo:
# a key made by following links would not move, and the cache would answer for a repo render refuses.
LINKED = ("environments/dev/values.yaml", "environments/base/values.yaml", "templates/namespaces.yaml.j2")


@pytest.mark.parametrize("at_revision", [False, True], ids=["working tree", "revision"])
@pytest.mark.parametrize("linked", LINKED)
def test_a_link_that_appears_after_a_cached_render_is_refused_as_without_the_cache(example_repo, tmp_path, linked,
                                                                                   at_revision):
    repo = Path(example_repo.working_tree_dir)
    cache = ManifestCache(tmp_path / "cache")
    ref = "HEAD" if at_revision else None
    _render(repo, cache, ref=ref)
    outside = tmp_path / "outside" / Path(linked).name
    outside.parent.mkdir()
    outside.write_bytes((repo / linked).read_bytes())
    (repo / linked).unlink()
    (repo / linked).symlink_to(outside)
    if at_revision:
        example_repo.git.add(A=True)
        example_repo.git.commit("-qm", "a link")
    with pytest.raises(ConfigError) as cached:
        _render(repo, cache, ref=ref)
    with pytest.raises(ConfigError) as fresh:
        _render(repo, None, ref=ref)
    assert cached.value.one_line() == fresh.value.one_line()
    assert f"{linked}: is a symbolic link" in cached.value.one_line()


def test_repo_crds_are_an_input_validation_sees_at_once(example_repo, tmp_path):
    repo = Path(example_repo.working_tree_dir)
    cache = ManifestCache(tmp_path / "cache")
    _render(repo, cache)
    narrowed = []
    for crd in shipped_crds():
        if crd["spec"]["names"]["kind"] == "VirtualService":
            for version in crd["spec"]["versions"]:
                version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"].pop("http", None)
        narrowed.append(crd)
    (repo / "crds").mkdir()
    (repo / "crds" / "istio.yaml").write_text(crds_yaml(narrowed, source="test"))
    with pytest.raises(InvalidConfig) as cached:
        _render(repo, cache)
    with pytest.raises(InvalidConfig) as fresh:
        _render(repo, None)
    assert cached.value.message == fresh.value.message and "http" in cached.value.message


def test_another_meshops_version_misses(example_repo, tmp_path):
    repo = Path(example_repo.working_tree_dir)
    old, new = ManifestCache(tmp_path / "cache", version="1.0.0"), ManifestCache(tmp_path / "cache", version="1.0.1")
    _render(repo, old)
    assert _key(old, repo) != _key(new, repo)
    assert new.load(_key(new, repo), open_source(repo), environment="dev") is None
    assert old.load(_key(old, repo), open_source(repo), environment="dev") is not None


def test_revisions_are_keyed_by_their_git_trees(example_repo, tmp_path):
    repo = Path(example_repo.working_tree_dir)
    cache = ManifestCache(tmp_path / "cache")
    first = example_repo.head.commit.hexsha
    _edit("environments/base/values.yaml", "istio: ingressgateway", "istio: edge-gateway")(repo)
    example_repo.git.commit("-qam", "gateway selector")
    for ref in (first, "HEAD", first):
        cached, _ = _render(repo, cache, ref=ref)
        fresh, _ = _render(repo, None, ref=ref)
        assert _objects(cached) == _objects(fresh) and cached.revision == fresh.revision
    assert _key(cache, repo, ref=first) != _key(cache, repo, ref="HEAD")


def test_one_repo_never_answers_for_another_with_the_same_content(tmp_path):
    first, second = copy_example_repo(tmp_path / "a"), copy_example_repo(tmp_path / "b")
    cache = ManifestCache(tmp_path / "cache")
    assert _key(cache, first) != _key(cache, second)


def test_a_hit_keeps_every_finding_location_of_a_fresh_render(example_repo, tmp_path):
    repo = Path(example_repo.working_tree_dir)
    cache = ManifestCache(tmp_path / "cache")
    fresh, fresh_findings = _render(repo, cache)
    cached, cached_findings = _render(repo, cache)
    assert cached.values is None and cached_findings == fresh_findings
    for manifest, original in zip(cached.manifests, fresh.manifests):
        for path in list(original.source.document.lines) + [("spec", "no", "such", "field")]:
            assert manifest.locate(path) == original.locate(path)


def test_a_damaged_entry_is_a_miss(example_repo, tmp_path):
    repo = Path(example_repo.working_tree_dir)
    cache = ManifestCache(tmp_path / "cache")
    _render(repo, cache)
    [entry] = list((tmp_path / "cache").glob("*.bin"))
    data = bytearray(entry.read_bytes())
    assert data.startswith(MAGIC) and data[len(MAGIC)] == FORMAT
    data[-10] ^= 0xFF
    entry.write_bytes(bytes(data))
    assert cache.load(_key(cache, repo), open_source(repo), environment="dev") is None
    assert _render(repo, cache)[0].values is not None


def _entry_size(repo: Path, directory: Path) -> int:
    _render(repo, ManifestCache(directory))
    [entry] = directory.glob("*.bin")
    return entry.stat().st_size


def test_the_cache_stays_within_its_size_bound_dropping_the_least_recently_used(tmp_path):
    one_entry = _entry_size(copy_example_repo(tmp_path / "probe"), tmp_path / "probe-cache")
    bound = int(one_entry * 4.5)  # four entries of the example repo, not five
    cache = ManifestCache(tmp_path / "cache", max_bytes=bound)
    repos = [copy_example_repo(tmp_path / f"repo-{index}") for index in range(6)]
    for repo in repos:
        _render(repo, cache)
    sizes = [path.stat().st_size for path in (tmp_path / "cache").glob("*.bin")]
    assert 2 <= len(sizes) < 6 and sum(sizes) <= bound
    kept = [cache.load(_key(cache, repo), open_source(repo), environment="dev") is not None for repo in repos]
    assert kept[-1] and not kept[0]


def test_render_keeps_its_yaml_and_prints_it_again_unchanged(example_repo, tmp_path):
    repo = Path(example_repo.working_tree_dir)
    cache = ManifestCache(tmp_path / "cache")
    fresh, _ = _render(repo, None)
    cold = render_text(repo=str(repo), ref=None, environment="dev", cache=cache)
    assert list((tmp_path / "cache").glob("*.yaml"))
    warm = render_text(repo=str(repo), ref=None, environment="dev", cache=ManifestCache(tmp_path / "cache"))
    assert cold == warm == (fresh.to_yaml(), len(fresh.manifests), [])


def test_a_render_kept_by_meshops_render_is_checked_as_a_fresh_one_before_a_plan(tmp_path):
    repo = copy_example_repo(tmp_path / "repo")
    path = repo / "environments" / "dev" / "meshops.yaml"
    path.write_text(path.read_text().replace("  url: http://prometheus.istio-system:9090\n",
                                             "  url: http://prometheus.istio-system:9090\n  password: hunter2\n", 1))
    cache = ManifestCache(tmp_path / "cache")
    render_text(repo=str(repo), ref=None, environment="dev", cache=cache)  # `meshops render` keeps it unchecked
    with pytest.raises(ConfigError) as fresh:
        _render(repo, None)
    with pytest.raises(ConfigError) as kept:
        _render(repo, cache)
    assert "prometheus.password" in fresh.value.one_line() and "hunter2" not in fresh.value.one_line()
    assert kept.value.one_line() == fresh.value.one_line()


def test_reads_outside_the_keyed_paths_are_found():
    class Files:
        def read(self, path):
            return b""

        def listdir(self, path):
            return ["dev", "prod"]

        def is_dir(self, path):
            return True

    tree = RecordingTree(Files())
    tree.listdir("environments")
    tree.is_dir("environments/prod")
    tree.read("templates/a.yaml.j2")
    assert tree.outside(["templates"], listing_only=("environments",)) == []
    tree.read("environments/prod/values.yaml")
    tree.read("policies/x.yaml")
    assert tree.outside(["templates"], listing_only=("environments",)) == ["environments/prod/values.yaml", "policies/x.yaml"]


# --- the CLI --------------------------------------------------------------------------------------

@pytest.fixture
def diff_cli(meshops, mesh_sandbox, tmp_path):
    repo = copy_example_repo(tmp_path / "config", committed=True)  # its root commit owns what it applies
    cluster = ("--repo", str(repo), "--kubeconfig", str(mesh_sandbox.kubeconfig), "--context", "sandbox")
    cache = {"MESHOPS_CACHE_DIR": str(tmp_path / "cache")}
    assert meshops("apply", "--env", "dev", "--yes", "--no-cache", *cluster, env=cache).returncode == 0
    _add("templates/notes.txt", "remember the canary\n")(repo)  # not rendered: every run names it
    values = repo / "environments" / "dev" / "values.yaml"
    values.write_text(values.read_text().replace("hosts: [reviews.dev.example.com]\n\nservices",
                                                 "hosts: [reviews2.dev.example.com]\n\nservices"))

    def run(*args: str):
        return meshops("diff", "--env", "dev", *args, *cluster, env=cache)

    return run, tmp_path / "cache" / "manifests"


@pytest.mark.parametrize("output", ["text", "json", "markdown"])
def test_diff_prints_the_same_bytes_with_and_without_the_cache(diff_cli, output):
    run, cache = diff_cli
    uncached = run("-o", output, "--no-cache")
    assert not cache.exists() or not list(cache.glob("*.bin"))
    cold = run("-o", output)
    assert list(cache.glob("*.bin"))
    warm = run("-o", output)
    assert uncached.returncode == cold.returncode == warm.returncode == 1, uncached.stderr
    assert uncached.stdout == cold.stdout == warm.stdout and "reviews2.dev.example.com" in warm.stdout
    assert uncached.stderr == cold.stderr == warm.stderr and "warning: templates/notes.txt: not rendered" in warm.stderr


def test_a_hit_still_checks_the_config_against_the_live_cluster(diff_cli, mesh_sandbox):
    run, _ = diff_cli
    assert run().returncode == 1  # cold: validated offline and stored
    foreign = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
               "metadata": {"name": "reviews-by-hand", "namespace": "bookinfo"},
               "spec": {"hosts": ["reviews"], "http": [{"route": [{"destination": {"host": "reviews"}}]}]}}
    mesh_sandbox.custom_objects().create_namespaced_custom_object("networking.istio.io", "v1", "bookinfo",
                                                                   "virtualservices", foreign)
    warm, uncached = run(), run("--no-cache")
    assert warm.returncode == uncached.returncode == 2 and "MSH208" in warm.stderr
    assert (warm.stdout, warm.stderr) == (uncached.stdout, uncached.stderr)


def _kept_live_findings(repo: Path, tmp_path: Path, live: list[dict], scope: LiveScope) -> tuple[ManifestCache, list]:
    """A cache holding a render of `repo` and a live-check finding for it against `live` read within `scope`."""
    from meshops.validate.findings import Finding, Severity

    cache = ManifestCache(tmp_path / "cache")
    rendered, _ = _render(repo, cache)
    found = [Finding(code="MSH204", severity=Severity.INFO, message="m", object=None)]
    assert cache.keep_live_findings(rendered, live, scope, found)
    return ManifestCache(tmp_path / "cache"), found


def test_live_check_findings_are_reused_only_against_the_same_live_objects(example_repo, tmp_path):
    repo = Path(example_repo.working_tree_dir)
    live = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "reviews", "namespace": "bookinfo", "resourceVersion": "7"}}]
    again, found = _kept_live_findings(repo, tmp_path, live, OFFLINE)
    warm, _ = _render(repo, again)
    assert again.live_findings(warm, live, OFFLINE) == found
    live[0]["metadata"]["resourceVersion"] = "8"
    assert again.live_findings(warm, live, OFFLINE) is None
    assert again.live_findings(_render(repo, None)[0], live[:0], OFFLINE) is None  # a render the cache did not key


def test_clusters_sharing_a_render_keep_their_live_check_findings_side_by_side(example_repo, tmp_path):
    from meshops.validate.findings import Finding, Severity

    repo = Path(example_repo.working_tree_dir)
    clusters = {name: [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "reviews", "namespace": "bookinfo",
                                                                            "uid": name}}] for name in ("us", "eu", "ap")}
    cache = ManifestCache(tmp_path / "cache")
    rendered, _ = _render(repo, cache)
    kept = {name: [Finding(code="MSH204", severity=Severity.INFO, message=name, object=None)] for name in clusters}
    for name, live in clusters.items():  # one run over the fleet
        assert cache.keep_live_findings(rendered, live, OFFLINE, kept[name])
    again = ManifestCache(tmp_path / "cache")
    warm, _ = _render(repo, again)
    assert {name: again.live_findings(warm, live, OFFLINE) for name, live in clusters.items()} == kept  # the next run


def test_an_entry_keeps_the_live_check_findings_of_its_newest_cluster_states_only(example_repo, tmp_path):
    from meshops.pipeline.manifest_cache import LIVE_FINDINGS_PER_ENTRY

    repo = Path(example_repo.working_tree_dir)
    cache = ManifestCache(tmp_path / "cache")
    rendered, _ = _render(repo, cache)
    states = [[{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "reviews", "resourceVersion": str(n)}}]
              for n in range(LIVE_FINDINGS_PER_ENTRY + 5)]
    for state in states:
        assert cache.keep_live_findings(rendered, state, OFFLINE, [])
        time.sleep(0.01)  # file times tick in milliseconds: one state after the other
    assert len(list((tmp_path / "cache").glob("*.live"))) == LIVE_FINDINGS_PER_ENTRY
    assert cache.live_findings(rendered, states[-1], OFFLINE) == []  # the newest are kept
    assert cache.live_findings(rendered, states[0], OFFLINE) is None  # the oldest went first


def test_live_check_findings_are_reused_only_for_the_same_read_of_pods_and_secrets(example_repo, tmp_path):
    repo = Path(example_repo.working_tree_dir)
    read = LiveScope(pod_namespaces=frozenset({"bookinfo", "istio-system"}), secret_namespaces=frozenset({"istio-system"}),
                     pod_selectors=frozenset({frozenset({("istio", "ingressgateway"), ("app", "gw")})}))
    again, found = _kept_live_findings(repo, tmp_path, [], read)
    warm, _ = _render(repo, again)
    assert again.live_findings(warm, [], LiveScope(pod_namespaces=read.pod_namespaces, secret_namespaces=read.secret_namespaces,
                                                   pod_selectors=read.pod_selectors)) == found
    assert again.live_findings(warm, [], LiveScope(pod_namespaces=read.pod_namespaces, pod_selectors=read.pod_selectors)) is None
    assert again.live_findings(warm, [], EVERY_POD) is None


def test_a_render_with_plain_manifests_is_not_kept(tmp_path):
    repo = copy_example_repo(tmp_path / "repo")
    _add("environments/dev/manifests/extra.yaml", CONFIGMAP)(repo)
    cache = ManifestCache(tmp_path / "cache")
    rendered, _ = _render(repo, cache)
    assert "ConfigMap" in [manifest.kind for manifest in rendered.manifests]
    text, _, _ = render_text(repo=str(repo), ref=None, environment="dev", cache=cache)
    assert "name: extra" in text
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())


def test_a_warm_run_names_the_files_not_rendered_as_the_cold_one(tmp_path, meshops):
    repo = copy_example_repo(tmp_path / "repo")
    _add("templates/notes.txt", "remember the canary\n")(repo)
    cache = {"MESHOPS_CACHE_DIR": str(tmp_path / "cache")}
    for output in ("yaml", "json"):
        args = ("render", "--env", "dev", "--repo", str(repo)) + (("-o", "json") if output == "json" else ())
        cold, warm, uncached = meshops(*args, env=cache), meshops(*args, env=cache), meshops(*args, "--no-cache", env=cache)
        assert cold.returncode == warm.returncode == 0, cold.stderr
        assert "warning: templates/notes.txt: not rendered" in cold.stderr
        assert (cold.stdout, cold.stderr) == (warm.stdout, warm.stderr) == (uncached.stdout, uncached.stderr)
    assert list((tmp_path / "cache" / "manifests").glob("*.bin")) and list((tmp_path / "cache" / "manifests").glob("*.yaml"))


def test_a_kind_only_the_clusters_crd_knows_diffs_with_a_cold_and_a_warm_cache(meshops, mesh_sandbox, tmp_path):
    from test_istio_kinds import FUTURE_CRD, QUOTA

    mesh_sandbox.server.install_crds([FUTURE_CRD])
    repo = copy_example_repo(tmp_path / "config", committed=True)
    quota = repo / "templates" / "quota.yaml.j2"
    quota.write_text(QUOTA.replace("SPEC", "{requestsPerSecond: 50}"))
    cluster = ("--repo", str(repo), "--kubeconfig", str(mesh_sandbox.kubeconfig), "--context", "sandbox")
    cache = {"MESHOPS_CACHE_DIR": str(tmp_path / "cache")}
    cold, warm = (meshops("diff", "--env", "dev", *cluster, env=cache) for _ in range(2))
    for planned in (cold, warm):
        assert planned.returncode == 1 and "+ MeshQuota bookinfo/productpage (create)" in planned.stdout, planned.stderr
    assert (cold.stdout, cold.stderr) == (warm.stdout, warm.stderr)
    assert list((tmp_path / "cache" / "manifests").glob("*.bin"))  # the render is kept, its findings are not
    assert not list((tmp_path / "cache" / "manifests").glob("*.live"))
    quota.write_text(QUOTA.replace("SPEC", "{requestsPerSecnd: 50}"))
    refused, again = (meshops("diff", "--env", "dev", *cluster, env=cache) for _ in range(2))
    for run in (refused, again):
        assert run.returncode == 2 and "MSH105" in run.stderr and "requestsPerSecond" in run.stderr
