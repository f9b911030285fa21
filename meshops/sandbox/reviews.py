"""Create-only APIs that answer a question instead of storing an object: access reviews, who-am-I,
token reviews, and the TokenRequest subresource that mints ServiceAccount tokens.

- `SelfSubjectAccessReview` is what `kubectl auth can-i` sends; `SubjectAccessReview` asks the same
  for another user; `SelfSubjectRulesReview` is `kubectl auth can-i --list`;
- `SelfSubjectReview` is `kubectl auth whoami`, `TokenReview` checks somebody else's token;
- `POST .../serviceaccounts/<name>/token` (a TokenRequest, `kubectl create token`) returns a bound
  token for an existing ServiceAccount (`auth.Authenticator.mint`).
Each answer echoes the request with a `status`, as the apiserver does; nothing is stored.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from .auth import DEFAULT_EXPIRATION, Authenticator, UserInfo
from .objects import timestamp
from .rbac import Attributes, Authorizer
from .resources import ResourceType, builtin
from .status import bad_request, cause, invalid, not_found
from .store import Store

_CREATE_ONLY = ("create",)
_REVIEW_SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}


def _review(plural: str, kind: str, group: str) -> ResourceType:
    return builtin(plural, kind, group=group, schema=_REVIEW_SCHEMA, namespaced=False, verbs=_CREATE_ONLY)


REVIEW_TYPES: tuple[ResourceType, ...] = (
    _review("selfsubjectaccessreviews", "SelfSubjectAccessReview", "authorization.k8s.io"),
    _review("subjectaccessreviews", "SubjectAccessReview", "authorization.k8s.io"),
    _review("selfsubjectrulesreviews", "SelfSubjectRulesReview", "authorization.k8s.io"),
    _review("selfsubjectreviews", "SelfSubjectReview", "authentication.k8s.io"),
    _review("tokenreviews", "TokenReview", "authentication.k8s.io"),
)
# The shortest token the apiserver mints.
MIN_EXPIRATION = 600


def _attributes(user: UserInfo, spec: dict[str, Any]) -> Attributes:
    resource = spec.get("resourceAttributes")
    if isinstance(resource, dict):
        return Attributes(user=user, verb=str(resource.get("verb") or ""), api_group=str(resource.get("group") or ""),
                          resource=str(resource.get("resource") or ""), subresource=str(resource.get("subresource") or ""),
                          namespace=str(resource.get("namespace") or ""), name=str(resource.get("name") or ""))
    path_attributes = spec.get("nonResourceAttributes")
    if isinstance(path_attributes, dict):
        return Attributes(user=user, verb=str(path_attributes.get("verb") or ""), resource_request=False,
                          path=str(path_attributes.get("path") or ""))
    raise invalid(kind="SelfSubjectAccessReview", group="authorization.k8s.io", name="", causes=[
        cause("spec.resourceAttributes", "FieldValueRequired",
              "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified")])


class Reviews:
    """Answers of the create-only review APIs (see module docstring)."""

    def __init__(self, *, authorizer: Authorizer, authenticator: Authenticator, store: Store,
                 clock: Callable[[], datetime]) -> None:
        self.authorizer = authorizer
        self.authenticator = authenticator
        self.store = store
        self.clock = clock
        self._answers: dict[str, Callable[[UserInfo, dict[str, Any]], dict[str, Any]]] = {
            "selfsubjectaccessreviews": self._self_access,
            "subjectaccessreviews": self._access,
            "selfsubjectrulesreviews": self._self_rules,
            "selfsubjectreviews": lambda user, body: {"userInfo": user.as_status()},
            "tokenreviews": self._token,
        }

    def answer(self, rtype: ResourceType, user: UserInfo, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request(f"the body of the request must be a {rtype.kind} object")
        spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
        status = self._answers[rtype.plural](user, spec)
        metadata = {"creationTimestamp": None, **(body.get("metadata") or {})}
        return {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": metadata, "spec": spec,
                "status": status}

    def _decision(self, attributes: Attributes) -> dict[str, Any]:
        allowed, reason = self.authorizer.decide(attributes)
        status: dict[str, Any] = {"allowed": allowed}
        if reason:
            status["reason"] = reason
        return status

    def _self_access(self, user: UserInfo, spec: dict[str, Any]) -> dict[str, Any]:
        return self._decision(_attributes(user, spec))

    def _access(self, user: UserInfo, spec: dict[str, Any]) -> dict[str, Any]:
        subject = UserInfo(str(spec.get("user") or ""), tuple(spec.get("groups") or ()), str(spec.get("uid") or ""))
        return self._decision(_attributes(subject, spec))

    def _self_rules(self, user: UserInfo, spec: dict[str, Any]) -> dict[str, Any]:
        return self.authorizer.rules_review(user, str(spec.get("namespace") or ""))

    def _token(self, user: UserInfo, spec: dict[str, Any]) -> dict[str, Any]:
        reviewed = self.authenticator.authenticate(f"Bearer {spec.get('token', '')}")
        if reviewed is None:
            return {"authenticated": False, "user": {}, "error": "invalid bearer token"}
        return {"authenticated": True, "user": reviewed.as_status(), "audiences": spec.get("audiences") or []}

    def token_request(self, *, namespace: str, name: str, body: Any) -> dict[str, Any]:
        """A TokenRequest answered with a token for ServiceAccount namespace/name (404 when it is missing)."""
        account = self.store.get(("", "serviceaccounts"), namespace, name)
        if account is None:
            raise not_found("serviceaccounts", "", name)
        spec = dict((body or {}).get("spec") or {}) if isinstance(body, dict) else {}
        seconds = int(spec.get("expirationSeconds") or DEFAULT_EXPIRATION)
        if seconds < MIN_EXPIRATION:
            raise invalid(kind="TokenRequest", group="authentication.k8s.io", name=name, causes=[
                cause("spec.expirationSeconds", "FieldValueInvalid",
                      f"Invalid value: {seconds}: may not specify a duration less than 10 minutes")])
        token, expires = self.authenticator.mint(namespace=namespace, name=name, uid=account["metadata"]["uid"],
                                                 expiration_seconds=seconds, audiences=spec.get("audiences"))
        spec.update(expirationSeconds=seconds, audiences=spec.get("audiences") or [], boundObjectRef=spec.get("boundObjectRef"))
        return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": name, "namespace": namespace,
                             "creationTimestamp": timestamp(self.clock())},
                "spec": spec,
                "status": {"token": token,
                           "expirationTimestamp": timestamp(datetime.fromtimestamp(expires, timezone.utc))}}

