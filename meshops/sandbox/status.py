"""Errors as the API server reports them: `Status` objects with the real `reason` and `code`.

Every failure inside the sandbox raises `ApiError`; the HTTP layer turns it into the JSON body and
status code a real kube-apiserver would send, so clients (kubectl, the official Python client,
meshops's own cluster layer) take the same code paths as against a real cluster. The messages
follow the apiserver's wording (`configmaps "x" not found`, `Operation cannot be fulfilled on ...`)
because people and tools match on them.
"""
from __future__ import annotations

from typing import Any

# HTTP code -> the `reason` the apiserver puts in the Status body for it.
REASONS: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class ApiError(Exception):
    """A request the server refuses; `status` is the Status object sent back."""

    def __init__(self, code: int, message: str, *, reason: str | None = None, details: dict | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = REASONS.get(code, "Unknown") if reason is None else reason
        self.details = details
        self.headers = headers or {}

    @property
    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:  # an empty reason is left out, as Go's omitempty does
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(resource: str, group: str, name: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    details["kind"] = resource
    return details


def qualified(resource: str, group: str) -> str:
    """`virtualservices.networking.istio.io`, or `configmaps` for the core group."""
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, group: str, name: str) -> ApiError:
    return ApiError(404, f'{qualified(resource, group)} "{name}" not found', details=_details(resource, group, name))


def no_such_path() -> ApiError:
    """A URL that names no resource (unknown group, version or plural)."""
    return ApiError(404, "the server could not find the requested resource", details={})


def already_exists(resource: str, group: str, name: str) -> ApiError:
    return ApiError(
        409, f'{qualified(resource, group)} "{name}" already exists', reason="AlreadyExists",
        details=_details(resource, group, name),
    )


def modified_conflict(resource: str, group: str, name: str) -> ApiError:
    """A write whose resourceVersion precondition no longer holds."""
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        details=_details(resource, group, name),
    )


def precondition_conflict(resource: str, group: str, name: str, what: str) -> ApiError:
    return ApiError(
        409, f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {what}',
        details=_details(resource, group, name),
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def method_not_allowed(method: str, what: str) -> ApiError:
    return ApiError(405, f"{method} is not supported on {what}", details={})


def unsupported_media_type(content_type: str, accepted: list[str]) -> ApiError:
    return ApiError(
        415,
        f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}",
    )


def forbidden(resource: str, group: str, name: str, message: str, *,
              causes: list[dict[str, str]] | None = None) -> ApiError:
    """403 Forbidden worded like apierrors.NewForbidden: `configmaps "x" is forbidden: <why>`."""
    target = qualified(resource, group)
    text = f'{target} "{name}" is forbidden: {message}' if name else f"{target} is forbidden: {message}"
    details = _details(resource, group, name)
    if causes:
        details["causes"] = causes
    return ApiError(403, text, details=details)


def invalid_resource_version(*, kind: str, group: str, name: str) -> ApiError:
    """A PUT of a custom resource without metadata.resourceVersion (custom resources need one)."""
    return invalid(kind=kind, group=group, name=name, causes=[
        cause("metadata.resourceVersion", "FieldValueInvalid", "Invalid value: 0x0: must be specified for an update")])


def internal(message: str) -> ApiError:
    return ApiError(500, f"Internal error occurred: {message}", details={"causes": [{"message": message}]})


def expired(message: str) -> ApiError:
    return ApiError(410, message, reason="Expired")


def invalid(*, kind: str, group: str, name: str, causes: list[dict[str, str]]) -> ApiError:
    """422 Invalid with one cause per broken field, worded like apimachinery's field errors."""
    rendered = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    summary = rendered[0] if len(rendered) == 1 else "[" + ", ".join(rendered) + "]"
    qualified_kind = f"{kind}.{group}" if group else kind
    details: dict[str, Any] = {"name": name, "kind": kind, "causes": causes}
    if group:
        details = {"name": name, "group": group, "kind": kind, "causes": causes}
    return ApiError(422, f'{qualified_kind} "{name}" is invalid: {summary}', details=details)


def cause(field: str, reason: str, message: str) -> dict[str, str]:
    return {"reason": reason, "message": message, "field": field}


def success(*, resource: str, group: str, name: str, uid: str) -> dict[str, Any]:
    """The Status a delete of a core object answers with."""
    details = _details(resource, group, name)
    details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
