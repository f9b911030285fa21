"""Which REST resource serves a kind: the kinds table first, the API server's discovery when needed.

A real cluster may serve an Istio kind in some versions only (`telemetry.istio.io/v1` arrived with
Istio 1.22), or not at all (Istio not installed). One `GET /apis` tells which group versions are
served; rows of `meshops.model.kinds` supply plural and scope without more requests, and only kinds
the table does not know cost a `GET /apis/<group>/<version>`.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..model import kinds
from .api import ApiError, KubeApi


@dataclass(frozen=True)
class Resource:
    """A kind as the API server serves it."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def _prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def collection_path(self, namespace: str | None = None) -> str:
        """Path of the collection; cluster-wide for a namespaced kind when `namespace` is None."""
        if self.namespaced and namespace:
            return f"{self._prefix()}/namespaces/{namespace}/{self.plural}"
        return f"{self._prefix()}/{self.plural}"

    def item_path(self, namespace: str | None, name: str) -> str:
        return f"{self.collection_path(namespace if self.namespaced else None)}/{name}"


class Discovery:
    """Per-process cache of what the cluster serves."""

    def __init__(self, api: KubeApi) -> None:
        self.api = api
        self._groups: dict[str, list[str]] | None = None  # group -> served versions, preferred first
        self._resources: dict[tuple[str, str], dict[str, Resource]] = {}
        self._resolved: dict[tuple[str, str], Resource | None] = {}  # (apiVersion, kind) -> what `resolve` found

    def served_versions(self, group: str) -> list[str]:
        if group == "":
            return ["v1"]
        if self._groups is None:
            listing = self.api.request("GET", "/apis")
            groups: dict[str, list[str]] = {}
            for entry in listing.get("groups") or []:
                preferred = (entry.get("preferredVersion") or {}).get("version")
                versions = [v.get("version") for v in entry.get("versions") or [] if v.get("version")]
                if preferred in versions:
                    versions.remove(preferred)
                    versions.insert(0, preferred)
                groups[entry.get("name", "")] = versions
            self._groups = groups
        return self._groups.get(group, [])

    def _group_version_resources(self, group: str, version: str) -> dict[str, Resource]:
        key = (group, version)
        if key not in self._resources:
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            try:
                listing = self.api.request("GET", path)
            except ApiError as error:
                if error.not_found:
                    listing = {}
                else:
                    raise
            found: dict[str, Resource] = {}
            for entry in listing.get("resources") or []:
                if "/" in entry.get("name", ""):
                    continue  # subresources such as status
                found[entry["kind"]] = Resource(group, version, entry["kind"], entry["name"], bool(entry.get("namespaced")))
            self._resources[key] = found
        return self._resources[key]

    def resolve(self, api_version: str, kind: str) -> Resource | None:
        """The resource for exactly this apiVersion and kind, or None when the cluster does not serve it
        (asked once per object of a plan: answered once per apiVersion and kind)."""
        key = (api_version, kind)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(api_version, kind)
        return self._resolved[key]

    def _resolve(self, api_version: str, kind: str) -> Resource | None:
        group, version = kinds.split_api_version(api_version)
        if version not in self.served_versions(group):
            return None
        row = kinds.lookup(group, kind)
        if row is not None and version in row.versions:
            return Resource(group, version, kind, row.plural, row.namespaced)
        # Kinds the table does not know, and known kinds at versions the table does not list (one
        # group serves several versions, not every kind in each: ProxyConfig is v1beta1 only).
        return self._group_version_resources(group, version).get(kind)

    def preferred(self, group: str, kind: str) -> Resource | None:
        """The resource for a kind in the cluster's preferred served version (for prune scans).

        For a kind of the table, the served versions the table lists come first: they need no
        discovery request (EnvoyFilter is v1alpha3 only though its group prefers v1)."""
        row = kinds.lookup(group, kind)
        served = self.served_versions(group)
        if row is not None:
            served = [v for v in served if v in row.versions] + [v for v in served if v not in row.versions]
        for version in served:
            resource = self.resolve(f"{group}/{version}" if group else version, kind)
            if resource is not None:
                return resource
        return None

