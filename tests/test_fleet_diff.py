"""An environment over several clusters: values per cluster, diff on each at once, one block per cluster."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import FLEET_CLUSTERS, run_meshops


def repo_dir(fleet_repo) -> str:
    return fleet_repo.working_tree_dir


@pytest.fixture
def three(fleet):
    for name in FLEET_CLUSTERS:
        fleet.add(name)
    return fleet


def diff(fleet_repo, fleet, *args: str):
    return run_meshops("diff", "--env", "prod", "--repo", repo_dir(fleet_repo), "--kubeconfig", fleet.kubeconfig, *args)


def test_each_cluster_is_diffed_with_its_own_values_layer(fleet_repo, three):
    result = diff(fleet_repo, three)
    assert result.returncode == 1, result.stderr
    blocks = {block.split(" ", 1)[0]: block for block in result.stdout.split("== prod/")[1:]}
    assert list(blocks) == list(FLEET_CLUSTERS)
    regions = {name: [line for line in block.splitlines() if "region:" in line] for name, block in blocks.items()}
    assert regions == {"us-east": ["+  region: none"], "eu-west": ["+  region: eu-west"], "ap-south": ["+  region: none"]}


def test_clusters_are_read_at_once_and_one_after_another_with_parallel_1(fleet_repo, three):
    from meshops.sandbox import Fault

    for name in FLEET_CLUSTERS:  # a slow LIST of ConfigMaps in every cluster makes the reads' windows wide
        three[name].faults.add(Fault(delay=0.5, verbs={"list"}, resources={"configmaps"}))

    def windows() -> list[tuple[float, float]]:
        spans = []
        for name in FLEET_CLUSTERS:
            lists = three[name].log.entries(verb="list", resource="configmaps")
            spans.append((min(e.time - e.duration for e in lists), max(e.time for e in lists)))
            three[name].log.clear()
        return sorted(spans)

    assert diff(fleet_repo, three).returncode == 1
    concurrent = windows()
    assert all(later[0] < earlier[1] for earlier, later in zip(concurrent, concurrent[1:])), concurrent
    assert diff(fleet_repo, three, "--parallel", "1").returncode == 1
    serial = windows()
    assert all(later[0] >= earlier[1] for earlier, later in zip(serial, serial[1:])), serial


@pytest.mark.parametrize("output", ["text", "json", "markdown"])
def test_a_diff_shared_between_processes_prints_what_one_process_prints(fleet_repo, three, output):
    (Path(repo_dir(fleet_repo)) / "environments/prod/clusters/ap-south.yaml").write_text("region: ap-south\n")
    shared, alone = diff(fleet_repo, three, "-o", output), diff(fleet_repo, three, "-o", output, "--parallel", "1")
    assert shared.returncode == alone.returncode == 1, shared.stderr
    assert (shared.stdout, shared.stderr) == (alone.stdout, alone.stderr)


def test_an_unreachable_cluster_is_its_own_block_and_the_exit_code_is_the_worst(fleet_repo, three):
    three["eu-west"].stop()
    result = diff(fleet_repo, three)
    assert result.returncode == 3
    assert "== prod/us-east (context us-east at https://" in result.stdout
    assert "== prod/ap-south (context ap-south at https://" in result.stdout
    assert "== prod/eu-west ==\nerror (exit 3): " in result.stdout
    assert result.stdout.count("to create, 0 to update") == 2
    assert [line for line in result.stderr.splitlines() if line.startswith("error: ")] == [
        line for line in result.stderr.splitlines() if line.startswith("error: prod/eu-west: ")]
    assert "Traceback" not in result.stderr


def test_cluster_narrows_the_diff_to_that_cluster_alone(fleet_repo, three):
    result = diff(fleet_repo, three, "--cluster", "eu-west", "-o", "json")
    assert result.returncode == 1, result.stderr
    assert [entry["cluster"] for entry in json.loads(result.stdout)["clusters"]] == ["eu-west"]
    assert len(three["eu-west"].log) > 0
    assert len(three["us-east"].log) == 0 and len(three["ap-south"].log) == 0


def test_markdown_groups_the_diff_by_cluster(fleet_repo, three):
    result = diff(fleet_repo, three, "-o", "markdown")
    assert result.returncode == 1, result.stderr
    text = result.stdout
    assert text.startswith("### meshops diff — `prod` @ ")
    positions = [text.index(f"#### `{name}` (context {name} at https://") for name in FLEET_CLUSTERS]
    assert positions == sorted(positions)
    assert text.count("**2 to create, 0 to update, 0 to prune, 0 unchanged**") == 3


def test_an_unknown_cluster_is_a_usage_error_naming_the_known_ones(fleet_repo, three):
    result = diff(fleet_repo, three, "--cluster", "eu-wset")
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: environment prod has no cluster 'eu-wset' "
                                     "(did you mean 'eu-west'? its clusters: us-east, eu-west, ap-south)")
    assert all(len(three[name].log) == 0 for name in FLEET_CLUSTERS)


def test_context_with_several_clusters_needs_cluster(fleet_repo, three):
    result = diff(fleet_repo, three, "--context", "us-east")
    assert result.returncode == 2
    assert "--context names one cluster, but environment prod spans 3" in result.stderr
    assert diff(fleet_repo, three, "--context", "eu-west", "--cluster", "us-east").returncode == 1  # us-east via eu-west's context
    assert len(three["eu-west"].log) > 0 and len(three["us-east"].log) == 0


def test_clusters_without_values_of_their_own_share_one_render(fleet_repo, three):
    from meshops.pipeline.fleet import open_fleet, plan_targets
    from meshops.pipeline.targets import Operator

    renders, targets = open_fleet(repo=repo_dir(fleet_repo), ref=None, environment="prod", operator=Operator(kubeconfig=three.kubeconfig))
    results = plan_targets(renders, targets)
    assert [r.error for r in results] == [None, None, None]
    assert renders.distinct == 2  # the environment's values (us-east, ap-south) and eu-west's layer
    by_cluster = {r.target.cluster: r.value.rendered for r in results}
    assert by_cluster["us-east"] is by_cluster["ap-south"] is not by_cluster["eu-west"]
    assert by_cluster["eu-west"].values.files[-1] == "environments/prod/clusters/eu-west.yaml"


def test_a_one_cluster_environment_diffs_as_before(fleet_repo, fleet):
    fleet.add("dev")
    result = run_meshops("diff", "--env", "dev", "--repo", repo_dir(fleet_repo), "--kubeconfig", fleet.kubeconfig, "-o", "json")
    assert result.returncode == 1, result.stderr
    assert set(json.loads(result.stdout)) == {"environment", "revision", "summary", "changes"}


def test_a_bad_cluster_values_file_is_an_error_at_its_line_before_any_cluster_is_read(fleet_repo, three):
    (Path(repo_dir(fleet_repo)) / "environments/prod/clusters/eu-west.yaml").write_text("region: [unclosed\n")
    result = diff(fleet_repo, three)
    assert result.returncode == 2
    assert result.stderr.startswith("error: environments/prod/clusters/eu-west.yaml:")
    assert all(len(three[name].log) == 0 for name in FLEET_CLUSTERS)


def test_render_with_cluster_merges_that_clusters_values(fleet_repo):
    result = run_meshops("render", "--env", "prod", "--cluster", "eu-west", "--repo", repo_dir(fleet_repo))
    assert result.returncode == 0, result.stderr
    assert "region: eu-west" in result.stdout
    plain = run_meshops("render", "--env", "prod", "--repo", repo_dir(fleet_repo))
    assert "region: none" in plain.stdout


def test_validate_renders_every_clusters_values_and_names_the_broken_file(fleet_repo):
    (Path(repo_dir(fleet_repo)) / "environments/prod/clusters/eu-west.yaml").write_text("region: {unclosed\n")
    result = run_meshops("validate", "--env", "prod", "--repo", repo_dir(fleet_repo), "-o", "json")
    assert result.returncode == 1
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["code"] == "MSH100"
    assert finding["locations"][0]["file"].endswith("environments/prod/clusters/eu-west.yaml")
    assert "validating offline, no cluster contacted" in result.stderr


def test_validate_against_a_cluster_of_an_environment_that_spans_several_needs_its_name(fleet_repo, three):
    args = ("validate", "--env", "prod", "--repo", repo_dir(fleet_repo), "--live", "--kubeconfig", three.kubeconfig)
    result = run_meshops(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("error: environment prod spans 3 clusters: us-east, eu-west, ap-south"), result.stderr
    assert all(len(three[name].log) == 0 for name in FLEET_CLUSTERS)
    checked = run_meshops(*args, "--cluster", "eu-west")
    assert checked.returncode == 0, checked.stderr
    assert "validating against the cluster (context eu-west at" in checked.stderr
    assert len(three["eu-west"].log) > 0 and len(three["us-east"].log) == 0


def test_envs_lists_each_environments_clusters_in_waves(fleet_repo):
    result = run_meshops("envs", "--repo", repo_dir(fleet_repo))
    assert result.stdout.splitlines()[1].endswith("clusters: us-east -> eu-west, ap-south")
    rows = json.loads(run_meshops("envs", "--repo", repo_dir(fleet_repo), "-o", "json").stdout)
    assert rows[1]["clusters"] == [{"name": "us-east", "context": "us-east", "wave": 1},
                                   {"name": "eu-west", "context": "eu-west", "wave": 2},
                                   {"name": "ap-south", "context": "ap-south", "wave": 2}]


@pytest.mark.parametrize("meshops_yaml, line, message", [
    ("clusters:\n  - {name: us-east}\nwaves: [[us-east], [eu-wset]]\n", 3, "waves name unknown cluster 'eu-wset'"),
    ("clusters:\n  - {name: a, context: prod}\n  - {name: b, context: prod}\n", 3,
     "clusters 'a' and 'b' name the same context 'prod' (each cluster is its own API server"),
    ("clusters:\n  - {name: a}\n  - {name: b}\nwaves: [[a]]\n", 4, "clusters in no wave: b"),
    ("cluster: {context: x}\nclusters:\n  - {name: a}\n", 1, "cluster and clusters exclude each other"),
    ("waves: [[a]]\n", 1, "waves need a clusters: list"),
    ("clusters:\n  - {name: a}\n  - {name: a}\n", 3, "cluster 'a' is listed twice"),
    ("clusters:\n  - {name: a}\nsoak: soon\n", 3, "soak"),
    ("clusters:\n  - {name: default}\n", 2, "'default' is the name of the single cluster: form's only cluster"),
    ("clusters:\n  - {name: a}\n  - {name: b, kubeconfig: /etc/k}\n", 3,
     "clusters[1].kubeconfig: a config repository may name a context, never a kubeconfig file"),
])
def test_a_broken_clusters_section_is_an_error_at_its_line(tmp_path, meshops_yaml, line, message):
    from helpers import write_files

    repo = write_files(tmp_path / "repo", {"environments/prod/values.yaml": "{}\n", "environments/prod/meshops.yaml": meshops_yaml})
    result = run_meshops("envs", "--repo", str(repo))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: environments/prod/meshops.yaml:{line}: ") and message in result.stderr, result.stderr


def test_a_values_file_for_a_cluster_the_environment_does_not_list_is_an_error(fleet_repo):
    (Path(repo_dir(fleet_repo)) / "environments/prod/clusters/eu-wset.yaml").write_text("region: typo\n")
    result = run_meshops("render", "--env", "prod", "--repo", repo_dir(fleet_repo))
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: environments/prod/clusters/eu-wset.yaml: values file for unknown cluster 'eu-wset' "
                                     "(did you mean 'eu-west'? name it <cluster>.yaml; clusters: ap-south, eu-west, us-east)")


def test_apply_with_an_unreachable_cluster_writes_none_of_its_wave_and_says_so_in_one_line(fleet_repo, three):
    three["ap-south"].stop()
    result = run_meshops("apply", "--env", "prod", "--yes", "--repo", repo_dir(fleet_repo), "--kubeconfig", three.kubeconfig)
    assert result.returncode == 3, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith("error: prod/ap-south: "), result.stderr
    assert "prod: stopped after wave 2" in result.stderr
    assert three.writes("us-east") != []  # wave 1 went
    assert three.writes("eu-west") == []  # its wave partner could not be planned with it: nothing of wave 2 is written


def test_a_mass_prune_in_any_cluster_stops_the_waves_before_a_write_and_the_flag_releases_it(fleet_repo, three):
    apply = ("apply", "--env", "prod", "--yes", "--repo", repo_dir(fleet_repo), "--kubeconfig", three.kubeconfig)
    assert run_meshops(*apply).returncode == 0
    root = Path(repo_dir(fleet_repo))
    (root / "templates/settings.yaml.j2").write_text("")  # renders nothing: prune everything?
    meshops_yaml = root / "environments/prod/meshops.yaml"  # allowed to render nothing, never to prune it all
    meshops_yaml.write_text(meshops_yaml.read_text() + "allowEmpty: true\n")
    for server in three.servers.values():
        server.log.clear()
    refused = run_meshops(*apply)
    assert refused.returncode == 2, refused.stderr
    assert "error: prod/us-east: " in refused.stderr and "renders no objects" in refused.stderr
    assert all(three.writes(name) == [] for name in FLEET_CLUSTERS)
    released = run_meshops(*apply, "--allow-mass-prune")
    assert released.returncode == 0, released.stderr
    assert all(three[name].store.items(("", "configmaps"), "fleet-prod") == [] for name in FLEET_CLUSTERS)


def test_crds_pull_reads_the_cluster_an_environment_that_spans_several_names(fleet_repo, fleet):
    from meshops.validate.schemas import shipped_crds

    for name in FLEET_CLUSTERS:
        fleet.add(name, crds=shipped_crds() if name == "eu-west" else None)
    pull = ("crds", "pull", "--env", "prod", "--repo", repo_dir(fleet_repo), "--kubeconfig", fleet.kubeconfig)
    result = run_meshops(*pull)
    assert result.returncode == 2 and "environment prod spans 3 clusters" in result.stderr
    result = run_meshops(*pull, "--cluster", "eu-west")
    assert result.returncode == 0, result.stderr
    assert "to " in result.stdout and (Path(repo_dir(fleet_repo)) / "crds/prod.yaml").is_file()
    assert len(fleet["eu-west"].log) > 0 and len(fleet["us-east"].log) == 0
