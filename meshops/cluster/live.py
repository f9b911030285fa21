"""Reading live objects for a plan: one LIST per kind per namespace, never one GET per object.

For every kind git renders, each namespace it renders into is listed whole (so an object with the
same name that meshops does not own is seen, not overwritten). Objects meshops applied earlier
for this environment but git no longer renders are found with one label-selected, cluster-wide
LIST per kind the cluster serves (`app.kubernetes.io/managed-by=meshops`,
`meshops.dev/environment=<env>`): the prune candidates.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from ..model import kinds
from ..model.errors import ClusterError
from ..model.identity import owner_selector
from ..model.manifest import Manifest, ObjectKey, key_of
from .api import ApiError, KubeApi
from .discovery import Discovery, Resource

# Page size for LISTs: large enough that thousands of objects cost a handful of requests, small
# enough that one page stays a few MB (the API server's own default cap is similar).
PAGE_SIZE = 500


@dataclass
class LiveState:
    """What the cluster holds for the kinds and namespaces a plan touches."""

    objects: dict[ObjectKey, dict] = field(default_factory=dict)
    resources: dict[tuple[str, str], Resource] = field(default_factory=dict)  # (group, kind) -> resource used
    namespaces: set[str] = field(default_factory=set)  # every namespace that exists in the cluster
    requests: int = 0



def list_objects(api: KubeApi, resource: Resource, *, namespace: str | None = None, label_selector: str | None = None) -> list[dict]:
    """All objects of one resource in one namespace (or cluster-wide), following `continue` tokens."""
    items: list[dict] = []
    token: str | None = None
    while True:
        page = api.request(
            "GET",
            resource.collection_path(namespace),
            query={"limit": PAGE_SIZE, "continue": token, "labelSelector": label_selector},
        )
        for item in page.get("items") or []:
            # LIST items omit apiVersion/kind; put them back so objects look as they do on GET.
            item.setdefault("apiVersion", resource.api_version)
            item.setdefault("kind", resource.kind)
            items.append(item)
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return items


def _require(discovery: Discovery, manifest: Manifest) -> Resource:
    resource = discovery.resolve(manifest.api_version, manifest.kind)
    if resource is None:
        served = discovery.served_versions(manifest.key.group)
        hint = (
            f"the cluster serves {manifest.key.group} in {', '.join(served)}; change apiVersion"
            if served
            else "install the CRD (is Istio installed?) or remove the object"
        )
        raise ClusterError(f"{manifest.key}: {manifest.api_version} {manifest.kind} is not served by the cluster", hint=hint)
    return resource


def read_live(
    api: KubeApi,
    discovery: Discovery,
    *,
    desired: Iterable[Manifest],
    environment: str,
    prune_kinds: Iterable[kinds.Kind] = kinds.KINDS,
) -> LiveState:
    """Read what a plan for `desired` in `environment` must compare against (see module docstring)."""
    state = LiveState()
    before = api.stats.requests
    # Namespaces are few: one unfiltered LIST serves existence checks, desired Namespaces and prunes.
    namespace_resource = Resource("", "v1", "Namespace", "namespaces", False)
    state.resources[("", "Namespace")] = namespace_resource
    for obj in list_objects(api, namespace_resource):
        state.namespaces.add(obj["metadata"]["name"])
        state.objects[key_of(obj)] = obj
    namespaces_by_resource: dict[Resource, set[str | None]] = {}
    for manifest in desired:
        resource = _require(discovery, manifest)
        state.resources.setdefault((resource.group, resource.kind), resource)
        namespaces_by_resource.setdefault(resource, set()).add(manifest.namespace if resource.namespaced else None)
    for resource, namespaces in namespaces_by_resource.items():
        if resource.kind == "Namespace" and resource.group == "":
            continue
        for namespace in sorted(namespaces, key=lambda n: n or ""):
            for obj in list_objects(api, resource, namespace=namespace):
                state.objects[key_of(obj)] = obj
    selector = owner_selector(environment)
    for row in prune_kinds:
        if row.kind == "CustomResourceDefinition":
            continue  # meshops never prunes CRDs: deleting one deletes every object of that kind
        if (row.group, row.kind) == ("", "Namespace"):
            continue  # already listed whole
        resource = state.resources.get((row.group, row.kind)) or discovery.preferred(row.group, row.kind)
        if resource is None:
            continue  # not served here: nothing of this kind can exist
        state.resources.setdefault((row.group, row.kind), resource)
        try:
            found = list_objects(api, resource, label_selector=selector)
        except ApiError as error:
            if error.not_found:
                continue
            raise
        for obj in found:
            state.objects.setdefault(key_of(obj), obj)
    state.requests = api.stats.requests - before
    return state


def missing_namespaces(desired: Iterable[Manifest], state: LiveState) -> dict[str, list[ObjectKey]]:
    """Namespaces objects are rendered into that neither exist nor are rendered themselves."""
    rendered = {m.name for m in desired if m.kind == "Namespace" and m.key.group == ""}
    missing: dict[str, list[ObjectKey]] = {}
    for manifest in desired:
        resource = state.resources.get((manifest.key.group, manifest.kind))
        namespace = manifest.namespace
        if resource is not None and resource.namespaced and namespace and namespace not in state.namespaces and namespace not in rendered:
            missing.setdefault(namespace, []).append(manifest.key)
    return missing


# Kinds cross-resource validation looks up in a live cluster (hosts, subsets, gateways, policies,
# and the Pods a subset must select).
LOOKUP_KINDS: tuple[tuple[str, str], ...] = tuple((row.group, row.kind) for row in kinds.KINDS if row.group.endswith("istio.io")) + (
    ("", "Service"),
    ("", "Pod"),
)


def read_for_lookup(api: KubeApi, discovery: Discovery, *, kinds_to_read: Iterable[tuple[str, str]] = LOOKUP_KINDS) -> list[dict]:
    """Every object of the lookup kinds the cluster serves, cluster-wide (one paged LIST per kind)."""
    objects: list[dict] = []
    for group, kind in kinds_to_read:
        resource = discovery.preferred(group, kind)
        if resource is not None:
            objects.extend(list_objects(api, resource))
    return objects
