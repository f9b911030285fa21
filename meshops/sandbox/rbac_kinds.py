"""The rbac.authorization.k8s.io/v1 kinds as stored objects: Role, ClusterRole, RoleBinding, ClusterRoleBinding.

Served and checked like the apiserver (a rule needs verbs, a namespaced rule cannot name non-resource
URLs, a binding's `roleRef` is immutable and names a Role or ClusterRole, subjects are Users, Groups or
ServiceAccounts). `rbac` reads them to authorize every request; `BOOTSTRAP` is the part of the
apiserver's bootstrap policy a client notices: cluster-admin for `system:masters`, discovery and
self-reviews for every authenticated user.
"""
from __future__ import annotations

from typing import Any, Callable

from . import goformat
from .resources import ResourceType, builtin
from .status import cause

Causes = list[dict[str, str]]
GROUP = "rbac.authorization.k8s.io"

_STRINGS = {"type": "array", "items": {"type": "string"}}
_RULE = {"type": "object", "required": ["verbs"], "properties": {
    "apiGroups": _STRINGS, "resources": _STRINGS, "verbs": _STRINGS, "resourceNames": _STRINGS,
    "nonResourceURLs": _STRINGS}}
_RULES = {"type": "array", "items": _RULE}
_SUBJECT = {"type": "object", "required": ["kind", "name"], "properties": {
    "kind": {"type": "string"}, "apiGroup": {"type": "string"}, "name": {"type": "string"},
    "namespace": {"type": "string"}}}
_ROLE_REF = {"type": "object", "required": ["apiGroup", "kind", "name"], "properties": {
    "apiGroup": {"type": "string"}, "kind": {"type": "string"}, "name": {"type": "string"}}}
_BINDING = {"type": "object", "required": ["roleRef"], "properties": {
    "subjects": {"type": "array", "items": _SUBJECT}, "roleRef": _ROLE_REF}}
_AGGREGATION = {"type": "object", "properties": {"clusterRoleSelectors": {
    "type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}


def _rbac(plural: str, kind: str, schema: dict[str, Any], *, namespaced: bool) -> ResourceType:
    return builtin(plural, kind, group=GROUP, schema=schema, namespaced=namespaced, name_rule="any")


RBAC_TYPES: tuple[ResourceType, ...] = (
    _rbac("roles", "Role", {"type": "object", "properties": {"rules": _RULES}}, namespaced=True),
    _rbac("clusterroles", "ClusterRole", {"type": "object", "properties": {"rules": _RULES,
                                                                          "aggregationRule": _AGGREGATION}},
          namespaced=False),
    _rbac("rolebindings", "RoleBinding", _BINDING, namespaced=True),
    _rbac("clusterrolebindings", "ClusterRoleBinding", _BINDING, namespaced=False),
)


def _rule_causes(obj: dict, *, namespaced: bool) -> Causes:
    causes: Causes = []
    for index, rule in enumerate(obj.get("rules") or []):
        where = f"rules[{index}]"
        if not rule.get("verbs"):
            causes.append(cause(f"{where}.verbs", "FieldValueRequired", "Required value: verbs must contain at least one value"))
        urls = rule.get("nonResourceURLs") or []
        if urls and namespaced:
            causes.append(cause(f"{where}.nonResourceURLs", "FieldValueInvalid",
                                f"Invalid value: {goformat.string_slice(urls)}: namespaced rules cannot apply to "
                                "non-resource URLs"))
        if urls and (rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames")):
            causes.append(cause(f"{where}.nonResourceURLs", "FieldValueInvalid",
                                f"Invalid value: {goformat.string_slice(urls)}: rules cannot apply to both regular "
                                "resources and non-resource URLs"))
        if not urls and not rule.get("resources"):
            causes.append(cause(f"{where}.resources", "FieldValueRequired",
                                "Required value: resource rules must supply at least one resource"))
        if not urls and rule.get("apiGroups") is None:
            causes.append(cause(f"{where}.apiGroups", "FieldValueRequired",
                                "Required value: resource rules must supply at least one api group"))
    return causes


def _binding_causes(obj: dict, *, namespaced: bool) -> Causes:
    causes: Causes = []
    ref = obj.get("roleRef") or {}
    kinds = ("Role", "ClusterRole") if namespaced else ("ClusterRole",)
    if ref.get("kind") not in kinds:
        supported = ", ".join(f'"{kind}"' for kind in kinds)
        causes.append(cause("roleRef.kind", "FieldValueNotSupported",
                            f'Unsupported value: "{ref.get("kind", "")}": supported values: {supported}'))
    if ref.get("apiGroup") != GROUP:
        causes.append(cause("roleRef.apiGroup", "FieldValueNotSupported",
                            f'Unsupported value: "{ref.get("apiGroup", "")}": supported values: "{GROUP}"'))
    for index, subject in enumerate(obj.get("subjects") or []):
        kind = subject.get("kind")
        if kind not in ("ServiceAccount", "User", "Group"):
            causes.append(cause(f"subjects[{index}].kind", "FieldValueNotSupported",
                                f'Unsupported value: "{kind}": supported values: "ServiceAccount", "User", "Group"'))
        elif kind == "ServiceAccount" and not namespaced and not subject.get("namespace"):
            causes.append(cause(f"subjects[{index}].namespace", "FieldValueRequired", "Required value"))
    return causes


def _role_ref_unchanged(new: dict, old: dict) -> Causes:
    ref = new.get("roleRef") or {}
    if ref != (old.get("roleRef") or {}):
        shown = (f'rbac.RoleRef{{APIGroup:"{ref.get("apiGroup", "")}", Kind:"{ref.get("kind", "")}", '
                 f'Name:"{ref.get("name", "")}"}}')
        return [cause("roleRef", "FieldValueInvalid", f"Invalid value: {shown}: cannot change roleRef")]
    return []


RBAC_CHECKS: dict[tuple[str, str], Callable[[dict], Causes]] = {
    (GROUP, "roles"): lambda obj: _rule_causes(obj, namespaced=True),
    (GROUP, "clusterroles"): lambda obj: _rule_causes(obj, namespaced=False),
    (GROUP, "rolebindings"): lambda obj: _binding_causes(obj, namespaced=True),
    (GROUP, "clusterrolebindings"): lambda obj: _binding_causes(obj, namespaced=False),
}
RBAC_UPDATE_CHECKS: dict[tuple[str, str], Callable[[dict, dict], Causes]] = {
    (GROUP, "rolebindings"): _role_ref_unchanged,
    (GROUP, "clusterrolebindings"): _role_ref_unchanged,
}

_BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_DISCOVERY_URLS = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz",
                   "/version", "/version/"]


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": dict(_BOOTSTRAP_LABELS),
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "rules": rules}


def _cluster_binding(name: str, *groups: str) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": dict(_BOOTSTRAP_LABELS),
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": group} for group in groups]}


# The bootstrap roles and bindings every cluster starts with (the subset clients notice).
BOOTSTRAP: tuple[dict[str, Any], ...] = (
    _cluster_role("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                                    {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
    _cluster_binding("cluster-admin", "system:masters"),
    _cluster_role("system:discovery", [{"nonResourceURLs": _DISCOVERY_URLS, "verbs": ["get"]}]),
    _cluster_binding("system:discovery", "system:authenticated"),
    _cluster_role("system:basic-user", [
        {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
         "verbs": ["create"]},
        {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]}]),
    _cluster_binding("system:basic-user", "system:authenticated"),
    _cluster_role("system:public-info-viewer", [
        {"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"], "verbs": ["get"]}]),
    _cluster_binding("system:public-info-viewer", "system:authenticated", "system:unauthenticated"),
)
