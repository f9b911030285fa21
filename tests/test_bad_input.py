"""Bad input, table-driven: one line `error: …` on stderr, the documented exit code, no traceback,
and — checked in the sandbox request log — no write.

Every case builds its own broken input (a repo file, a kubeconfig, a sandbox fault …) and names
the command to run; the assertions are the same for all of them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from helpers import copy_example_repo, run_meshops
from meshops.sandbox import Fault


@dataclass
class World:
    """What a case may break: the config repo, the sandbox, a scratch directory."""

    repo: Path
    tmp: Path
    mesh: object  # conftest.MeshSandbox

    def write(self, relative: str, content: str | bytes) -> Path:
        path = self.repo / relative if not relative.startswith("/") else Path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return path

    def append(self, relative: str, text: str) -> None:
        path = self.repo / relative
        path.write_text(path.read_text() + text)

    def scratch(self, name: str, content: str | bytes) -> Path:
        path = self.tmp / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return path

    @property
    def cluster(self) -> list[str]:
        return ["--kubeconfig", str(self.mesh.kubeconfig), "--context", "sandbox"]

    def kubeconfig(self, server: str, *, context: str = "sandbox", user: str = "user: {token: t}") -> Path:
        return self.scratch("kubeconfig", (
            f"apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: '{server}'}}\n"
            f"users:\n- name: u\n  {user}\ncontexts:\n- name: {context}\n  context: {{cluster: c, user: u}}\n"
            f"current-context: {context}\n"))


@dataclass
class Case:
    id: str
    exit_code: int
    command: Callable[[World], list[str]]  # may also break things in the world
    expect: str = ""  # a fragment of the error line
    stdout_empty: bool = True


VALUES = "environments/dev/values.yaml"
TEMPLATE = "templates/extra.yaml.j2"


def render(world: World, *extra: str) -> list[str]:
    return ["render", "--env", "dev", "--repo", str(world.repo), *extra]


def diff(world: World, *extra: str) -> list[str]:
    return ["diff", "--env", "dev", "--repo", str(world.repo), *world.cluster, *extra]


def apply(world: World, *extra: str) -> list[str]:
    return ["apply", "--env", "dev", "--repo", str(world.repo), "--yes", *world.cluster, *extra]


def validate_file(world: World, content: str | bytes, *extra: str) -> list[str]:
    return ["validate", "-f", str(world.scratch("manifest.yaml", content)), *extra]


def _git_repo(world: World) -> list[str]:
    """Commit the world's repo to git (reconcile reads git, not the working tree)."""
    import git

    repo = git.Repo.init(world.repo, initial_branch="main")
    repo.git.add(A=True)
    repo.index.commit("config", author=git.Actor("t", "t@x"), committer=git.Actor("t", "t@x"))
    return ["reconcile", "--repo", str(world.repo)]


def _with(action, build):
    """Run `action(world)` (breaking something), then return `build(world)`."""
    return lambda world: (action(world), build(world))[1]


CASES = [
    # --- render -----------------------------------------------------------------------------------------
    Case("render: malformed YAML in values", 2, _with(lambda w: w.append(VALUES, "\nx: [1,\n"), render), VALUES),
    Case("render: JSON-looking junk in values", 2, _with(lambda w: w.write(VALUES, '{"services": }'), render), VALUES),
    Case("render: values of the wrong type", 2,
         _with(lambda w: w.write(VALUES, "services:\n  reviews:\n    port: [9080]\n    version: v1\n"), render), VALUES),
    Case("render: binary junk as values", 2, _with(lambda w: w.write(VALUES, bytes(range(256))), render), VALUES),
    Case("render: binary junk as a template", 2, _with(lambda w: w.write(TEMPLATE, b"\xff\xfe\x00junk"), render), TEMPLATE),
    Case("render: undefined template variable", 2,
         _with(lambda w: w.write(TEMPLATE, "---\nkind: {{ values.missing }}\n"), render), TEMPLATE),
    Case("render: template renders a list, not an object", 2,
         _with(lambda w: w.write(TEMPLATE, "---\n- a\n- b\n"), render), TEMPLATE),
    Case("render: huge values file with a typo at the end", 2,
         _with(lambda w: w.append(VALUES, "\n" + "".join(f"# filler line {i}\n" for i in range(200_000)) + "servces: {}\n"), render),
         VALUES),
    Case("render: unknown environment", 2, lambda w: ["render", "--env", "qa", "--repo", str(w.repo)], "unknown environment 'qa'"),
    Case("render: repo that does not exist", 2, lambda w: ["render", "--env", "dev", "--repo", str(w.tmp / "nope")], "config repository"),
    Case("render: --ref in a directory without git", 2,
         lambda w: ["render", "--env", "dev", "--repo", str(copy_example_repo(w.tmp / "plain")), "--ref", "main"],
         "--ref main needs a git repository"),
    Case("render: unreadable --set", 2, lambda w: render(w, "--set", "=v2"), "cannot read"),
    # --- validate ---------------------------------------------------------------------------------------
    Case("validate: file that does not exist", 2, lambda w: ["validate", "-f", str(w.tmp / "missing.yaml")], "missing.yaml"),
    Case("validate: nothing to validate", 2, lambda w: ["validate"], "nothing to validate"),
    Case("validate: --crds file that holds no CRDs", 2,
         lambda w: ["validate", "--env", "dev", "--repo", str(w.repo), "--crds", str(w.scratch("crds.yaml", "kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\n"))],
         ""),
    Case("validate: --crds file that is not YAML", 2,
         lambda w: ["validate", "--env", "dev", "--repo", str(w.repo), "--crds", str(w.scratch("crds.yaml", "a: [\n"))], "crds.yaml"),
    Case("validate: unknown output format", 2, lambda w: ["validate", "--env", "dev", "--repo", str(w.repo), "-o", "xml"], ""),
    # --- diff -------------------------------------------------------------------------------------------
    Case("diff: invalid Istio object in the config", 2,
         _with(lambda w: w.write(TEMPLATE, "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec:\n  hosts: [x]\n  http:\n  - route:\n    - destination: {host: x}\n      weight: 150\n"), diff),
         "MSH"),
    Case("diff: unknown Istio kind", 2,
         _with(lambda w: w.write(TEMPLATE, "---\napiVersion: networking.istio.io/v1\nkind: VirtualServise\nmetadata: {name: x}\n"), diff),
         "MSH103"),
    Case("diff: kubeconfig that does not exist", 3, lambda w: ["diff", "--env", "dev", "--repo", str(w.repo), "--kubeconfig", str(w.tmp / "none")],
         "no kubeconfig at"),
    Case("diff: kubeconfig that is not YAML", 3,
         lambda w: ["diff", "--env", "dev", "--repo", str(w.repo), "--kubeconfig", str(w.scratch("kubeconfig", "::: not yaml [")), "--context", "x"],
         "kubeconfig"),
    Case("diff: context that is not in the kubeconfig", 3, lambda w: ["diff", "--env", "dev", "--repo", str(w.repo), "--kubeconfig", str(w.mesh.kubeconfig), "--context", "prod"],
         "context 'prod' is not in kubeconfig"),
    Case("diff: expired credentials (401)", 3,
         lambda w: ["diff", "--env", "dev", "--repo", str(w.repo), "--kubeconfig",
                    str(w.mesh.server.write_kubeconfig(w.tmp / "expired.kubeconfig", token="expired-token")),
                    "--context", "sandbox"],
         "unauthorized"),
    Case("diff: unreachable cluster", 3,
         lambda w: ["diff", "--env", "dev", "--repo", str(w.repo), "--kubeconfig", str(w.kubeconfig("http://127.0.0.1:9")), "--context", "sandbox"],
         "cannot reach the cluster"),
    Case("diff: cluster answers 403 Forbidden", 3,
         _with(lambda w: w.mesh.server.faults.add(Fault(status=403, verbs={"list"})), diff), "forbidden"),
    Case("diff: cluster keeps failing with 500", 3,
         _with(lambda w: w.mesh.server.faults.add(Fault(status=500)), diff), ""),
    Case("diff: Istio CRDs missing in the cluster", 3,
         _with(lambda w: [w.mesh.server.faults.add(Fault(status=404, verbs={"get"}, resources={None}))], diff), ""),
    Case("diff: unknown output format", 2, lambda w: diff(w, "-o", "yaml"), ""),
    # --- apply ------------------------------------------------------------------------------------------
    Case("apply: invalid config stops before any write", 2,
         _with(lambda w: w.write(TEMPLATE, "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: x}\nspec:\n  mtls: {mode: STRICTER}\n"), apply),
         "MSH"),
    Case("apply: target namespace exists nowhere", 3,
         _with(lambda w: w.write(TEMPLATE, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: nowhere}\n"), apply),
         "namespace 'nowhere' does not exist"),
    Case("apply: without --yes when not interactive", 2, lambda w: ["apply", "--env", "dev", "--repo", str(w.repo), *w.cluster], "--yes"),
    Case("apply: unreachable cluster", 3,
         lambda w: ["apply", "--env", "dev", "--yes", "--repo", str(w.repo), "--kubeconfig", str(w.kubeconfig("http://127.0.0.1:9")), "--context", "sandbox"],
         "cannot reach the cluster"),
    Case("apply: forbidden to list", 3, _with(lambda w: w.mesh.server.faults.add(Fault(status=403, verbs={"list"})), apply), "forbidden"),
    Case("apply: unknown environment", 2, lambda w: ["apply", "--env", "staging2", "--yes", "--repo", str(w.repo), *w.cluster],
         "unknown environment"),
    Case("apply: broken meshops.yaml", 2, _with(lambda w: w.write("environments/dev/meshops.yaml", "rollout: [\n"), apply),
         "environments/dev/meshops.yaml"),
    Case("apply: meshops.yaml with a wrong type", 2,
         _with(lambda w: w.write("environments/dev/meshops.yaml", "namespace: bookinfo\nproduction: maybe\n"), apply),
         "environments/dev/meshops.yaml:2"),
    Case("apply: dry run against an unreachable cluster", 3,
         lambda w: ["apply", "--env", "dev", "--dry-run=server", "--repo", str(w.repo), "--kubeconfig", str(w.kubeconfig("http://127.0.0.1:9")), "--context", "sandbox"],
         "cannot reach the cluster"),
    Case("apply: a config directory outside git and no --owner-id", 2,
         lambda w: ["apply", "--env", "dev", "--yes", "--repo", str(copy_example_repo(w.tmp / "plain")), *w.cluster],
         "not a git repository with a commit, so meshops cannot tell which repository owns"),
    Case("apply: an owner id with a slash", 2,
         lambda w: ["apply", "--env", "dev", "--yes", "--repo", str(w.repo), *w.cluster, "--owner-id", "acme/mesh"],
         "--owner-id 'acme/mesh' is not a valid owner id"),
    Case("apply: a prune share over 100 %", 2,
         lambda w: ["apply", "--env", "dev", "--yes", "--repo", str(w.repo), *w.cluster, "--max-prune-percent", "150"],
         "--max-prune-percent"),
    Case("reconcile: an owner id with a slash", 2,
         lambda w: ["reconcile", "--repo", str(w.repo), "--env", "dev", *w.cluster, "--owner-id", "a/b"], "is not a valid owner id"),
    # --- rollout ----------------------------------------------------------------------------------------
    Case("rollout status: service without a rollout", 2,
         lambda w: ["rollout", "status", "--env", "dev", "--repo", str(w.repo), *w.cluster, "reviews"], "no rollout of 'reviews'"),
    Case("rollout pause: service without a rollout", 2,
         lambda w: ["rollout", "pause", "--env", "dev", "--repo", str(w.repo), *w.cluster, "ratings"], "no rollout of 'ratings'"),
    Case("rollout run: unreadable --timeout", 2,
         lambda w: ["rollout", "run", "--env", "dev", "--repo", str(w.repo), *w.cluster, "--wait", "--timeout", "banana"], "--timeout"),
    Case("rollout status: unreachable cluster", 3,
         lambda w: ["rollout", "status", "--env", "dev", "--repo", str(w.repo), "--kubeconfig", str(w.kubeconfig("http://127.0.0.1:9")), "--context", "sandbox"],
         "cannot reach the cluster"),
    Case("apply: rollout policy that goes backwards", 2,
         _with(lambda w: w.write("environments/dev/meshops.yaml", "namespace: bookinfo\nrollout:\n  steps: [50, 25]\n"), apply),
         "environments/dev/meshops.yaml"),
    # --- serve and reconcile (webhook deliveries themselves: tests/test_serve.py) -------------------------
    Case("serve: no webhook secret", 2, lambda w: ["serve", "--repo", str(w.repo)], "--webhook-secret-file"),
    Case("serve: webhook secret file missing", 2,
         lambda w: ["serve", "--repo", str(w.repo), "--webhook-secret-file", str(w.tmp / "nope")], "cannot read the webhook secret file"),
    Case("serve: empty webhook secret", 2,
         lambda w: ["serve", "--repo", str(w.repo), "--webhook-secret-file", str(w.scratch("secret", ""))], "is empty"),
    Case("serve: --listen that is not HOST:PORT", 2,
         lambda w: ["serve", "--repo", str(w.repo), "--webhook-secret-file", str(w.scratch("secret", "s3cret\n")), "--listen", "nope"],
         "is not HOST:PORT"),
    Case("reconcile: repository that cannot be fetched", 3,
         lambda w: ["reconcile", "--repo", str(w.tmp / "no-such-repo"), "--all", "--cache-dir", str(w.tmp / "cache"), *w.cluster],
         "cannot clone"),
    Case("reconcile: unknown environment", 2, lambda w: _git_repo(w) + ["--env", "qa", "--cache-dir", str(w.tmp / "cache"), *w.cluster],
         "unknown environment 'qa'", stdout_empty=False),
    # --- crds -------------------------------------------------------------------------------------------
    Case("crds pull: unreachable cluster", 3,
         lambda w: ["crds", "pull", "--repo", str(w.repo), "--kubeconfig", str(w.kubeconfig("http://127.0.0.1:9")), "--context", "sandbox"], ""),
    Case("crds export: unknown group", 2, lambda w: ["crds", "export", "--group", "nope.istio.io"], ""),
    # --- sandbox ----------------------------------------------------------------------------------------
    Case("sandbox start: --crds with another kind", 2,
         lambda w: ["sandbox", "start", "--kubeconfig-out", str(w.tmp / "kc"), "--crds", str(w.scratch("c.yaml", "kind: Service\napiVersion: v1\nmetadata: {name: x}\n"))],
         "expected a CustomResourceDefinition"),
]


@pytest.fixture
def world(tmp_path, mesh_sandbox) -> World:
    return World(repo=copy_example_repo(tmp_path / "config", committed=True), tmp=tmp_path, mesh=mesh_sandbox)


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40, len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case, world: World):
    command = case.command(world)
    world.mesh.server.log.clear()
    result = run_meshops(*command, env={"MESHOPS_CACHE_DIR": str(world.tmp / "cache")}, timeout=120)
    world.mesh.server.faults.clear()
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == case.exit_code, (result.returncode, result.stderr, result.stdout[-500:])
    assert "Traceback" not in result.stderr + result.stdout
    error_lines = [line for line in lines if line.startswith("error: ")]
    assert len(error_lines) == 1, lines
    assert case.expect in error_lines[0], error_lines[0]
    if case.stdout_empty:
        assert result.stdout == "", result.stdout
    assert world.mesh.writes() == [], [f"{e.verb} {e.resource}/{e.name}" for e in world.mesh.writes()]


def test_validate_findings_are_exit_1_with_the_file_line_not_a_crash(world: World):
    result = run_meshops(*validate_file(world, b"\x00\x01binary"), "-o", "json")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert findings[0]["code"] == "MSH100"
