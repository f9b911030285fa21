"""Object names as the API server accepts them, so validate refuses what `kubectl apply` would.

Every kind's `metadata.name` follows one of apimachinery's rules: most (custom resources, ConfigMaps,
Secrets …) must be an RFC 1123 subdomain, Namespaces an RFC 1123 label, Services a DNS-1035 label
(they become DNS names), RBAC objects any path segment. `metadata.namespace` is always an RFC 1123
label. `Reviews_V1` passes a YAML parser and fails at the server; here it fails in the pull request.
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass


@dataclass(frozen=True)
class NameRule:
    """One of apimachinery's name rules: pattern, longest length, and how the server explains it."""

    pattern: re.Pattern | None  # None: any path segment (no '/', '%', not '.' or '..')
    longest: int
    explanation: str


SUBDOMAIN = NameRule(
    re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"), 253,
    "a lowercase RFC 1123 subdomain: lower case letters, digits, '-' and '.', starting and ending with a letter or digit",
)
LABEL = NameRule(
    re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), 63,
    "a lowercase RFC 1123 label: lower case letters, digits and '-', starting and ending with a letter or digit",
)
DNS1035 = NameRule(
    re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$"), 63,
    "a DNS-1035 label: lower case letters, digits and '-', starting with a letter and ending with a letter or digit",
)
PATH_SEGMENT = NameRule(None, 0, "a path segment: no '/' or '%', and not '.' or '..'")

_RBAC = "rbac.authorization.k8s.io"
# (group, kind) -> the rule for metadata.name; every other kind (custom resources included) is SUBDOMAIN.
NAME_RULES: dict[tuple[str, str], NameRule] = {
    ("", "Namespace"): LABEL,
    ("", "Service"): DNS1035,
    ("", "Event"): PATH_SEGMENT,
    (_RBAC, "Role"): PATH_SEGMENT,
    (_RBAC, "ClusterRole"): PATH_SEGMENT,
    (_RBAC, "RoleBinding"): PATH_SEGMENT,
    (_RBAC, "ClusterRoleBinding"): PATH_SEGMENT,
}
NAMESPACE_RULE = LABEL
_ALPHANUMERIC = frozenset(string.ascii_lowercase + string.digits)


def rule_for(group: str, kind: str) -> NameRule:
    """The rule `metadata.name` of this kind must follow."""
    return NAME_RULES.get((group, kind), SUBDOMAIN)


def name_problem(name: str, rule: NameRule) -> str | None:
    """Why the API server would refuse `name` under `rule`, or None when it is fine."""
    if rule.pattern is None:
        bad = name in (".", "..") or "/" in name or "%" in name
        return f"must be {rule.explanation}" if bad else None
    if len(name) > rule.longest:
        return f"is {len(name)} characters long, at most {rule.longest} are allowed"
    return None if rule.pattern.match(name) else f"must be {rule.explanation}"


def suggested_name(name: str, rule: NameRule) -> str | None:
    """A name close to `name` that `rule` accepts (`Reviews_V1` -> `reviews-v1`), or None."""
    if rule.pattern is None:
        return None
    allowed = "-." if rule is SUBDOMAIN else "-"
    cleaned = "".join(c if c in _ALPHANUMERIC or c in allowed else "-" for c in name.lower())
    cleaned = re.sub(r"-+", "-", cleaned).strip("-.")[: rule.longest].strip("-.")
    if rule is DNS1035:
        cleaned = cleaned.lstrip("0123456789-")
    return cleaned if cleaned and cleaned != name and rule.pattern.match(cleaned) else None
