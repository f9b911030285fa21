"""Who may look: an optional bearer token, separate from the webhook secret.

Without a token the dashboard is open to whoever reaches the port (bind it to localhost, or put
it behind something that authenticates). With one, every request must carry it, either as
`Authorization: Bearer <token>` (curl, a proxy, a script) or as the password of HTTP Basic auth,
which every browser asks for by itself on a 401 (any user name). Both are compared in constant
time, as digests, so neither the token nor its length leaks through timing.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Mapping

REALM = "meshops dashboard"
CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8"'


def _digest(secret: bytes) -> bytes:
    return hashlib.sha256(secret).digest()


def presented(authorization: str) -> bytes | None:
    """The token an Authorization header carries (Bearer, or Basic's password); None for anything else."""
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip().encode()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True)
        except (binascii.Error, ValueError):
            return None
        return decoded.partition(b":")[2]
    return None


class TokenGate:
    """Lets a request through when no token is set, or when it carries the token."""

    def __init__(self, token: bytes | None) -> None:
        self._digest = _digest(token) if token else None

    @property
    def enabled(self) -> bool:
        return self._digest is not None

    def allows(self, headers: Mapping[str, str]) -> bool:
        if self._digest is None:
            return True
        token = presented(headers.get("Authorization") or "")
        return token is not None and hmac.compare_digest(_digest(token), self._digest)
