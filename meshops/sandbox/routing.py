"""URL -> what is asked for: the apiserver's RequestInfo, parsed the same way.

`/api/v1/namespaces/bookinfo/services/reviews/status` becomes group "", version v1, namespace
bookinfo, resource services, name reviews, subresource status, and the HTTP method plus the
presence of a name (and `?watch=true`) becomes the verb: get, list, watch, create, update, patch,
delete or deletecollection. `/api/v1/namespaces/x` names the namespace x itself; the legacy
`/watch/` path prefix is understood too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

# Path segments after /namespaces/<name>/ that are subresources of the namespace, not resources.
_NAMESPACE_SUBRESOURCES = {"status", "finalize"}
_TRUE = {"true", "1", "True"}


@dataclass
class RequestInfo:
    """What a request addresses, and how."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    is_resource: bool = False
    verb: str = ""
    group: str = ""
    version: str = ""
    namespace: str | None = None
    resource: str | None = None
    name: str | None = None
    subresource: str = ""

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun") == "All"


def _query(raw: str) -> dict[str, str]:
    parsed = parse_qs(raw, keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items()}


def _resource_verb(method: str, info: RequestInfo, watch_prefix: bool) -> str:
    if method == "GET":
        if info.name:
            return "watch" if watch_prefix else "get"
        return "watch" if watch_prefix or info.query.get("watch") in _TRUE else "list"
    if method == "DELETE":
        return "delete" if info.name else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


def parse(method: str, target: str) -> RequestInfo:
    path, _, raw_query = target.partition("?")
    info = RequestInfo(method=method, path=path, query=_query(raw_query))
    parts = [unquote(p) for p in path.strip("/").split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 3:
        info.group, info.version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        info.group, info.version, rest = parts[1], parts[2], parts[3:]
    else:
        info.verb = method.lower()
        return info
    watch_prefix = rest[0] == "watch"
    if watch_prefix:
        rest = rest[1:]
        if not rest:
            info.verb = method.lower()
            return info
    if rest[0] == "namespaces" and len(rest) > 1:
        info.namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    info.is_resource = True
    info.resource = rest[0]
    info.name = rest[1] if len(rest) > 1 else None
    info.subresource = "/".join(rest[2:])
    if info.resource == "namespaces" and info.name:
        info.namespace = None  # the namespace object itself is cluster-scoped
    info.verb = _resource_verb(method, info, watch_prefix)
    return info
