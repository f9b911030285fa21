"""Plain manifest files — YAML written as it is applied, not rendered from a template.

Two readers take them: `meshops validate -f` (files a person names) and render (plain `*.yaml` in
`templates/` and an environment's `manifests/`). Both read a file the way kubectl does: documents
that are empty or `null` are skipped (the YAML loader does that), a `kind: List` document is its
items, and every object remembers its file and line. A file that holds no Kubernetes objects at all
— a `kustomization.yaml`, Helm values, a list of something — is recognised as such, so the reader
can name it and move on instead of failing on it or silently ignoring it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import Location
from .manifest import FileSource, Manifest
from ..yamlio.documents import Document, Path

# Kustomize reads these names only; they describe how to build manifests, they are not objects.
KUSTOMIZE_FILES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})
# API groups of configuration files that look like objects but are never sent to a cluster.
CONFIG_ONLY_GROUPS = ("kustomize.config.k8s.io", "config.kubernetes.io")
# A document with none of these keys is not even trying to be a Kubernetes object.
OBJECT_KEYS = ("apiVersion", "kind", "metadata")


@dataclass
class ListItemSource:
    """SourceMap of one item of a `kind: List` document: paths are shifted under `items[i]`."""

    file: str
    document: Document
    prefix: Path

    def locate(self, path: Path) -> list[Location]:
        return [Location(self.file, self.document.line_of(self.prefix + tuple(path)))]


def is_list_wrapper(data: dict[str, Any]) -> bool:
    """`kind: List` (or any `*List`) holding `items`, as `kubectl get -o yaml` writes several objects."""
    return str(data.get("kind", "")).endswith("List") and isinstance(data.get("items"), list) and "spec" not in data


def _config_only(data: Any) -> bool:
    api_version = str(data.get("apiVersion") or "") if isinstance(data, dict) else ""
    return api_version.split("/", 1)[0] in CONFIG_ONLY_GROUPS


def not_manifests(path: str, documents: list[Document]) -> str | None:
    """Why the file at `path` holds no Kubernetes objects to read, or None when it does (or is empty)."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    if name in KUSTOMIZE_FILES:
        return "a Kustomize kustomization file (run `kustomize build` and pass its output with -f -)"
    if not documents:
        return None
    if all(_config_only(document.data) for document in documents):
        return "Kustomize configuration, not objects"
    if not any(isinstance(d.data, dict) and any(key in d.data for key in OBJECT_KEYS) for d in documents):
        return "no document has apiVersion, kind or metadata, so it holds no Kubernetes objects"
    return None


def objects_in(path: str, documents: list[Document]) -> tuple[list[Manifest], list[Location]]:
    """The objects of a manifest file (List wrappers opened), and where documents are not objects."""
    manifests: list[Manifest] = []
    not_objects: list[Location] = []
    for document in documents:
        data = document.data
        if isinstance(data, dict) and is_list_wrapper(data):
            for index, item in enumerate(data["items"]):
                source = ListItemSource(path, document, ("items", index))
                if isinstance(item, dict):
                    manifests.append(Manifest(obj=item, source=source))
                else:
                    not_objects.extend(source.locate(()))
        elif isinstance(data, dict):
            manifests.append(Manifest(obj=data, source=FileSource(path, document)))
        else:
            not_objects.append(Location(path, document.start_line))
    return manifests, not_objects
