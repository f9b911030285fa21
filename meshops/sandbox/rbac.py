"""Authorization: RBAC over the stored Roles and bindings, decided per request like the apiserver.

Second filter after `auth`. `system:masters` is allowed everything without looking at RBAC (the
apiserver's privileged-group authorizer does the same). Everyone else is allowed a request when a
ClusterRoleBinding, or a RoleBinding in the request's namespace, binds them (as User, Group or
ServiceAccount) to a role with a matching rule: verb, API group, resource (`pods`, `pods/status`,
`*`, `*/status`), resource name (an empty list matches all, a list never matches an unnamed request
such as list or create) — or, for non-resource paths, a matching URL (`/apis/*` matches a prefix).
A denial is the 403 the apiserver sends, worded like it:
`configmaps "x" is forbidden: User "system:serviceaccount:ns:sa" cannot get resource "configmaps"
in API group "" in the namespace "ns"`; a binding to a missing role adds `: RBAC: role... not found`.
Not implemented: aggregated ClusterRoles (`aggregationRule`) and the escalation check on writes of
Roles and bindings.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from .auth import UserInfo, split_service_account
from .rbac_kinds import GROUP
from .status import ApiError, qualified
from .store import Store

PRIVILEGED_GROUP = "system:masters"
_ROLES = (GROUP, "roles")
_CLUSTER_ROLES = (GROUP, "clusterroles")
_BINDINGS = (GROUP, "rolebindings")
_CLUSTER_BINDINGS = (GROUP, "clusterrolebindings")


@dataclass(frozen=True)
class Attributes:
    """What a request asks to do, as the authorizer sees it."""

    user: UserInfo
    verb: str
    resource_request: bool = True
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""


def _matches(values: Iterable[str] | None, wanted: str) -> bool:
    values = list(values or ())
    return "*" in values or wanted in values


def _resource_matches(rule: dict[str, Any], attributes: Attributes) -> bool:
    resources = rule.get("resources") or []
    if attributes.subresource:
        combined = f"{attributes.resource}/{attributes.subresource}"
        return combined in resources or f"*/{attributes.subresource}" in resources or "*" in resources
    return attributes.resource in resources or "*" in resources


def _url_matches(rule: dict[str, Any], path: str) -> bool:
    for url in rule.get("nonResourceURLs") or []:
        if url == "*" or url == path or (url.endswith("*") and path.startswith(url[:-1])):
            return True
    return False


def rule_allows(rule: dict[str, Any], attributes: Attributes) -> bool:
    if not _matches(rule.get("verbs"), attributes.verb):
        return False
    if not attributes.resource_request:
        return _url_matches(rule, attributes.path)
    if not _matches(rule.get("apiGroups"), attributes.api_group) or not _resource_matches(rule, attributes):
        return False
    names = rule.get("resourceNames") or []
    return not names or attributes.name in names


def _subject_applies(subject: dict[str, Any], user: UserInfo, binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return name == user.name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        account = split_service_account(user.name)
        namespace = subject.get("namespace") or binding_namespace
        return account is not None and account == (namespace, name)
    return False


class Authorizer:
    """RBAC decisions over the objects in one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _bound_rules(self, user: UserInfo, namespace: str) -> tuple[list[dict[str, Any]], list[str]]:
        """Every rule bound to `user` at cluster scope and in `namespace`, and errors (missing roles)."""
        rules: list[dict[str, Any]] = []
        errors: list[str] = []
        bindings = [(binding, "") for binding in self.store.items(_CLUSTER_BINDINGS)]
        if namespace:
            bindings += [(binding, namespace) for binding in self.store.items(_BINDINGS, namespace)]
        for binding, binding_namespace in bindings:
            if not any(_subject_applies(s, user, binding_namespace) for s in binding.get("subjects") or []
                       if isinstance(s, dict)):
                continue
            ref = binding.get("roleRef") or {}
            if ref.get("kind") == "Role":
                role = self.store.get(_ROLES, binding_namespace, ref.get("name", ""))
                missing = f'role.{GROUP} "{ref.get("name", "")}" not found'
            else:
                role = self.store.get(_CLUSTER_ROLES, "", ref.get("name", ""))
                missing = f'clusterrole.{GROUP} "{ref.get("name", "")}" not found'
            if role is None:
                errors.append(missing)
                continue
            rules.extend(rule for rule in role.get("rules") or [] if isinstance(rule, dict))
        return rules, errors

    def decide(self, attributes: Attributes) -> tuple[bool, str]:
        """(allowed, reason) for one request."""
        if PRIVILEGED_GROUP in attributes.user.groups:
            return True, ""
        rules, errors = self._bound_rules(attributes.user, attributes.namespace)
        if any(rule_allows(rule, attributes) for rule in rules):
            return True, "RBAC: allowed"
        return False, ("RBAC: " + ", ".join(errors)) if errors else ""

    def rules_review(self, user: UserInfo, namespace: str) -> dict[str, Any]:
        """The status of a SelfSubjectRulesReview: the rules `user` has in `namespace`."""
        if PRIVILEGED_GROUP in user.groups:
            rules = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                     {"nonResourceURLs": ["*"], "verbs": ["*"]}]
            errors: list[str] = []
        else:
            rules, errors = self._bound_rules(user, namespace)
        resource_rules = [{k: v for k, v in rule.items() if k != "nonResourceURLs"} for rule in rules
                          if not rule.get("nonResourceURLs")]
        url_rules = [{"verbs": rule.get("verbs") or [], "nonResourceURLs": rule["nonResourceURLs"]} for rule in rules
                     if rule.get("nonResourceURLs")]
        status: dict[str, Any] = {"resourceRules": resource_rules, "nonResourceRules": url_rules,
                                  "incomplete": bool(errors)}
        if errors:
            status["evaluationError"] = ", ".join(errors)
        return status


def forbidden_message(attributes: Attributes) -> str:
    """`User "x" cannot get resource "pods" in API group "" in the namespace "ns"` (apiserver wording)."""
    user = attributes.user.name
    if not attributes.resource_request:
        return f'User "{user}" cannot {attributes.verb} path "{attributes.path}"'
    resource = attributes.resource + (f"/{attributes.subresource}" if attributes.subresource else "")
    where = (f'in the namespace "{attributes.namespace}"' if attributes.namespace else "at the cluster scope")
    return f'User "{user}" cannot {attributes.verb} resource "{resource}" in API group "{attributes.api_group}" {where}'


def forbidden(attributes: Attributes, reason: str = "") -> ApiError:
    """The 403 Forbidden Status of a denied request."""
    message = forbidden_message(attributes) + (f": {reason}" if reason else "")
    details: dict[str, Any] = {}
    if attributes.resource_request:
        target = qualified(attributes.resource, attributes.api_group)
        if attributes.name:
            details["name"] = attributes.name
            message = f'{target} "{attributes.name}" is forbidden: {message}'
        else:
            message = f"{target} is forbidden: {message}"
        if attributes.api_group:
            details["group"] = attributes.api_group
        details["kind"] = attributes.resource
    else:
        message = f"forbidden: {message}"
    return ApiError(403, message, details=details)
