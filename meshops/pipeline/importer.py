"""Use case: import what runs in a cluster into an environment of the config repo (`meshops import`).

The objects of the chosen kinds (by default every Istio kind and namespaced Gateway API kind meshops
manages) in the chosen namespaces, plus every object the environment already owns (so the
environment's plan prunes nothing it should keep), are read with one LIST per kind and namespace,
stripped of what the server adds (status, uid, resourceVersion, managedFields, defaults, kubectl's
last-applied annotation, meshops's own labels and annotations), and written as plain manifests under
`environments/<env>/manifests/`, one file per kind, objects and keys sorted: importing twice writes
the same bytes. Never imported: Secrets (their values do not belong in git), objects the templates
already render, and whatever `apply --adopt` would refuse to take over (`adoption_problem`: another
repository's or environment's, another tool's, a controller's). So what import writes, committed,
is exactly what `meshops apply --adopt` makes this repository's (`meshops.dev/owner`); import itself
only reads the cluster. A README in the folder says what was imported and what was left out. An
environment that does not exist yet is created (namespace, cluster context). An import that finds
nothing to import writes nothing: a mistyped namespace never removes an earlier import's files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..cluster.api import ApiError
from ..cluster.discovery import Resource
from ..cluster.live import NAMESPACE, list_objects
from ..cluster.target import Connection
from ..diff.normalize import normalize_pair
from ..model import kinds
from ..model.errors import ConfigError, UsageError
from ..model.identity import (
    ENVIRONMENT_LABEL,
    MANAGED_BY_LABEL,
    OWNER_ANNOTATION,
    REVISION_ANNOTATION,
    Owner,
    adoption_problem,
    owner_selector,
)
from ..model.manifest import ObjectKey, key_of
from ..render import EmptyRender, render_tree
from ..render.plain import environment_manifests_dir
from ..source.envconfig import CONFIG_FILE, ENVIRONMENTS_DIR, VALUES_FILE, list_environments
from ..source.repo import WorkTree
from ..source.scaffold import EnvironmentSpec, environment_config
from ..yamlio.atomic_write import write_atomically
from ..yamlio.documents import dump_all

# The first line of every file import writes: how a later import recognises (and replaces) its own files.
HEADER = "# Imported by `meshops import`"
README = "README.md"
# Kinds never imported: values that do not belong in git, and what is installed rather than configured.
NEVER_IMPORTED = {("", "Secret"), ("apiextensions.k8s.io", "CustomResourceDefinition")}
# Metadata a controller or the API server keeps, on top of what diff normalization drops.
_SERVER_METADATA = ("finalizers", "generateName")
# What meshops itself writes on every object it applies (stamped again by render and apply).
_MESHOPS_LABELS = (MANAGED_BY_LABEL, ENVIRONMENT_LABEL)
_MESHOPS_ANNOTATIONS = (OWNER_ANNOTATION, REVISION_ANNOTATION)


# The Gateway API group: Istio implements it, and its routes configure the mesh as Istio's own kinds do.
GATEWAY_API_GROUP = "gateway.networking.k8s.io"


def mesh_kinds() -> list[kinds.Kind]:
    """The kinds `meshops import` reads by default: every Istio kind of the kinds table, and the
    namespaced Gateway API kinds (GatewayClass is installed with the implementation, not configured)."""
    return [row for row in kinds.KINDS
            if row.group.endswith("istio.io") or (row.group == GATEWAY_API_GROUP and row.namespaced)]


def kind_named(name: str) -> kinds.Kind:
    """A kinds-table row by kind (`Service`), plural (`services`) or `Kind.group` (`Gateway.networking.istio.io`)."""
    wanted_kind, _, wanted_group = name.partition(".")
    matches = [row for row in kinds.KINDS
               if wanted_kind.lower() in (row.kind.lower(), row.plural) and (not wanted_group or row.group == wanted_group)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(sorted({row.kind for row in kinds.KINDS}))
    if matches:
        choices = ", ".join(f"{row.kind}.{row.group or 'core'}" for row in matches)
        raise UsageError(f"kind {name!r} is ambiguous", hint=f"write one of {choices}")
    raise UsageError(f"unknown kind {name!r}", hint=f"kinds meshops manages: {known}")


@dataclass
class Imported:
    """What an import read, wrote and left out."""

    environment: str
    directory: str  # repo-relative: environments/<env>/manifests
    counts: dict[str, int] = field(default_factory=dict)  # kind -> objects written
    written: list[str] = field(default_factory=list)  # repo-relative files
    removed: list[str] = field(default_factory=list)  # files of an earlier import no longer needed
    left_out: list[str] = field(default_factory=list)  # `Kind ns/name: why`, sorted
    created_environment: bool = False

    @property
    def objects(self) -> int:
        return sum(self.counts.values())


def _clean(obj: dict) -> dict:
    """The object as git should hold it: no server fields, defaults or meshops labels."""
    _, cleaned = normalize_pair(desired=None, live=obj)
    metadata = cleaned.setdefault("metadata", {})
    for name in _SERVER_METADATA:
        metadata.pop(name, None)
    for name, keys in (("labels", _MESHOPS_LABELS), ("annotations", _MESHOPS_ANNOTATIONS)):
        for key in keys:
            (metadata.get(name) or {}).pop(key, None)
    for name in ("labels", "annotations"):
        if not metadata.get(name):
            metadata.pop(name, None)
    return cleaned


def _why_not(obj: dict, owner: Owner | None, environment: str, rendered: set[ObjectKey]) -> str | None:
    """Why a live object is not imported (what `apply --adopt` would refuse, or what templates render), or None.

    `owner` is None when the repository has no id yet (no commit, no --owner-id): then an object with
    any owner annotation is someone else's.
    """
    recorded = ((obj.get("metadata") or {}).get("annotations") or {}).get(OWNER_ANNOTATION)
    if owner is None and recorded is not None:
        return f"owned by {recorded} ({OWNER_ANNOTATION})"
    # Without an id of its own, nothing can match an owner annotation, and none is present here.
    problem = adoption_problem(obj, owner or Owner(repo="", environment=environment))
    if problem:
        return problem
    if key_of(obj) in rendered:
        return "already rendered by the environment's templates"
    return None


class _Reader:
    """The LISTs of one import: chosen kinds in chosen namespaces, and what the environment owns."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.found: dict[ObjectKey, dict] = {}

    def resource(self, row: kinds.Kind) -> Resource | None:
        if (row.group, row.kind) == ("", "Namespace"):
            return NAMESPACE
        return self.connection.discovery.preferred(row.group, row.kind)

    def read(self, resource: Resource, *, namespace: str | None = None, selector: str | None = None) -> None:
        try:
            objects = list_objects(self.connection.api, resource, namespace=namespace, label_selector=selector)
        except ApiError as error:
            if error.not_found:
                return
            raise
        for obj in objects:
            self.found.setdefault(key_of(obj), obj)


def read_cluster(connection: Connection, *, environment: str, namespaces: list[str],
                 chosen: list[kinds.Kind]) -> tuple[dict[ObjectKey, dict], list[str]]:
    """Live objects to import (by key) and `Kind ns/name: why` for Secrets met on the way."""
    reader = _Reader(connection)
    left_out: list[str] = []
    for row in chosen:
        if (row.group, row.kind) in NEVER_IMPORTED:
            left_out.append(f"{row.kind} (all): never imported")
            continue
        resource = reader.resource(row)
        if resource is None:
            continue
        if not row.namespaced:
            reader.read(resource)
            reader.found = {k: v for k, v in reader.found.items()
                            if k.kind != row.kind or k.group != row.group or k.name in namespaces}
            continue
        for namespace in namespaces:
            reader.read(resource, namespace=namespace)
    for row in kinds.KINDS:  # what the environment owns already, anywhere: it must stay rendered
        resource = reader.resource(row)
        if resource is None:
            continue
        if (row.group, row.kind) in NEVER_IMPORTED:
            if (row.group, row.kind) == ("", "Secret"):
                before = set(reader.found)
                reader.read(resource, selector=owner_selector(environment))
                for key in sorted(set(reader.found) - before):
                    left_out.append(f"{key}: a Secret; keep its values out of git (create it from a secret store)")
                    del reader.found[key]
            continue
        reader.read(resource, selector=owner_selector(environment))
    return reader.found, left_out


def _rendered_by_templates(root: Path, environment: str) -> set[ObjectKey]:
    """Keys the environment renders from anything but its own manifests/ folder (what import writes)."""
    if environment not in list_environments(WorkTree(root)):
        return set()
    try:
        result = render_tree(WorkTree(root), environment)
    except EmptyRender:
        return set()
    except ConfigError as error:
        raise ConfigError(f"cannot import into environment {environment!r}: it does not render: {error.message}",
                          location=error.location, hint="fix it first (meshops render --env " + environment + ")") from None
    own = environment_manifests_dir(environment) + "/"
    return {m.key for m in result.manifests if not str(m.location().file).startswith(own)}


def _file_text(plural: str, objects: list[dict], source: str) -> str:
    return f"{HEADER} from {source}: {len(objects)} {plural}. This file is yours now: edit it.\n" + dump_all(objects)


def _readme(imported: Imported, source: str, namespaces: list[str]) -> str:
    lines = [f"# Imported into environment `{imported.environment}`", "",
             f"`meshops import` read {source}, namespaces {', '.join(namespaces)}, and wrote the plain manifests",
             "beside this file (one per kind). They render as they are; edit them, or move what differs between",
             "environments into templates/ and values.", ""]
    lines += [f"- {kind}: {count}" for kind, count in sorted(imported.counts.items())]
    if imported.left_out:
        lines += ["", "Not imported:", ""] + [f"- {entry}" for entry in imported.left_out]
    env = imported.environment
    lines += ["", "Next: commit these files (the repository's first commit is its owner id), then",
              f"`meshops adopt --env {env}` previews taking the objects over and `meshops apply --env {env} --adopt`",
              "does it: they then carry this repository's `meshops.dev/owner`, and `meshops diff --env " + env + "`",
              "shows no changes.", ""]
    return "\n".join(lines)


def import_environment(*, repo: str, environment: str, connection: Connection, namespaces: list[str],
                       chosen: list[kinds.Kind], context: str | None, owner_id: str | None = None) -> Imported:
    """Import (see module docstring) into `repo`; returns what was written. `owner_id`: the
    repository's id (`--owner-id`, else its root commit; None when it has neither yet)."""
    if not namespaces:
        raise UsageError("no namespace to import from", hint="pass --namespace NS (may be repeated)")
    root = Path(repo)
    root.mkdir(parents=True, exist_ok=True)
    directory = environment_manifests_dir(environment)
    imported = Imported(environment=environment, directory=directory)
    owner = Owner(repo=owner_id, environment=environment) if owner_id else None
    rendered = _rendered_by_templates(root, environment)
    found, imported.left_out = read_cluster(connection, environment=environment, namespaces=namespaces, chosen=chosen)
    by_kind: dict[tuple[str, str], list[dict]] = {}
    for key, obj in sorted(found.items()):
        why = _why_not(obj, owner, environment, rendered)
        if why:
            imported.left_out.append(f"{key}: {why}")
        else:
            by_kind.setdefault((key.group, key.kind), []).append(_clean(obj))
    imported.left_out.sort()
    if not by_kind:  # nothing to write: leave an earlier import, and a missing environment, as they are
        return imported
    source = f"context {context}" if context else f"cluster {connection.label}"
    files: dict[str, str] = {}
    for (group, kind), objects in by_kind.items():
        row = kinds.lookup(group, kind)
        plural = row.plural if row else kind.lower() + "s"
        objects.sort(key=lambda o: (o["metadata"].get("namespace") or "", o["metadata"]["name"]))
        files[f"{directory}/{plural}.yaml"] = _file_text(plural, objects, source)
        imported.counts[kind] = len(objects)
    files[f"{directory}/{README}"] = _readme(imported, source, namespaces)
    environment_dir = root / ENVIRONMENTS_DIR / environment
    if not environment_dir.is_dir():
        spec = EnvironmentSpec(environment, namespaces[0], context=context)
        files[f"{ENVIRONMENTS_DIR}/{environment}/{CONFIG_FILE}"] = environment_config(spec, commented_policy=False)
        files[f"{ENVIRONMENTS_DIR}/{environment}/{VALUES_FILE}"] = "{}\n"
        imported.created_environment = True
    imported.removed = _stale_files(root / directory, set(files), directory)
    for path, text in sorted(files.items()):
        write_atomically(root / path, text)
        imported.written.append(path)
    for path in imported.removed:
        os.remove(root / path)
    return imported


def _stale_files(folder: Path, writing: set[str], directory: str) -> list[str]:
    """Files an earlier import wrote (they start with HEADER) that this one does not write again."""
    stale = []
    if folder.is_dir():
        for child in sorted(folder.iterdir()):
            path = f"{directory}/{child.name}"
            if child.is_file() and path not in writing and child.read_text(errors="replace").startswith(HEADER):
                stale.append(path)
    return stale
