"""The filters every request passes before dispatch: authenticate, impersonate, authorize.

In the apiserver's order: the bearer token names a user (`auth`; none or a bad one is 401
Unauthorized, except that health and version endpoints may be read anonymously — the apiserver's
anonymous authentication limited to those endpoints, as Kubernetes 1.32 configures it), `Impersonate-User`/`Impersonate-Group`/`Impersonate-Uid` headers (what
`kubectl --as` sends) switch to another user if the caller may `impersonate` them, and RBAC
(`rbac`) decides whether that user may do what the request asks; a denial is 403 Forbidden with the
apiserver's message. The request's attributes follow the apiserver's RequestInfo: the namespace of
`/api/v1/namespaces/x` is x, a list or watch pinned by `fieldSelector=metadata.name=y` is about y.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .auth import AUTHENTICATED, Authenticator, UserInfo, service_account_user, split_service_account
from .rbac import Attributes, Authorizer, forbidden
from .routing import RequestInfo
from .selectors import parse_fields, single_name
from .status import ApiError


@dataclass
class Credentials:
    """What a request says about who sends it."""

    authorization: str | None = None
    impersonate_user: str | None = None
    impersonate_groups: list[str] = field(default_factory=list)
    impersonate_uid: str | None = None


ANONYMOUS = UserInfo("system:anonymous", ("system:unauthenticated",))
# Paths an unauthenticated request may read (anonymous authentication limited to these endpoints).
ANONYMOUS_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version", "/version/"})


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized")


def attributes_of(user: UserInfo, info: RequestInfo) -> Attributes:
    """The authorization attributes of a request (see module docstring)."""
    if not info.is_resource:
        return Attributes(user=user, verb=info.method.lower(), resource_request=False, path=info.path)
    name = info.name or ""
    namespace = info.namespace or ""
    if info.resource == "namespaces" and name:
        namespace = name
    if info.verb in ("list", "watch") and not name:
        try:
            name = single_name(parse_fields(info.query.get("fieldSelector"), supported=())) or ""
        except ApiError:
            name = ""
    return Attributes(user=user, verb=info.verb, api_group=info.group, resource=info.resource or "",
                      subresource=info.subresource, namespace=namespace, name=name)


class Access:
    """Authentication, impersonation and authorization of one sandbox."""

    def __init__(self, *, authenticator: Authenticator, authorizer: Authorizer) -> None:
        self.authenticator = authenticator
        self.authorizer = authorizer

    def user_of(self, info: RequestInfo, credentials: Credentials) -> UserInfo:
        """The user a request acts as, if it may do what it asks (else raises 401 or 403)."""
        user = self.authenticator.authenticate(credentials.authorization)
        if user is None:
            if credentials.authorization or info.is_resource or info.path not in ANONYMOUS_PATHS:
                raise unauthorized()
            user = ANONYMOUS
        if credentials.impersonate_user:
            user = self._impersonate(user, credentials)
        elif credentials.impersonate_groups or credentials.impersonate_uid:
            raise ApiError(500, "Internal error occurred: requested impersonation of groups or uid without a user")
        attributes = attributes_of(user, info)
        allowed, reason = self.authorizer.decide(attributes)
        if not allowed:
            raise forbidden(attributes, reason)
        return user

    def _allow(self, caller: UserInfo, *, resource: str, name: str, namespace: str = "", group: str = "") -> None:
        attributes = Attributes(user=caller, verb="impersonate", api_group=group, resource=resource, name=name,
                                namespace=namespace)
        allowed, reason = self.authorizer.decide(attributes)
        if not allowed:
            raise forbidden(attributes, reason)

    def _impersonate(self, caller: UserInfo, credentials: Credentials) -> UserInfo:
        name = credentials.impersonate_user or ""
        account = split_service_account(name)
        if account is not None:
            self._allow(caller, resource="serviceaccounts", name=account[1], namespace=account[0])
        else:
            self._allow(caller, resource="users", name=name)
        for group in credentials.impersonate_groups:
            self._allow(caller, resource="groups", name=group)
        if credentials.impersonate_uid:
            self._allow(caller, resource="uids", name=credentials.impersonate_uid, group="authentication.k8s.io")
        groups = list(credentials.impersonate_groups)
        if account is not None and not groups:
            groups = list(service_account_user(*account).groups)
        if AUTHENTICATED not in groups:
            groups.append(AUTHENTICATED)
        return UserInfo(name, tuple(groups), credentials.impersonate_uid or "")
