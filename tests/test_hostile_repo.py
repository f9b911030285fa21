"""The config repo (and the command line around it) as untrusted input: issue 12, one row per attack.

A pull request can put anything in the config repo: links to files outside it, templates that
never end or eat memory, YAML bombs, values that never converge; a workflow can pass a ref that
git reads as an option. Each row of CASES is a repository (files over the small team repo; `Link`
makes a symbolic link), a real `meshops` command line run in a subprocess against the sandbox API
server, and what meshops must do: the exit code, the one `error:` line on stderr (never a
traceback), text it must never print (a credential a link points at), files nobody may create,
and — from the sandbox request log — how many writes it may send (0 where it must refuse).

Adding a case is adding a row. Fields for the items others fix (1 kubeconfig from the repo,
3 ownership and prune brakes, 6 RBAC, 9 Prometheus URL masking) are here already: `live_objects`
seeds the cluster, `before` runs commands first, `never_created` names files a repo-supplied
program must not create.
"""
from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import TEAM_REPO_FILES, run_meshops

# What a link in the repo points at: a credential outside the repository.
TOKEN = "ghp_h0stileTestToken0123456789abcdef"
OUTSIDE_FILES = {
    "credentials": f"token: {TOKEN}\n",
    "kubeconfig": f"apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user: {{token: {TOKEN}}}\n",
    "templates-dir/stolen.yaml.j2": f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: stolen}}\ndata: {{token: {TOKEN}}}\n",
}
CLUSTER = ("--kubeconfig", "{kubeconfig}", "--context", "sandbox")
APPLY = ("apply", "--env", "dev", "--repo", "{repo}", "--yes", *CLUSTER)
DIFF = ("diff", "--env", "dev", "--repo", "{repo}", *CLUSTER)
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
NOTE = "note: "  # informational lines (validate says when it works offline) are not errors
SECRET_VALUE = "s3cr3t-db-password"


@dataclass(frozen=True)
class Link:
    """A symbolic link in the repo; `{outside}` in the target is the directory of OUTSIDE_FILES."""

    target: str


@dataclass(frozen=True)
class Case:
    """One hostile input and what meshops must answer (see module docstring)."""

    id: str
    item: int  # issue 12's numbering
    files: dict[str, str | Link]  # repo-relative path -> text or Link, over TEAM_REPO_FILES
    command: tuple[str, ...]  # after `meshops`; {repo} {kubeconfig} {outside} {tmp} are filled in
    exit_code: int
    error: str | None = None  # regex the single stderr line must match (None: no `error:` line at all)
    stdout: str | None = None  # regex stdout must match (findings, diffs)
    committed: bool = False  # commit the files (with their links) before running; use with --ref HEAD
    before: tuple[tuple[str, ...], ...] = ()  # commands that must succeed first (e.g. a first apply)
    live_objects: tuple[dict, ...] = ()  # objects created in the sandbox before anything runs
    writes: int | None = 0  # writes the command may send to the sandbox (None: not checked)
    never_shown: tuple[str, ...] = (TOKEN,)
    never_created: tuple[str, ...] = ()  # paths ({tmp}/...) that must not exist afterwards
    memory_limit: int | None = None  # address-space limit for the subprocess, so a regression fails fast


def _template(name: str, body: str) -> str:
    return f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: team-dev\n{body}"


def _alias_bomb(index: int) -> str:
    """A document of about a million nodes from 10 KB of text; thirty of them used 30 budgets before."""
    lines = [f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: bomb-{index}}}\nx0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"]
    lines += [f"x{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]\n" for level in range(1, 6)]
    return "".join(lines)


# `diff -o markdown` is what plan.yml posts as a pull-request comment.
LEAKING_PARTIAL = {"templates/_creds.j2": Link("{outside}/credentials"),
                   "templates/leak.yaml.j2": _template("leak", "data:\n  creds: \"{% include 'templates/_creds.j2' %}\"\n")}
SECRET_TEMPLATE = ("---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: team-dev\n"
                   f"stringData:\n  password: {SECRET_VALUE}\n")

CASES: tuple[Case, ...] = (
    # -- 2. symbolic links leave the repo ---------------------------------------------------------
    Case("values-file-links-to-a-credential", 2,
         {"environments/dev/values.yaml": Link("{outside}/credentials")}, APPLY, 2,
         r"error: environments/dev/values\.yaml: is a symbolic link; meshops never follows links in the config "
         r"repository \(replace the link with a copy of the file it points to\)$"),
    Case("values-file-links-to-a-credential-at-a-revision", 2,
         {"environments/dev/values.yaml": Link("{outside}/credentials")}, (*APPLY, "--ref", "HEAD"), 2,
         r"error: environments/dev/values\.yaml: is a symbolic link; meshops never follows links", committed=True),
    Case("an-included-partial-links-to-a-credential", 2, LEAKING_PARTIAL, (*DIFF, "-o", "markdown"), 2,
         r"error: templates/_creds\.j2: is a symbolic link"),
    Case("an-included-partial-links-to-a-credential-at-a-revision", 2, LEAKING_PARTIAL, (*DIFF, "-o", "markdown", "--ref", "HEAD"),
         2, r"error: templates/_creds\.j2: is a symbolic link", committed=True),
    Case("a-template-directory-links-outside", 2,
         {"templates/extra": Link("{outside}/templates-dir")}, APPLY, 2, r"error: templates/extra: is a symbolic link"),
    Case("meshops-yaml-links-inside-the-repo", 2,
         {"environments/dev/meshops.yaml": Link("../staging/meshops.yaml")}, APPLY, 2,
         r"error: environments/dev/meshops\.yaml: is a symbolic link"),
    Case("an-environment-directory-is-a-link", 2,
         {"environments/qa": Link("dev")}, ("render", "--env", "dev", "--repo", "{repo}", "--ref", "HEAD"), 2,
         r"error: environments/qa: is a symbolic link", committed=True),
    Case("the-values-schema-links-outside", 2,
         {"templates/values.schema.yaml": Link("{outside}/credentials")}, APPLY, 2,
         r"error: templates/values\.schema\.yaml: is a symbolic link"),
    Case("repo-crds-link-outside", 2,
         {"crds/istio.yaml": Link("{outside}/kubeconfig")}, ("validate", "--env", "dev", "--repo", "{repo}"), 2,
         r"error: crds/istio\.yaml: is a symbolic link"),
    # -- 4. unbounded templates --------------------------------------------------------------------
    Case("loops-inside-loops-run-out-of-time", 4,
         {"templates/slow.yaml.j2": _template("slow", "{% for i in range(100000) %}{% for j in range(100000) %}"
                                                      "{% endfor %}{% endfor %}\n")},
         (*APPLY, "--render-timeout", "2s"), 2,
         r"error: templates/slow\.yaml\.j2:7: rendering took longer than the render budget of 2 s \(look for loops"),
    Case("a-repeated-string-larger-than-the-memory-budget-is-refused-before-it-exists", 4,
         {"templates/big.yaml.j2": _template("big", "data:\n  a: \"{{ 'a' * 2*10**9 }}\"\n")},
         (*APPLY, "--render-memory", "256Mi"), 2,
         r"error: templates/big\.yaml\.j2:8: `\*` would make a value of 1\.9 GiB, over the render memory budget of 256 MiB"),
    Case("a-value-doubled-in-a-loop-runs-out-of-memory", 4,
         {"templates/grow.yaml.j2": _template("grow", "{% set ns = namespace(s='xxxxxxxx') %}\n"
                                                      "{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}\n")},
         (*APPLY, "--render-memory", "256Mi"), 2,
         r"error: templates/grow\.yaml\.j2:8: template needs more memory than the render budget of 256 MiB"),
    Case("a-power-too-long-to-print-is-refused", 4,
         {"templates/pow.yaml.j2": _template("pow", "data:\n  a: \"{{ 7 ** 999999 }}\"\n")}, APPLY, 2,
         r"error: templates/pow\.yaml\.j2:8: `\*\*` would make a number of more than 4300 digits"),
    # -- 7. alias bombs: one budget per file, not per document ------------------------------------
    Case("thirty-small-yaml-bombs-in-one-file-share-one-budget", 7,
         {"manifests/bombs.yaml": "".join("---\n" + _alias_bomb(index) for index in range(30))},
         ("validate", "-f", "{repo}/manifests/bombs.yaml"), 1, error=None,
         stdout=r"MSH100\s*\n\s*expands to too many nodes \(over 2,000,000 in the whole file\)",
         writes=None, memory_limit=1_500_000_000),
    # -- 8. a Secret written with stringData converges --------------------------------------------
    Case("a-secret-from-string-data-is-unchanged-after-apply", 8,
         {"templates/secret.yaml.j2": SECRET_TEMPLATE}, DIFF, 0, error=None, committed=True,
         stdout=r"0 to create, 0 to update, 0 to prune, 3 unchanged", before=(APPLY,),
         never_shown=(SECRET_VALUE, base64.b64encode(SECRET_VALUE.encode()).decode())),
    Case("a-second-apply-of-a-string-data-secret-writes-nothing", 8,
         {"templates/secret.yaml.j2": SECRET_TEMPLATE}, APPLY, 0, error=None, committed=True, before=(APPLY,),
         never_shown=(SECRET_VALUE, base64.b64encode(SECRET_VALUE.encode()).decode())),
    # -- 10. refs that git would read as options ----------------------------------------------------
    Case("affected-with-an-option-as-base", 10, {}, ("affected", "--repo", "{repo}", "--base=--output={tmp}/written"), 2,
         r"error: --base '--output=.*/written' looks like an option, not a git revision \(name a branch, tag or commit",
         committed=True, writes=None, never_created=("{tmp}/written",)),
    Case("affected-with-an-option-as-ref", 10, {}, ("affected", "--repo", "{repo}", "--base", "HEAD", "--ref=--output={tmp}/written"),
         2, r"error: --ref '--output=.*' looks like an option", committed=True, writes=None, never_created=("{tmp}/written",)),
    Case("render-with-an-option-as-ref", 10, {}, ("render", "--env", "dev", "--repo", "{repo}", "--ref=--output={tmp}/written"),
         2, r"error: --ref '--output=.*' looks like an option", committed=True, writes=None, never_created=("{tmp}/written",)),
    Case("reconcile-with-an-option-as-ref", 10, {},
         ("reconcile", "--repo", "{repo}", "--env", "dev", "--cache-dir", "{tmp}/cache", "--ref=--upload-pack=touch {tmp}/written",
          *CLUSTER), 2, r"error: --ref '--upload-pack=touch .*' looks like an option", committed=True,
         never_created=("{tmp}/written",)),
)


def _fill(text: str, places: dict[str, str]) -> str:
    for name, value in places.items():
        text = text.replace("{" + name + "}", value)
    return text


def _make_repo(case: Case, root: Path, places: dict[str, str]) -> None:
    """TEAM_REPO_FILES with the case's files over them; links as links; committed when the case says so."""
    import git

    for name, content in {**TEAM_REPO_FILES, **case.files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            if path.exists() or path.is_symlink():
                path.unlink()
            os.symlink(_fill(content.target, places), path)
        else:
            path.write_text(content)
    repo = git.Repo.init(root, initial_branch="main")
    if case.committed:
        with repo.config_writer() as writer:
            writer.set_value("user", "name", "meshops tests")
            writer.set_value("user", "email", "tests@meshops.dev")
        repo.git.add(A=True)
        repo.index.commit("hostile config")


def _writes(sandbox) -> list:
    return [entry for entry in sandbox.log.entries() if entry.verb in WRITE_VERBS and not entry.dry_run]


@pytest.mark.parametrize("case", CASES, ids=[f"{case.item}-{case.id}" for case in CASES])
def test_meshops_answers_a_hostile_repo_as_the_case_says(case: Case, mesh_sandbox, tmp_path: Path):
    outside = tmp_path / "outside"
    for name, text in OUTSIDE_FILES.items():
        (outside / name).parent.mkdir(parents=True, exist_ok=True)
        (outside / name).write_text(text)
    places = {"repo": str(tmp_path / "repo"), "kubeconfig": str(mesh_sandbox.kubeconfig), "outside": str(outside),
              "tmp": str(tmp_path)}
    _make_repo(case, tmp_path / "repo", places)
    for obj in case.live_objects:
        mesh_sandbox.server.create(obj)
    for command in case.before:
        done = run_meshops(*(_fill(arg, places) for arg in command), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    mesh_sandbox.server.log.clear()

    result = run_meshops(*(_fill(arg, places) for arg in case.command), cwd=tmp_path, memory_limit=case.memory_limit)

    assert result.returncode == case.exit_code, result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith(NOTE)]
    if case.error is None:
        assert not any(line.startswith("error:") for line in lines), result.stderr
    else:
        assert len(lines) == 1 and re.match(case.error, lines[0]), result.stderr
    if case.stdout is not None:
        assert re.search(case.stdout, result.stdout), result.stdout
    for secret in case.never_shown:
        assert secret not in result.stdout + result.stderr
    for path in case.never_created:
        assert not Path(_fill(path, places)).exists()
    if case.writes is not None:
        assert len(_writes(mesh_sandbox.server)) == case.writes, [(e.verb, e.path) for e in _writes(mesh_sandbox.server)]
