"""Request dispatch: a parsed request in, a response (or a watch stream) out, no HTTP details.

Every request first passes `access` (authentication, impersonation, RBAC). Non-resource paths
(version, health, discovery, OpenAPI) are a table; resource requests are checked against the registry (unknown group/version/plural, wrong scope, unknown subresource all
404 like the apiserver), their query parameters validated (`dryRun`, `fieldValidation`, `force`,
`fieldManager`) and handed to `Reader`, `Writer` or `Watch` — or, for the create-only review APIs and
the ServiceAccount token subresource, answered by `Reviews`. GET and LIST answer a Table when the
client asks for one (`tables`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from . import discovery, protobuf, tables, validation
from .access import Access, Credentials
from .auth import UserInfo
from .builtin import REVIEW_RESOURCES
from .objects import Clock, served
from .reads import Reader
from .reviews import Reviews
from .registry import Registry
from .resources import ResourceType
from .routing import RequestInfo
from .status import ApiError, bad_request, method_not_allowed, no_such_path, unsupported_media_type
from .store import Store
from .watch import Watch
from .writes import WriteOptions, Writer, decode_apply, decode_json

# The longest fieldManager the apiserver accepts.
MAX_MANAGER_LENGTH = 128


@dataclass
class Request:
    info: RequestInfo
    body: bytes = b""
    content_type: str = ""
    user_agent: str = ""
    credentials: Credentials = field(default_factory=Credentials)
    accept: str = ""


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: Iterator[dict[str, Any]] | None = None


def json_response(status: int, payload: Any, *, warnings: list[str] | None = None) -> Response:
    # RFC 7234 warning: code 299 ("miscellaneous persistent warning"), agent "-", quoted text.
    headers = [("Warning", "299 - " + json.dumps(warning)) for warning in warnings or []]
    # Go's json.Encoder, which the apiserver writes with, ends every document with a newline.
    return Response(status, json.dumps(payload, separators=(",", ":")).encode() + b"\n", headers=headers)


def error_response(error: ApiError) -> Response:
    response = json_response(error.code, error.status)
    response.headers.extend(error.headers.items())
    return response


def default_manager(user_agent: str) -> str:
    """The manager name the apiserver derives from a User-Agent when fieldManager is absent."""
    return (user_agent.split("/")[0] or "unknown")[:MAX_MANAGER_LENGTH]


class Api:
    """The whole API of one sandbox."""

    def __init__(self, *, registry: Registry, store: Store, clock: Clock, server_address: Callable[[], str],
                 writer: Writer, access: Access, reviews: Reviews) -> None:
        self.registry = registry
        self.store = store
        self.clock = clock
        self.reader = Reader(store)
        self.writer = writer
        self.access = access
        self.reviews = reviews
        self.openapi = discovery.OpenApiCache(registry)
        self.server_address = server_address

    def handle(self, request: Request) -> Response:
        try:
            user = self.access.user_of(request.info, request.credentials)
            if request.info.is_resource:
                return self._resource(request, user)
            return self._non_resource(request.info)
        except ApiError as error:
            return error_response(error)

    # -- non-resource paths -------------------------------------------------------------------------

    def _non_resource(self, info: RequestInfo) -> Response:
        if info.method not in ("GET", "HEAD"):
            raise method_not_allowed(info.method, info.path)
        parts = [p for p in info.path.strip("/").split("/") if p]
        head = parts[0] if parts else ""
        if head in ("healthz", "readyz", "livez"):
            return Response(200, b"ok", content_type="text/plain; charset=utf-8")
        if head == "openapi":
            return self._openapi(parts[1:])
        payload = self._discovery(parts)
        if payload is None:
            raise no_such_path()
        return json_response(200, payload)

    def _discovery(self, parts: list[str]) -> dict[str, Any] | None:
        if parts == ["version"]:
            return discovery.VERSION
        if parts == ["api"]:
            return discovery.api_versions(self.server_address())
        if parts == ["apis"]:
            return discovery.api_group_list(self.registry)
        if len(parts) == 2 and parts[0] == "api":
            return discovery.api_resource_list(self.registry, "", parts[1])
        if len(parts) == 2 and parts[0] == "apis":
            return discovery.api_group(self.registry, parts[1])
        if len(parts) == 3 and parts[0] == "apis":
            return discovery.api_resource_list(self.registry, parts[1], parts[2])
        return None

    def _openapi(self, parts: list[str]) -> Response:
        if parts == ["v3"]:
            return json_response(200, self.openapi.index())
        if parts[:1] == ["v3"] and len(parts) > 1:
            document = self.openapi.document("/".join(parts[1:]))
            if document is not None:
                return Response(200, document)
        raise no_such_path()

    # -- resources ------------------------------------------------------------------------------------

    def _type(self, info: RequestInfo) -> ResourceType:
        rtype = self.registry.resolve(info.group, info.version, info.resource or "")
        if rtype is None:
            raise no_such_path()
        if info.namespace is not None and not rtype.namespaced:
            raise no_such_path()
        if rtype.namespaced and info.namespace is None and info.verb not in ("list", "watch"):
            raise no_such_path()
        extra = {name: verbs for name, _, _, _, verbs in rtype.subresources}
        if info.subresource and info.subresource in extra:
            if info.verb not in extra[info.subresource]:
                raise method_not_allowed(info.method, f"{rtype.plural}/{info.subresource}")
            return rtype
        if info.subresource and not (info.subresource == "status" and rtype.status_subresource):
            raise no_such_path()
        if info.subresource and info.verb not in ("get", "update", "patch"):
            raise method_not_allowed(info.method, f"{rtype.plural}/{info.subresource}")
        if info.verb not in rtype.verbs:
            raise method_not_allowed(info.method, rtype.plural)
        return rtype

    def _table(self, request: Request, rtype: ResourceType, objects: list[dict], metadata: dict) -> Response:
        include = request.info.query.get("includeObject") or "Metadata"
        return json_response(200, tables.table(rtype, objects, list_metadata=metadata, now=self.clock(),
                                               include_object=include))

    def _resource(self, request: Request, user: UserInfo) -> Response:
        info = request.info
        rtype = self._type(info)
        namespace = info.namespace if rtype.namespaced else ""
        verb = info.verb
        if rtype.group_resource in REVIEW_RESOURCES:
            return json_response(201, self.reviews.answer(rtype, user, decode_body(request)))
        if info.subresource == "token":
            return json_response(201, self.reviews.token_request(namespace=namespace, name=info.name or "",
                                                                 body=decode_body(request)))
        as_table = tables.wants_table(request.accept)
        if verb == "get":
            obj = self.reader.get(rtype, namespace, info.name or "")
            if as_table:
                return self._table(request, rtype, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")})
            return json_response(200, obj)
        if verb == "list":
            if as_table:
                objects, metadata = self.reader.page(rtype, info.namespace, info.query)
                return self._table(request, rtype, [served(obj, rtype) for obj in objects], metadata)
            return Response(200, self.reader.list(rtype, info.namespace, info.query) + b"\n")
        if verb == "watch":
            query = dict(info.query)
            if info.name:  # /watch/.../name is a watch on that one object
                query["fieldSelector"] = f"metadata.name={info.name}"
            selection = self.reader.selection(rtype, query)
            watch = Watch(store=self.store, rtype=rtype, namespace=info.namespace, selection=selection, query=query)
            if as_table:
                include = info.query.get("includeObject") or "Metadata"
                return Response(200, stream=tables.watch_rows(rtype, watch.events(), now=self.clock,
                                                              include_object=include))
            return Response(200, stream=watch.events())
        if verb == "delete":
            options = decode_json(request.body) if request.body.strip() else {}
            dry_run = _dry_run(info) or "All" in ((options or {}).get("dryRun") or [])
            return json_response(200, self.writer.deleter.delete(rtype, namespace, info.name or "", options=options or {},
                                                         dry_run=dry_run))
        if verb == "deletecollection":
            selected = self.reader.select(rtype, info.namespace, info.query)
            return json_response(200, self.writer.deleter.delete_collection(rtype, info.namespace, selected,
                                                                    dry_run=_dry_run(info)))
        opts = self._write_options(request, rtype)
        if verb == "create":
            code, obj = self.writer.create(rtype, namespace, decode_body(request), opts)
        elif verb == "update":
            code, obj = self.writer.update(rtype, namespace, info.name or "", decode_body(request), opts)
        elif verb == "patch":
            code, obj = self.writer.patch(rtype, namespace, info.name or "", content_type=request.content_type,
                                          raw=request.body, opts=opts)
        else:
            raise method_not_allowed(info.method, info.path)
        return json_response(code, obj, warnings=opts.warnings)

    def _write_options(self, request: Request, rtype: ResourceType) -> WriteOptions:
        query = request.info.query
        mode = query.get("fieldValidation") or validation.DEFAULT_FIELD_VALIDATION
        if mode not in validation.FIELD_VALIDATION:
            raise bad_request(f'fieldValidation: Unsupported value: "{mode}": supported values: "Ignore", "Strict", "Warn"')
        manager = query.get("fieldManager")
        if manager is not None and len(manager) > MAX_MANAGER_LENGTH:
            raise ApiError(422, f"fieldManager: Too long: may not be more than {MAX_MANAGER_LENGTH} bytes")
        force = query.get("force") == "true"
        is_apply = request.content_type.split(";")[0].strip().lower() == "application/apply-patch+yaml"
        if "force" in query and not (request.info.verb == "patch" and is_apply):
            raise ApiError(422, 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch')
        return WriteOptions(
            field_manager=manager or default_manager(request.user_agent),
            explicit_manager=bool(manager),
            dry_run=_dry_run(request.info),
            field_validation=mode,
            force=force,
            subresource=request.info.subresource,
        )


# Body media types accepted for create/update (protobuf for the kinds kubectl's typed commands send).
BODY_TYPES = {"application/json": decode_json, "application/yaml": decode_apply, protobuf.MEDIA_TYPE: protobuf.decode}


def decode_body(request: Request) -> Any:
    media = request.content_type.split(";")[0].strip().lower() or "application/json"
    decoder = BODY_TYPES.get(media)
    if decoder is None:
        raise unsupported_media_type(media, list(BODY_TYPES))
    return decoder(request.body)


def _dry_run(info: RequestInfo) -> bool:
    value = info.query.get("dryRun")
    if value is None or value == "":
        return False
    if value != "All":
        raise bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return True
