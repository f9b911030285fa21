"""Rendering a git revision, layered values, and provenance (file and line) of rendered fields."""
from __future__ import annotations

from pathlib import Path

from meshops.render import render
from meshops.source.repo import open_source


def _reviews_vs(result):
    return next(m for m in result.manifests if m.kind == "VirtualService" and m.name == "reviews")


def _set_prod_reviews_version(root: Path, version: str) -> None:
    values = root / "environments/prod/values.yaml"
    text = values.read_text()
    values.write_text(text.replace("services:\n", f"services:\n  reviews:\n    port: 9080\n    version: {version}\n", 1))


def test_ref_renders_committed_values_while_the_working_tree_differs(example_repo, meshops):
    root = Path(example_repo.working_tree_dir)
    _set_prod_reviews_version(root, "v3")
    committed = meshops("render", "--env", "prod", "--repo", str(root), "--ref", "HEAD")
    working = meshops("render", "--env", "prod", "--repo", str(root))
    assert committed.returncode == 0 and working.returncode == 0, committed.stderr + working.stderr
    assert "subset: v3" not in committed.stdout
    assert "subset: v3" in working.stdout
    assert example_repo.is_dirty()  # the working tree was not touched by --ref


def test_ref_reads_an_older_commit_of_a_real_repository(example_repo):
    root = Path(example_repo.working_tree_dir)
    _set_prod_reviews_version(root, "v2")
    example_repo.git.add(A=True)
    example_repo.index.commit("reviews v2 in prod")
    latest = render(open_source(root, "HEAD"), "prod")
    previous = render(open_source(root, "HEAD~1"), "prod")
    subset = lambda result: _reviews_vs(result).obj["spec"]["http"][-1]["route"][0]["destination"]["subset"]  # noqa: E731
    assert (subset(previous), subset(latest)) == ("v1", "v2")
    assert latest.revision == example_repo.head.commit.hexsha


def test_working_tree_revision_is_marked_dirty_when_edited(example_repo):
    root = Path(example_repo.working_tree_dir)
    clean = open_source(root)
    (root / "environments/dev/values.yaml").write_text("# edited\n" + (root / "environments/dev/values.yaml").read_text())
    dirty = open_source(root)
    assert clean.revision == example_repo.head.commit.hexsha
    assert dirty.revision == example_repo.head.commit.hexsha + "-dirty"


def test_set_overrides_values_files(example_repo, meshops):
    root = example_repo.working_tree_dir
    result = meshops("render", "--env", "prod", "--repo", root, "--set", "services.reviews.version=v3")
    assert result.returncode == 0, result.stderr
    assert "subset: v3" in result.stdout


def test_environment_values_replace_lists_and_merge_maps():
    from helpers import REPO_ROOT

    result = render(open_source(REPO_ROOT), "dev")
    gateway = next(m for m in result.manifests if m.kind == "Gateway" and m.name == "bookinfo-gateway-https")
    assert [s["hosts"] for s in gateway.obj["spec"]["servers"]] == [["bookinfo.dev.example.com"]] * 2
    reviews = result.values.data["services"]["reviews"]
    assert reviews["canary"] == {"version": "v3", "weight": 20}  # from dev
    assert reviews["versions"] == ["v1", "v2", "v3"]  # from base, merged beside it


def test_rendered_fields_name_the_values_line_then_the_template_line():
    from helpers import REPO_ROOT

    result = render(open_source(REPO_ROOT), "staging")
    reviews = _reviews_vs(result)
    weight = [str(loc) for loc in reviews.locate(("spec", "http", 1, "route", 1, "weight"))]
    assert weight[0] == "environments/staging/values.yaml:" + str(_line_of(REPO_ROOT / "environments/staging/values.yaml", "weight: 10"))
    assert weight[1].startswith("templates/virtualservices.yaml.j2:")
    header = [str(loc) for loc in reviews.locate(("spec", "http", 0, "match", 0, "headers", "end-user", "exact"))]
    assert header[0] == "environments/base/values.yaml:" + str(_line_of(REPO_ROOT / "environments/base/values.yaml", "exact: jason"))
    literal = reviews.locate(("spec", "http", 1, "name"))
    assert [loc.file for loc in literal] == ["templates/virtualservices.yaml.j2"]
    template_line = (REPO_ROOT / "templates/virtualservices.yaml.j2").read_text().splitlines()[literal[0].line - 1]
    assert template_line.strip() == "- name: default"


def _line_of(path: Path, needle: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if needle in line)
