"""The config repo as untrusted input, part two (issue 12 items 1, 3, 6): credentials, ownership, scope, brakes.

Same shape as the hostile-repo table (`tests/test_hostile_repo.py`): each row of CASES is a small
repository (files over TEAM_REPO_FILES), a real `meshops` command line run in a subprocess against
the sandbox API server, and what meshops must do — the exit code, the one `error:` line on
stderr, what it must never create, and, from the sandbox request log, how many writes it may send.
What these items add to the shape:
- a repository has a history: `earlier` files are what `before` commands run against (a first
  apply, a reconcile), then the repository becomes `files` minus `removed` (a later commit);
- `other` is a second repository (two teams that both call an environment `dev`);
- `later_objects` are created in the cluster after `before` (an unmanaged object in a namespace
  meshops created); `faults` make the sandbox refuse what namespaced RBAC refuses;
- `object_writes` counts writes to anything but Leases and Events (reconcile records a refusal on
  its Lease and in an Event: a status, not a change); `exist` and `gone` name objects
  (`group/plural/namespace/name`) that must or must not exist afterwards; `events` the reasons
  of Warning Events that must have been recorded; `requests` the total requests allowed.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers import TEAM_REPO_FILES, commit_all, run_meshops
from meshops.sandbox import Fault

CLUSTER = ("--kubeconfig", "{kubeconfig}", "--context", "sandbox")
APPLY = ("apply", "--env", "dev", "--repo", "{repo}", "--yes", *CLUSTER)
DIFF = ("diff", "--env", "dev", "--repo", "{repo}", *CLUSTER)
RECONCILE = ("reconcile", "--env", "dev", "--repo", "{repo}", "--cache-dir", "{tmp}/cache", *CLUSTER)
OTHER_APPLY = ("apply", "--env", "dev", "--repo", "{other}", "--yes", *CLUSTER)
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
STATUS_RESOURCES = frozenset({"leases", "events"})  # where reconcile records what it did (or refused)
NOTE = "note: "

# A kubeconfig whose user runs a program to get its credentials; the program leaves a mark.
EXEC_KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: evil
  cluster: {server: "https://127.0.0.1:9"}
users:
- name: evil
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: sh
      args: ["-c", "touch {tmp}/pwned"]
      interactiveMode: Never
contexts:
- name: evil
  context: {cluster: evil, user: evil}
current-context: evil
"""
PWNED = "{tmp}/pwned"
DEV_MESHOPS_YAML = TEAM_REPO_FILES["environments/dev/meshops.yaml"]
EXEC_PLUGIN_REPO = {
    "evil.kubeconfig": EXEC_KUBECONFIG,
    "environments/dev/meshops.yaml": DEV_MESHOPS_YAML.replace("cluster: {context: sandbox}",
                                                              "cluster: {context: evil, kubeconfig: '{repo}/evil.kubeconfig'}"),
}
KUBECONFIG_ERROR = (r"error: environments/dev/meshops\.yaml:\d+: cluster\.kubeconfig: a config repository may name a context, "
                    r"never a kubeconfig file .* \(remove it; pass --kubeconfig FILE or set \$KUBECONFIG where meshops runs")
# The operator's kubeconfig, as CI or a laptop has it: in the environment, not on the command line.
OPERATOR_ENV = {"KUBECONFIG": "{kubeconfig}"}


def _configmaps(template: str, names: list[str], *, namespace: str = "team-dev", annotations: str = "") -> dict[str, str]:
    body = "".join(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
                   f"{annotations}data: {{n: '{name}'}}\n" for name in names)
    return {f"templates/{template}.yaml.j2": body}


FOUR_EXTRAS = _configmaps("extra", ["extra-1", "extra-2", "extra-3", "extra-4"])
ONE_EXTRA = _configmaps("extra", ["extra-1"])
TAGGED = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "tagged", "namespace": "istio-system",
                       "labels": {"app.kubernetes.io/managed-by": "meshops", "meshops.dev/environment": "dev"}},
          "data": {"mesh": "not meshops's"}}
UNMANAGED = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unmanaged", "namespace": "team-dev"},
             "data": {"owner": "a person"}}
# The second team: also an environment `dev`, its own ConfigMap in the same namespace.
OTHER_REPO = {**{k: v for k, v in TEAM_REPO_FILES.items() if not k.startswith("templates/")},
              **_configmaps("theirs", ["their-settings"])}
LEASE = "coordination.k8s.io/leases/team-dev/meshops-dev"
# The team template without its Namespace document: only the ConfigMap is rendered any more.
SETTINGS_WITHOUT_NAMESPACE = {"templates/settings.yaml.j2": "---\n" + TEAM_REPO_FILES["templates/settings.yaml.j2"].split("---\n")[2]}
# A cluster-scoped object: it would act on every namespace at once.
WIDGET_CRD = """---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""
# What namespaced RBAC gives (deploy/rbac.yaml): no cluster-wide LIST of Namespaces or of the
# namespace-private kinds, no Secrets at all.
NAMESPACED_RBAC = (
    Fault(status=403, verbs={"list"}, resources={"namespaces"}),
    Fault(status=403, resources={"secrets"}),
    Fault(status=403, verbs={"list"}, resources={"configmaps", "serviceaccounts"}, namespaces={None}),
)


@dataclass(frozen=True)
class Case:
    """One hostile (or careless) input and what meshops must answer (see module docstring)."""

    id: str
    item: int  # issue 12's numbering
    files: dict[str, str]  # repo-relative path -> text, over TEAM_REPO_FILES; {repo} {tmp} are filled in
    command: tuple[str, ...]  # after `meshops`; {repo} {other} {kubeconfig} {tmp} are filled in
    exit_code: int
    error: str | None = None  # regex the single stderr line must match (None: no `error:` line at all)
    stdout: str | None = None  # regex stdout must match
    log: str | None = None  # regex stderr must contain (reconcile's per-environment lines)
    earlier: dict[str, str] | None = None  # files of the first commit, when `before` runs against another state
    removed: tuple[str, ...] = ()  # paths the final state no longer has
    committed: bool = False  # commit the final state (reconcile and --ref read commits)
    other: dict[str, str] | None = None  # a second repository ({other})
    before: tuple[tuple[str, ...], ...] = ()  # commands that must succeed first
    live_objects: tuple[dict, ...] = ()  # created in the sandbox before anything runs
    later_objects: tuple[dict, ...] = ()  # created after `before`
    faults: tuple[Fault, ...] = ()  # the sandbox refuses these requests while the command runs
    env: dict[str, str] = field(default_factory=dict)  # environment variables of the command
    writes: int | None = 0  # writes the command may send (None: not checked)
    object_writes: int | None = None  # writes to anything but Leases and Events
    requests: int | None = None  # every request the command may send
    never_created: tuple[str, ...] = ()
    exist: tuple[str, ...] = ()
    gone: tuple[str, ...] = ()
    events: tuple[str, ...] = ()


CASES: tuple[Case, ...] = (
    # -- 1. the repository may name a context, never a kubeconfig or credentials ----------------------
    Case("diff-never-runs-the-exec-plugin-of-a-repo-kubeconfig", 1, EXEC_PLUGIN_REPO,
         ("diff", "--env", "dev", "--repo", "{repo}"), 2, KUBECONFIG_ERROR, env=OPERATOR_ENV, never_created=(PWNED,)),
    Case("validate-for-a-pull-request-never-runs-the-exec-plugin", 1, EXEC_PLUGIN_REPO,
         ("validate", "--env", "dev", "--repo", "{repo}", "-o", "github"), 1,
         stdout=r"::error file=.*environments/dev/meshops\.yaml,line=\d+,.*cluster\.kubeconfig: a config repository may name a "
                r"context, never a kubeconfig file",
         env=OPERATOR_ENV, requests=0, never_created=(PWNED,)),
    Case("apply-never-runs-the-exec-plugin", 1, EXEC_PLUGIN_REPO, ("apply", "--env", "dev", "--repo", "{repo}", "--yes"), 2,
         KUBECONFIG_ERROR, env=OPERATOR_ENV, never_created=(PWNED,)),
    Case("reconcile-never-runs-the-exec-plugin", 1, EXEC_PLUGIN_REPO,
         ("reconcile", "--env", "dev", "--repo", "{repo}", "--cache-dir", "{tmp}/cache"), 2, KUBECONFIG_ERROR,
         committed=True, env=OPERATOR_ENV, never_created=(PWNED,)),
    Case("the-repo-cannot-choose-in-cluster-credentials", 1,
         {"environments/dev/meshops.yaml": DEV_MESHOPS_YAML.replace("cluster: {context: sandbox}", "cluster: {inCluster: true}")},
         APPLY, 2, r"error: environments/dev/meshops\.yaml:\d+: cluster\.inCluster: a config repository may not choose the "
                   r"credentials meshops uses"),
    Case("validate-contacts-no-cluster-unless-asked", 1, {}, ("validate", "--env", "dev", "--repo", "{repo}"), 0,
         env=OPERATOR_ENV, requests=0),
    # -- 3. ownership: labels alone are not proof --------------------------------------------------
    Case("two-repos-with-an-environment-dev-do-not-prune-each-other", 3, {}, APPLY, 0,
         other=OTHER_REPO, before=(APPLY, OTHER_APPLY), exist=("/configmaps/team-dev/their-settings",)),
    Case("the-other-repo-sees-our-objects-as-owned-by-us", 3, {}, ("diff", "--env", "dev", "--repo", "{other}", *CLUSTER), 1,
         stdout=r"1 to create, 0 to update, 0 to prune, 0 unchanged$", other=OTHER_REPO, before=(APPLY,)),
    Case("the-other-repo-rendering-our-object-is-a-conflict-naming-its-owner", 3, {}, OTHER_APPLY, 4,
         log=r"conflict: ConfigMap team-dev/settings: owned by [0-9a-f]{12}/dev \(meshops\.dev/owner\), not [0-9a-f]{12}/dev: "
             r"another repository uses this environment name",
         other={**OTHER_REPO, **_configmaps("theirs", ["settings"])}, before=(APPLY,), writes=None),
    Case("a-labelled-object-in-istio-system-is-not-deleted", 3, {}, APPLY, 0, before=(APPLY,), live_objects=(TAGGED,),
         exist=("/configmaps/istio-system/tagged",)),
    Case("a-labelled-object-in-a-declared-namespace-is-kept-and-says-why", 3,
         {"environments/dev/meshops.yaml": DEV_MESHOPS_YAML + "namespaces: [istio-system]\n"}, DIFF, 0,
         stdout=r"# ConfigMap istio-system/tagged \(keep: labelled for dev without meshops\.dev/owner .*--adopt", before=(APPLY,),
         live_objects=(TAGGED,)),
    Case("adopt-prunes-a-labelled-object-only-when-asked", 3,
         {"environments/dev/meshops.yaml": DEV_MESHOPS_YAML + "namespaces: [istio-system]\n"}, (*APPLY, "--adopt"), 0,
         before=(APPLY,), live_objects=(TAGGED,), writes=1, gone=("/configmaps/istio-system/tagged",)),
    # -- 3. brakes ----------------------------------------------------------------------------------
    Case("git-rm-templates-then-reconcile-deletes-nothing-and-says-the-environment-renders-nothing", 3, {}, RECONCILE, 2,
         log=r"dev: failed at plan: environments/dev/meshops.yaml: environment 'dev' renders no objects .*allowEmpty",
         earlier={}, removed=("templates/settings.yaml.j2",), committed=True, before=(RECONCILE,), writes=None,
         object_writes=0, exist=("/namespaces//team-dev", "/configmaps/team-dev/settings", LEASE)),
    # The repository may declare itself empty (`allowEmpty`): that lets it render, never releases the brake.
    Case("git-rm-templates-with-allow-empty-then-reconcile-deletes-nothing-and-says-why", 3,
         {"environments/dev/meshops.yaml": DEV_MESHOPS_YAML + "allowEmpty: true\n"}, RECONCILE, 2,
         log=r"dev: failed at prune: environment dev: renders no objects, and applying that would prune all 1 objects it "
             r"owns \(ConfigMap team-dev/settings\).*--allow-mass-prune.*allowEmpty: true. only lets an empty environment render",
         earlier={}, removed=("templates/settings.yaml.j2",), committed=True, before=(RECONCILE,), later_objects=(UNMANAGED,),
         writes=None, object_writes=0, events=("PruneRefused",),
         exist=("/namespaces//team-dev", "/configmaps/team-dev/settings", "/configmaps/team-dev/unmanaged", LEASE)),
    Case("a-mass-prune-is-refused", 3, {}, APPLY, 2,
         r"error: environment dev: would prune 4 of the 6 objects it owns \(67 % > 30 %\): ConfigMap team-dev/extra-1, "
         r"ConfigMap team-dev/extra-2, ConfigMap team-dev/extra-3, … \(check `meshops render --env dev`.*--allow-mass-prune",
         earlier=FOUR_EXTRAS, removed=("templates/extra.yaml.j2",), before=(APPLY,), exist=("/configmaps/team-dev/extra-4",)),
    Case("a-mass-prune-goes-ahead-with-the-flag", 3, {}, (*APPLY, "--allow-mass-prune"), 0,
         earlier=FOUR_EXTRAS, removed=("templates/extra.yaml.j2",), before=(APPLY,), writes=4,
         gone=("/configmaps/team-dev/extra-1", "/configmaps/team-dev/extra-4")),
    Case("the-operator-sets-the-mass-prune-share", 3, {}, APPLY, 0, earlier=FOUR_EXTRAS, removed=("templates/extra.yaml.j2",),
         before=(APPLY,), env={"MESHOPS_MAX_PRUNE_PERCENT": "70"}, writes=4),
    Case("diff-warns-that-apply-would-refuse", 3, {}, DIFF, 1, stdout=r"0 to create, 0 to update, 4 to prune",
         log=r"warning: apply would refuse: would prune 4 of the 6 objects", earlier=FOUR_EXTRAS,
         removed=("templates/extra.yaml.j2",), before=(APPLY,)),
    Case("an-object-that-opted-out-of-pruning-stays", 3, {}, APPLY, 0,
         log=r"# ConfigMap team-dev/extra-1 \(keep: opted out of pruning \(meshops\.dev/prune: disabled\)\)",
         earlier=_configmaps("extra", ["extra-1"], annotations="  annotations: {meshops.dev/prune: disabled}\n"),
         removed=("templates/extra.yaml.j2",), before=(APPLY,), exist=("/configmaps/team-dev/extra-1",)),
    Case("a-namespace-no-longer-rendered-is-kept", 3, SETTINGS_WITHOUT_NAMESPACE, APPLY, 0,
         log=r"# Namespace team-dev \(keep: Namespaces are pruned only with --prune-namespaces", earlier={}, before=(APPLY,),
         exist=("/namespaces//team-dev",)),
    Case("a-namespace-is-pruned-only-with-the-flag", 3, SETTINGS_WITHOUT_NAMESPACE, (*APPLY, "--prune-namespaces"), 0,
         earlier={}, before=(APPLY,), writes=1),
    Case("reconcile-no-prune-deletes-nothing", 3, {}, (*RECONCILE, "--no-prune"), 0, earlier=ONE_EXTRA,
         removed=("templates/extra.yaml.j2",), committed=True, before=(RECONCILE,), writes=None, object_writes=0,
         exist=("/configmaps/team-dev/extra-1",)),
    # -- 6. scope: the operator's namespaces, which the repository cannot widen ---------------------
    Case("a-template-writing-kube-system-aws-auth-is-refused", 6, _configmaps("aws", ["aws-auth"], namespace="kube-system"),
         APPLY, 2, r"error: templates/aws\.yaml\.j2:\d+: ConfigMap kube-system/aws-auth: namespace kube-system is outside the "
                   r"namespaces this meshops may write \(every namespace except kube-system, kube-public, kube-node-lease "
                   r"\(no --allowed-namespaces given\)\) \(render it into an allowed namespace.*nothing was written\)$"),
    Case("the-operator-allow-list-refuses-a-namespace-the-repo-declares", 6,
         {"environments/dev/meshops.yaml": DEV_MESHOPS_YAML + "namespaces: [istio-system]\n",
          **_configmaps("mesh", ["mesh-settings"], namespace="istio-system")},
         APPLY, 2, r"error: templates/mesh\.yaml\.j2:\d+: ConfigMap istio-system/mesh-settings: namespace istio-system is outside "
                   r"the namespaces this meshops may write \(--allowed-namespaces team-dev\)",
         env={"MESHOPS_ALLOWED_NAMESPACES": "team-dev"}),
    Case("the-operator-allow-list-lets-it-write-there", 6, _configmaps("mesh", ["mesh-settings"], namespace="istio-system"),
         (*APPLY, "--allowed-namespaces", "team-*,istio-system"), 0, writes=None, exist=("/configmaps/istio-system/mesh-settings",)),
    Case("a-cluster-scoped-object-other-than-a-namespace-is-refused", 6, {"templates/crd.yaml.j2": WIDGET_CRD}, APPLY, 2,
         r"error: templates/crd\.yaml\.j2:\d+: CustomResourceDefinition widgets\.example\.com: cluster-scoped objects other "
         r"than Namespaces act on every namespace; meshops never writes them"),
    Case("apply-works-with-namespaced-rbac", 6, {}, APPLY, 0, faults=NAMESPACED_RBAC, writes=None,
         exist=("/namespaces//team-dev", "/configmaps/team-dev/settings")),
    Case("a-missing-rule-is-one-clear-403-line", 6, {}, APPLY, 3,
         r"error: GET /api/v1/namespaces/team-dev/configmaps is forbidden \(context sandbox at .*\): .* \(grant the user RBAC "
         r"for this verb and resource\)$", before=(APPLY,),
         faults=(*NAMESPACED_RBAC, Fault(status=403, verbs={"list"}, resources={"configmaps"}, namespaces={"team-dev"}))),
)


def _fill(text: str, places: dict[str, str]) -> str:
    for name, value in places.items():
        text = text.replace("{" + name + "}", value)
    return text


def _write(root: Path, files: dict[str, str], places: dict[str, str]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_fill(content, places))


def _exists(server, address: str) -> bool:
    group, plural, namespace, name = address.split("/")
    return any(obj["metadata"]["name"] == name for obj in server.objects(group, plural, namespace or None))


def _run(command: tuple[str, ...], places: dict[str, str], cwd: Path, env: dict[str, str] | None = None):
    return run_meshops(*(_fill(arg, places) for arg in command), cwd=cwd,
                       env={name: _fill(value, places) for name, value in (env or {}).items()})


@pytest.mark.parametrize("case", CASES, ids=[f"{case.item}-{case.id}" for case in CASES])
def test_meshops_answers_a_hostile_repo_as_the_case_says(case: Case, mesh_sandbox, tmp_path: Path):
    server = mesh_sandbox.server
    repo, other = tmp_path / "repo", tmp_path / "other"
    places = {"repo": str(repo), "other": str(other), "kubeconfig": str(mesh_sandbox.kubeconfig), "tmp": str(tmp_path)}
    _write(repo, {**TEAM_REPO_FILES, **(case.earlier if case.earlier is not None else case.files)}, places)
    commit_all(repo, "first")  # a repository with a commit: its root commit is the default owner id
    if case.other is not None:
        _write(other, case.other, places)
        commit_all(other, "the other team's config")
    for obj in case.live_objects:
        server.create(obj)
    for command in case.before:
        done = _run(command, places, tmp_path)
        assert done.returncode == 0, done.stderr
    for obj in case.later_objects:
        server.create(obj)
    _write(repo, case.files, places)
    for name in case.removed:
        os.remove(repo / name)
    if case.committed and (case.earlier is not None or case.removed):
        commit_all(repo, "later")
    server.log.clear()
    for fault in case.faults:
        server.faults.add(fault)

    result = _run(case.command, places, tmp_path, case.env)
    server.faults.clear()

    assert result.returncode == case.exit_code, result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    if case.error is None:
        assert not errors, result.stderr
    else:
        assert len(errors) == 1 and re.match(case.error, errors[0]), result.stderr
        assert [line for line in result.stderr.splitlines() if not line.startswith(NOTE)][-1] == errors[0]
    if case.stdout is not None:
        assert re.search(case.stdout, result.stdout, re.MULTILINE), result.stdout
    if case.log is not None:
        assert re.search(case.log, result.stderr), result.stderr
    for path in case.never_created:
        assert not Path(_fill(path, places)).exists()
    writes = [entry for entry in server.log.entries() if entry.verb in WRITE_VERBS and not entry.dry_run]
    if case.writes is not None:
        assert len(writes) == case.writes, [(e.verb, e.path) for e in writes]
    if case.object_writes is not None:
        changed = [(e.verb, e.path) for e in writes if e.resource not in STATUS_RESOURCES]
        assert len(changed) == case.object_writes, changed
    if case.requests is not None:
        assert len(server.log) == case.requests, [(e.verb, e.path) for e in server.log.entries()]
    for address in case.exist:
        assert _exists(server, address), address
    for address in case.gone:
        assert not _exists(server, address), address
    recorded = {event.get("reason") for event in server.objects("", "events", None) if event.get("type") == "Warning"}
    assert set(case.events) <= recorded, recorded


@pytest.mark.parametrize("command", ["serve", "controller"])
def test_a_long_running_process_can_refuse_to_prune_but_never_release_the_brake_or_adopt(command):
    from meshops.cli import cli

    options = {opt for param in cli.commands[command].params for opt in getattr(param, "opts", ())}
    assert {"--no-prune", "--allowed-namespaces", "--owner-id", "--max-prune-percent"} <= options
    assert not {"--allow-mass-prune", "--adopt"} & options
