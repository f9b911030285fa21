"""The mesh config istiod reads (`data.mesh` of the `istio` ConfigMap), for checks that depend on it.

Several checks change with mesh-wide settings: production trace sampling (MSH401), whether the DNS
proxy allocates ServiceEntry addresses (MSH228). They read it here, from the rendered ConfigMap or
the live one, so a broken `mesh` text is skipped the same way everywhere.
"""
from __future__ import annotations

from typing import Iterator

from ..yamlio.documents import YamlError, load_one
from .index import CORE, Entry, MeshIndex, mapping, text

# The mesh ConfigMap istiod reads: `istio`, or `istio-<revision>` with revisions.
MESH_CONFIGMAP = "istio"
MESH_CONFIG_KEY = "mesh"


def mesh_configs(index: MeshIndex, *, rendered_only: bool = False) -> Iterator[tuple[Entry, dict]]:
    """(ConfigMap entry, its parsed mesh config) for every mesh ConfigMap whose `mesh` is a YAML mapping."""
    for entry in index.of_kind(CORE, "ConfigMap", rendered_only=rendered_only):
        if entry.name != MESH_CONFIGMAP and not entry.name.startswith(MESH_CONFIGMAP + "-"):
            continue
        mesh_text = text(mapping(entry.obj.get("data")).get(MESH_CONFIG_KEY))
        if not mesh_text:
            continue
        try:
            yield entry, mapping(load_one(mesh_text, filename=f"{entry.label} data.mesh").data)
        except YamlError:
            continue
