"""Reading what a plan compares against: one LIST per kind, shared by diff, prune and validation.

For every kind meshops manages (the kinds table) and every other kind git renders, the cluster is
read once, and never outside the environment's scope where it need not be:
- mesh kinds and Services: one cluster-wide LIST each. The same answer holds the live versions of
  rendered objects (an object of the same name meshops does not own is seen, not overwritten), the
  prune candidates (the plan keeps only those inside the scope), and what validation looks up
  (hosts, subsets, gateways in any namespace). Where RBAC allows only some namespaces (the
  controller's namespaced Roles), the LIST falls back to one per namespace of the scope;
- Secrets, ConfigMaps and ServiceAccounts, whose contents are private to a namespace: one LIST per
  namespace git renders them into, plus one label-selected LIST (prune candidates) per other
  namespace of the scope — never cluster-wide. Where RBAC forbids a kind in a namespace nothing
  is rendered into (no Secret access: meshops cannot have written one there), it is skipped;
- kinds the table does not know: one LIST per namespace git renders them into (never pruned);
- Pods, for validation only: one LIST per namespace whose Services a rendered DestinationRule names
  or whose workloads a rendered selector picks, one label-selected LIST per Gateway (and root-namespace)
  selector; Secrets of the namespaces those gateway pods run in, reduced to their key names at once
  (gateway credentials). `LiveState.read_scope` records what was read (RBAC may forbid some), so
  validation reports an absence only where it looked.
Namespaces are one LIST, or, where RBAC forbids it, one GET per namespace of the scope.
A steady-state diff therefore costs a request per kind (and per scope namespace for the private
kinds), not per object.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from ..model import kinds
from ..model.errors import ClusterError
from ..model.identity import owner_selector
from ..model.manifest import Manifest, ObjectKey, key_of
from ..model.readscope import Labels, LiveScope, LiveScopeBuilder
from ..model.scope import Scope
from ..model.selectors import GATEWAY, label_set, mesh_wide, workload_selector
from .api import ApiError, KubeApi
from .discovery import Discovery, Resource

# Page size for LISTs: large enough that thousands of objects cost a handful of requests, small
# enough that one page stays a few MB (the API server's own default cap is similar).
PAGE_SIZE = 500
NAMESPACE = Resource("", "v1", "Namespace", "namespaces", False)
# Kinds whose objects are private to their namespace (credentials, configuration): never read
# cluster-wide, only where git renders them, plus the owned ones (prune candidates).
NAMESPACE_PRIVATE: frozenset[tuple[str, str]] = frozenset({("", "Secret"), ("", "ConfigMap"), ("", "ServiceAccount")})
# Kinds meshops never lists for a plan: CRDs are installed, not pruned (deleting one deletes every
# object of its kind); Namespaces are listed once above.
NOT_LISTED: frozenset[tuple[str, str]] = frozenset({("apiextensions.k8s.io", "CustomResourceDefinition"), ("", "Namespace")})
# Core v1 kinds every API server serves: no discovery request needed.
POD = Resource("", "v1", "Pod", "pods", True)
SECRET = Resource("", "v1", "Secret", "secrets", True)


@dataclass
class LiveState:
    """What the cluster holds for the kinds and namespaces a plan touches."""

    objects: dict[ObjectKey, dict] = field(default_factory=dict)
    resources: dict[tuple[str, str], Resource] = field(default_factory=dict)  # (group, kind) -> resource used
    namespaces: set[str] = field(default_factory=set)  # every namespace that exists in the cluster
    pods: list[dict] = field(default_factory=list)  # for validation lookups only
    secret_keys: list[dict] = field(default_factory=list)  # Secrets of gateway namespaces, key names only
    read_scope: LiveScope = field(default_factory=LiveScope)  # where pods and Secrets were read
    complete: bool = True  # every mesh kind was read cluster-wide (validation may trust what it does not see)
    requests: int = 0

    def lookup_objects(self) -> list[dict] | None:
        """Live objects for validation's cross-resource lookups, or None when the read was partial."""
        if not self.complete:
            return None
        private = [obj for key, obj in self.objects.items() if (key.group, key.kind) not in NAMESPACE_PRIVATE]
        return private + self.pods + self.secret_keys


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


# What to install when a cluster does not serve a group at all (default: Istio's CRDs).
MISSING_GROUP_HINTS = {
    kinds.GATEWAY_API_GROUP: "install the Gateway API CRDs (standard channel, the release your Istio supports) "
                             "or remove the object",
}


def _require(discovery: Discovery, manifest: Manifest) -> Resource:
    resource = discovery.resolve(manifest.api_version, manifest.kind)
    if resource is None:
        served = discovery.served_versions(manifest.key.group)
        hint = (
            f"the cluster serves {manifest.key.group} in {', '.join(served)}; change apiVersion"
            if served
            else MISSING_GROUP_HINTS.get(manifest.key.group, "install the CRD (is Istio installed?) or remove the object")
        )
        raise ClusterError(f"{manifest.key}: {manifest.api_version} {manifest.kind} is not served by the cluster", hint=hint)
    return resource


def read_live(
    api: KubeApi,
    discovery: Discovery,
    *,
    desired: Iterable[Manifest],
    environment: str,
    scope: Scope,
    managed_kinds: Iterable[kinds.Kind] = kinds.KINDS,
) -> LiveState:
    """Read what a plan for `desired` in `environment`, inside `scope`, must compare against (see module docstring)."""
    desired = list(desired)
    state = LiveState()
    before = api.stats.requests
    state.resources[("", "Namespace")] = NAMESPACE
    _read_namespace_objects(api, scope, into=state)
    rendered_in: dict[Resource, set[str | None]] = {}
    for manifest in desired:
        resource = _require(discovery, manifest)
        state.resources.setdefault((resource.group, resource.kind), resource)
        rendered_in.setdefault(resource, set()).add(manifest.namespace if resource.namespaced else None)
    listed: set[tuple[str, str]] = set(NOT_LISTED)
    for row in managed_kinds:
        group_kind = (row.group, row.kind)
        if group_kind in listed:
            continue
        listed.add(group_kind)
        resource = state.resources.get(group_kind) or discovery.preferred(*group_kind)
        if resource is None:
            continue  # not served here: nothing of this kind can exist
        state.resources.setdefault(group_kind, resource)
        namespaces = _namespaces_of(rendered_in, group_kind)
        if group_kind in NAMESPACE_PRIVATE:
            _read_namespaces(api, resource, namespaces, into=state)
            others = [namespace for namespace in scope.readable if namespace not in namespaces]
            _read_candidates(api, resource, others, into=state, label_selector=owner_selector(environment))
        else:
            _read_everywhere(api, resource, scope.readable, into=state)
    for resource, namespaces in rendered_in.items():
        if (resource.group, resource.kind) not in listed:  # kinds the table does not know
            listed.add((resource.group, resource.kind))
            _read_namespaces(api, resource, namespaces, into=state)
    _read_pods_and_secrets(api, desired, state)
    state.requests = api.stats.requests - before
    return state


def _read_pods_and_secrets(api: KubeApi, desired: list[Manifest], state: LiveState) -> None:
    """The pods validation needs (see module docstring), and the Secrets where gateway pods run."""
    read_scope = LiveScopeBuilder()
    namespaces, selectors = pods_to_read(desired)
    seen: set[tuple[str, str]] = set()

    def keep(**where: str) -> bool:
        """List pods (one namespace, or by label cluster-wide); False where RBAC forbids it."""
        try:
            pods = list_objects(api, POD, **where)
        except ApiError as error:
            if error.status != 403:
                raise
            return False
        for pod in pods:
            metadata = pod.get("metadata") or {}
            if (metadata.get("namespace"), metadata.get("name")) not in seen:
                seen.add((metadata.get("namespace"), metadata.get("name")))
                state.pods.append(pod)
        return True

    for namespace in sorted(namespaces & state.namespaces):
        if keep(namespace=namespace):
            read_scope.pod_namespaces.add(namespace)
        else:
            state.complete = False  # a namespace outside meshops's RBAC: validation cannot judge its subsets
    for labels in sorted(selectors, key=sorted):
        # The controller's namespaced Roles allow no cluster-wide LIST: those selectors stay unjudged.
        if keep(label_selector=",".join(f"{k}={v}" for k, v in sorted(labels))):
            read_scope.pod_selectors.add(labels)
    state.secret_keys = read_secret_keys(api, gateway_namespaces(desired, state.pods), read_scope)
    state.read_scope = read_scope.freeze()


def pods_to_read(desired: Iterable[Manifest]) -> tuple[set[str], set[Labels]]:
    """(namespaces whose pods to list, label sets whose pods to list cluster-wide) for validating `desired`."""
    desired = list(desired)
    namespaces = _destination_namespaces(desired)
    selectors: set[Labels] = set()
    for manifest in desired:
        group, kind = manifest.key.group, manifest.kind
        namespace = manifest.namespace or "default"
        selector = workload_selector(group, kind, manifest.obj)
        if selector is not None and mesh_wide(group, kind, namespace):
            selectors.add(selector[1])
        elif selector is not None or (group, kind) == ("security.istio.io", "AuthorizationPolicy"):
            namespaces.add(namespace)
    return namespaces, selectors


def gateway_namespaces(desired: Iterable[Manifest], pods: Iterable[dict]) -> set[str]:
    """Namespaces of the pods rendered Gateways select: where their credential Secrets must be."""
    selectors = [selector[1] for m in desired if (m.key.group, m.kind) == GATEWAY
                 and (selector := workload_selector(m.key.group, m.kind, m.obj)) is not None]
    found: set[str] = set()
    for pod in pods:
        metadata = pod.get("metadata") or {}
        labels = label_set(metadata.get("labels"))
        if any(selector <= labels for selector in selectors):
            found.add(str(metadata.get("namespace") or ""))
    return found


def read_secret_keys(api: KubeApi, namespaces: Iterable[str], read_scope: LiveScopeBuilder) -> list[dict]:
    """The Secrets of `namespaces` with their values dropped on arrival (names and key names only);
    a namespace this user may not read Secrets in stays outside `read_scope`."""
    reduced: list[dict] = []
    for namespace in sorted(namespaces):
        try:
            secrets = list_objects(api, SECRET, namespace=namespace)
        except ApiError as error:
            if error.status in (401, 403):
                continue
            raise
        read_scope.secret_namespaces.add(namespace)
        for secret in secrets:
            metadata = secret.get("metadata") or {}
            keys = list(secret.get("data") or {}) + list(secret.get("stringData") or {})
            reduced.append({"apiVersion": "v1", "kind": "Secret", "type": secret.get("type"),
                            "metadata": {"name": metadata.get("name"), "namespace": metadata.get("namespace")},
                            "data": {key: "" for key in keys}})
    return reduced


def _namespaces_of(rendered_in: dict[Resource, set[str | None]], group_kind: tuple[str, str]) -> list[str | None]:
    found: set[str | None] = set()
    for resource, namespaces in rendered_in.items():
        if (resource.group, resource.kind) == group_kind:
            found |= namespaces
    return sorted(found, key=lambda namespace: namespace or "")


def _read(api: KubeApi, resource: Resource, *, into: LiveState, namespace: str | None = None,
          label_selector: str | None = None) -> None:
    for obj in list_objects(api, resource, namespace=namespace, label_selector=label_selector):
        into.objects.setdefault(key_of(obj), obj)


def _read_namespaces(api: KubeApi, resource: Resource, namespaces: Iterable[str | None], *, into: LiveState) -> None:
    for namespace in namespaces:
        _read(api, resource, into=into, namespace=namespace)


def _read_namespace_objects(api: KubeApi, scope: Scope, *, into: LiveState) -> None:
    """Every Namespace (one LIST); where RBAC allows no cluster-wide LIST, a GET per namespace of the scope."""
    try:
        found = list_objects(api, NAMESPACE)
    except ApiError as error:
        if error.status != 403:
            raise
        found = []
        for name in scope.readable:
            try:
                found.append(api.request("GET", NAMESPACE.item_path(None, name)))
            except ApiError as missing:
                if not missing.not_found:
                    raise
    for obj in found:
        obj.setdefault("apiVersion", NAMESPACE.api_version)
        obj.setdefault("kind", NAMESPACE.kind)
        into.namespaces.add(obj["metadata"]["name"])
        into.objects[key_of(obj)] = obj


def _read_candidates(api: KubeApi, resource: Resource, namespaces: Iterable[str], *, into: LiveState,
                     label_selector: str) -> None:
    """Label-selected LISTs of prune candidates; a namespace where RBAC forbids the kind holds none of ours."""
    for namespace in namespaces:
        try:
            _read(api, resource, into=into, namespace=namespace, label_selector=label_selector)
        except ApiError as error:
            if error.status != 403 and not error.not_found:
                raise


def _read_everywhere(api: KubeApi, resource: Resource, namespaces: list[str], *, into: LiveState) -> None:
    """One cluster-wide LIST; where RBAC allows namespaces only, one LIST per namespace of the scope."""
    try:
        _read(api, resource, into=into)
    except ApiError as error:
        if error.not_found:
            return
        if error.status != 403 or not resource.namespaced:
            raise
        into.complete = False
        _read_namespaces(api, resource, namespaces, into=into)


def _destination_namespaces(desired: Iterable[Manifest]) -> set[str]:
    """Namespaces of the Services rendered DestinationRules name (`reviews`, `reviews.bookinfo.svc…`)."""
    found: set[str] = set()
    for manifest in desired:
        if manifest.kind != "DestinationRule" or not isinstance(manifest.obj.get("spec"), dict):
            continue
        host = manifest.obj["spec"].get("host")
        if not isinstance(host, str) or host.startswith("*"):
            continue
        parts = host.split(".")
        if len(parts) == 1:
            found.add(manifest.namespace or "default")
        elif len(parts) == 2 or (len(parts) > 2 and parts[2] == "svc"):
            found.add(parts[1])
    return found


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


CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def read_crd(api: KubeApi, resource: Resource) -> dict | None:
    """The CustomResourceDefinition that serves `resource`, or None (a built-in kind, or not readable)."""
    try:
        return api.request("GET", f"{CRD_PATH}/{resource.plural}.{resource.group}")
    except ApiError as error:
        if error.not_found or error.status == 403:
            return None
        raise


# Kinds cross-resource validation looks up in a live cluster when no plan is made (`validate
# --context`): hosts, subsets, gateways, policies, Gateway API parents and grants, the Pods a subset
# must select, and Namespaces (their labels decide which routes a Gateway listener admits).
LOOKUP_KINDS: tuple[tuple[str, str], ...] = tuple(
    (row.group, row.kind) for row in kinds.KINDS if row.group.endswith("istio.io") or row.group == kinds.GATEWAY_API_GROUP
) + (
    ("", "Service"),
    ("", "Pod"),
    ("", "Namespace"),
)


def read_for_lookup(api: KubeApi, discovery: Discovery, *, kinds_to_read: Iterable[tuple[str, str]] = LOOKUP_KINDS) -> list[dict]:
    """Every object of the lookup kinds the cluster serves, cluster-wide (one paged LIST per kind)."""
    objects: list[dict] = []
    for group, kind in kinds_to_read:
        resource = discovery.preferred(group, kind)
        if resource is None:
            continue
        try:
            objects.extend(list_objects(api, resource))
        except ApiError as error:
            if not error.not_found:  # a CRD of an older Istio that lacks this kind: nothing to look up
                raise
    return objects
