"""Is this delivery from someone who knows the webhook secret? One row per provider style.

GitHub signs the raw body with HMAC-SHA256 (`X-Hub-Signature-256: sha256=<hex>`), Gitea does the
same without the prefix (`X-Gitea-Signature`), GitLab sends the secret itself (`X-Gitlab-Token`).
Every comparison is constant-time (`hmac.compare_digest`), and the secret is required: there is
no unsigned mode (Argo CD's optional webhook secret is a common foot-gun). The legacy SHA-1
`X-Hub-Signature` is not accepted. The HMAC is computed while the body is read (`body.py`), so
checking it never needs the whole body in memory; `signed` tells, from the headers alone, whether
a delivery is worth reading at all.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Callable, Mapping

from .body import ReceivedBody


def _expected(body: ReceivedBody) -> bytes:
    return (body.hmac_sha256 or "").encode()


def _github(value: str, body: ReceivedBody, secret: bytes) -> bool:
    scheme, _, digest = value.strip().partition("=")
    return scheme == "sha256" and hmac.compare_digest(digest.lower().encode(), _expected(body))


def _gitea(value: str, body: ReceivedBody, secret: bytes) -> bool:
    return hmac.compare_digest(value.strip().lower().encode(), _expected(body))


def _gitlab(value: str, body: ReceivedBody, secret: bytes) -> bool:
    return hmac.compare_digest(value.encode(), secret)


@dataclass(frozen=True)
class Scheme:
    """A provider's way of proving a delivery: the header it sends and how to check it."""

    provider: str
    header: str
    check: Callable[[str, ReceivedBody, bytes], bool]


# Checked in this order; Gitea also sends GitHub's header, so it is verified as GitHub-style.
SCHEMES: tuple[Scheme, ...] = (
    Scheme("github", "X-Hub-Signature-256", _github),
    Scheme("gitea", "X-Gitea-Signature", _gitea),
    Scheme("gitlab", "X-Gitlab-Token", _gitlab),
)
ACCEPTED_HEADERS = ", ".join(scheme.header for scheme in SCHEMES)


@dataclass(frozen=True)
class Verdict:
    """The provider style a delivery used, and whether its proof holds (`problem` says why not)."""

    provider: str | None
    ok: bool
    problem: str = ""


def signed(headers: Mapping[str, str]) -> Verdict | None:
    """None when the headers carry a signature to check; else the refusal (decided before reading the body)."""
    if any(headers.get(scheme.header) is not None for scheme in SCHEMES):
        return None
    legacy = " (SHA-1 X-Hub-Signature is not accepted)" if headers.get("X-Hub-Signature") is not None else ""
    return Verdict(None, False, f"no signature: expected one of {ACCEPTED_HEADERS}{legacy}")


def verify(headers: Mapping[str, str], body: ReceivedBody, secret: bytes) -> Verdict:
    """Check the first signature header present; a delivery without any is refused."""
    for scheme in SCHEMES:
        value = headers.get(scheme.header)
        if value is None:
            continue
        if scheme.check(value, body, secret):
            return Verdict(scheme.provider, True)
        return Verdict(scheme.provider, False, f"{scheme.header} does not match the body and the webhook secret")
    return signed(headers) or Verdict(None, False, "no signature")
