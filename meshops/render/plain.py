"""Plain manifests in the config repo: objects written as they are applied, rendered without a template.

Two places hold them: plain `*.yaml`/`*.yml` files under `templates/` (rendered for every
environment, beside the `*.yaml.j2` templates) and anything under `environments/<env>/manifests/`
(that environment only; `meshops import` writes there). They are read through the repo's `Tree`
(the same reader as templates, which never leaves the repository), parsed the way `validate -f`
reads files (empty documents skipped, `kind: List` opened) and keep their file:line provenance, so a
finding points at the line to edit. Every other file found in those places is returned as
`Skipped` with the reason, and the commands name it in a warning: nothing is silently ignored.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..model.errors import ConfigError
from ..model.manifest import Manifest
from ..model.plain import not_manifests, objects_in
from ..source.envconfig import CONFIG_FILE, ENVIRONMENTS_DIR, TEMPLATES_DIR, VALUES_FILE
from ..source.repo import Tree
from ..source.values import SCHEMA_FILE
from ..yamlio.documents import load_documents

PLAIN_SUFFIXES = (".yaml", ".yml")
TEMPLATE_SUFFIXES = (".yaml.j2", ".yml.j2")
# Under environments/<env>/: plain manifests of that environment only.
MANIFESTS_DIR = "manifests"
# Documentation beside manifests is expected and not worth a warning.
DOC_SUFFIXES = (".md",)


@dataclass(frozen=True)
class Skipped:
    """A file in a rendered place that meshops did not render, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: not rendered ({self.reason})"


@dataclass
class PlainFiles:
    """The plain manifests of one environment (not yet stamped) and the files skipped on the way."""

    manifests: list[Manifest] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def environment_manifests_dir(environment: str) -> str:
    """`environments/<env>/manifests`: the plain manifests of one environment."""
    return f"{ENVIRONMENTS_DIR}/{environment}/{MANIFESTS_DIR}"


def walk(tree: Tree, directory: str) -> list[str]:
    """Every file under `directory`, recursively, in sorted order."""
    found: list[str] = []
    for name in tree.listdir(directory):
        path = f"{directory}/{name}"
        if tree.is_dir(path):
            found.extend(walk(tree, path))
        else:
            found.append(path)
    return found


def _quiet(name: str) -> bool:
    """Dotfiles (.gitkeep) and documentation: never rendered, never worth a warning."""
    return name.startswith(".") or name.endswith(DOC_SUFFIXES)


# What a file under templates/ is: a plain manifest, something render reads otherwise (templates,
# partials, the values schema) or leaves alone (docs, dotfiles), or the reason it is not rendered.
PLAIN = "plain"
READ_OTHERWISE = "read otherwise"


def _templates_file(path: str) -> str:
    """PLAIN, READ_OTHERWISE, or why a file under templates/ is not rendered."""
    name = path.rsplit("/", 1)[-1]
    if path == SCHEMA_FILE or _quiet(name):
        return READ_OTHERWISE
    if name.endswith(".j2"):
        if name.endswith(TEMPLATE_SUFFIXES) or name.startswith("_"):
            return READ_OTHERWISE
        return "a template renders only as *.yaml.j2 or *.yml.j2; name a partial _<name>.j2"
    if name.endswith(PLAIN_SUFFIXES):
        return "plain manifests starting with _ are not rendered; partials are _*.j2 templates" if name.startswith("_") else PLAIN
    return "neither a template (*.yaml.j2) nor a plain manifest (*.yaml, *.yml)"


def _environment_dir_reason(path: str, environment: str) -> str | None:
    """Why a file directly in environments/<env>/ is not read (None: meshops.yaml, values.yaml, docs)."""
    name = path.rsplit("/", 1)[-1]
    if name in (CONFIG_FILE, VALUES_FILE) or _quiet(name):
        return None
    return f"environments/{environment}/ holds meshops.yaml and values.yaml; put manifests in {MANIFESTS_DIR}/"


def _plain_candidates(tree: Tree, environment: str, skipped: list[Skipped]) -> list[str]:
    """The plain manifest files of `environment`, noting every other file of the rendered places in `skipped`."""
    candidates: list[str] = []
    for path in walk(tree, TEMPLATES_DIR):
        what = _templates_file(path)
        if what == PLAIN:
            candidates.append(path)
        elif what != READ_OTHERWISE:
            skipped.append(Skipped(path, what))
    environment_dir = f"{ENVIRONMENTS_DIR}/{environment}"
    for name in tree.listdir(environment_dir):
        path = f"{environment_dir}/{name}"
        if not tree.is_dir(path):
            reason = _environment_dir_reason(path, environment)
            if reason is not None:
                skipped.append(Skipped(path, reason))
    for path in walk(tree, environment_manifests_dir(environment)):
        name = path.rsplit("/", 1)[-1]
        if name.endswith(PLAIN_SUFFIXES):
            candidates.append(path)
        elif not _quiet(name):
            skipped.append(Skipped(path, "only *.yaml and *.yml files in manifests/ are rendered"))
    return candidates


def read_plain(tree: Tree, environment: str) -> PlainFiles:
    """The plain manifests `environment` renders, with file:line provenance (see module docstring)."""
    result = PlainFiles()
    for path in _plain_candidates(tree, environment, result.skipped):
        documents = load_documents(tree.read(path) or b"", filename=path)
        reason = not_manifests(path, documents)
        if reason is not None:
            result.skipped.append(Skipped(path, reason))
            continue
        objects, not_objects = objects_in(path, documents)
        if not_objects:
            raise ConfigError("document is not a mapping, so not a Kubernetes object", location=not_objects[0],
                              hint="every `---` document of a plain manifest must be an object (apiVersion, kind, metadata)")
        result.manifests.extend(objects)
    result.skipped.sort(key=lambda entry: entry.path)
    return result
