"""Authentication: who a request comes from, by its bearer token (and impersonation headers).

The apiserver's first filter. Three kinds of token are known:
- the admin token of the kubeconfig `write_kubeconfig` writes: user `kubernetes-admin` in
  `system:masters` (all allowed, as with kubeadm's admin.conf);
- static user tokens made with `add_user` (a user name and groups, like a `--token-auth-file` line);
- ServiceAccount tokens minted by `mint` (or `kubectl create token`, the TokenRequest API): JWTs signed
  by the sandbox, valid until they expire and only while the ServiceAccount with that uid exists, as
  bound tokens are. They authenticate as `system:serviceaccount:<ns>:<name>` in the groups
  `system:serviceaccounts`, `system:serviceaccounts:<ns>` and `system:authenticated`.
An unknown, expired or revoked token is refused with 401 (`access` decides about requests without
one). Tokens are signed with a key made per process: those minted before a restart stop working.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Callable

from .objects import Clock

AUTHENTICATED = "system:authenticated"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
ISSUER = "https://kubernetes.default.svc.cluster.local"
# `kubectl create token` asks for one hour unless told otherwise; the apiserver's default is the same.
DEFAULT_EXPIRATION = 3600


@dataclass(frozen=True)
class UserInfo:
    """An authenticated user as authorization sees it."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict, compare=False, hash=False)

    def as_status(self) -> dict:
        """The `userInfo` of a SelfSubjectReview / TokenReview."""
        info: dict = {"username": self.name, "groups": list(self.groups)}
        if self.uid:
            info["uid"] = self.uid
        if self.extra:
            info["extra"] = self.extra
        return info


ADMIN = UserInfo("kubernetes-admin", ("system:masters", AUTHENTICATED))


def service_account_user(namespace: str, name: str, uid: str = "") -> UserInfo:
    return UserInfo(f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}",
                    ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED), uid)


def split_service_account(username: str) -> tuple[str, str] | None:
    """(namespace, name) of a `system:serviceaccount:ns:name` user name, else None."""
    if not username.startswith(SERVICE_ACCOUNT_PREFIX):
        return None
    namespace, _, name = username[len(SERVICE_ACCOUNT_PREFIX):].partition(":")
    return (namespace, name) if namespace and name else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Authenticator:
    """Maps bearer tokens to users (see module docstring)."""

    def __init__(self, *, admin_token: str, clock: Clock,
                 service_account_uid: Callable[[str, str], str | None]) -> None:
        self._static: dict[str, UserInfo] = {admin_token: ADMIN}
        self._key = secrets.token_bytes(32)
        self._clock = clock
        self._service_account_uid = service_account_uid
        self._lock = threading.Lock()

    def add_user(self, name: str, groups: tuple[str, ...] | list[str] = ()) -> str:
        """A new token for a user `name` in `groups` (plus system:authenticated)."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._static[token] = UserInfo(name, tuple(groups) + (AUTHENTICATED,))
        return token

    def mint(self, *, namespace: str, name: str, uid: str, expiration_seconds: int = DEFAULT_EXPIRATION,
             audiences: list[str] | None = None) -> tuple[str, int]:
        """(token, expiry as epoch seconds) of a bound token for ServiceAccount namespace/name with `uid`."""
        now = int(self._clock().timestamp())
        expires = now + expiration_seconds
        claims = {"aud": audiences or [ISSUER], "exp": expires, "iat": now, "nbf": now, "iss": ISSUER,
                  "sub": f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}",
                  "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}}}
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64(hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest())
        return f"{head}.{body}.{signature}", expires

    def authenticate(self, authorization: str | None) -> UserInfo | None:
        """The user a `Authorization` header names, or None (401)."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        token = authorization[len("Bearer "):].strip()
        with self._lock:
            user = self._static.get(token)
        return user if user is not None else self._service_account(token)

    def _service_account(self, token: str) -> UserInfo | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = _b64(hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, parts[2]):
            return None
        try:
            claims = json.loads(_unb64(parts[1]))
            namespace = claims["kubernetes.io"]["namespace"]
            account = claims["kubernetes.io"]["serviceaccount"]
            expires = int(claims["exp"])
        except (ValueError, KeyError, TypeError):
            return None
        if expires <= self._clock().timestamp():
            return None
        if self._service_account_uid(namespace, account["name"]) != account.get("uid"):
            return None  # the ServiceAccount was deleted (or recreated): bound tokens die with it
        return service_account_user(namespace, account["name"], account.get("uid", ""))
