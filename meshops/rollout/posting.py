"""One HTTP POST of JSON with a deadline: what webhook checks and notifications send.

Both send a small JSON body to a URL and need to know one thing back: did a 2xx come within the
timeout, and if not, why (status and the start of the body, or the network error). Nothing here
raises for the network or the receiver; the URL in a reason is shown masked, or not at all when
it is itself a secret (a Slack or Teams webhook URL names its channel and its key).
"""
from __future__ import annotations

import http.client
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Mapping

from ..model.masking import mask_text

# How much of a receiver's answer a reason quotes: enough for a test report's first line.
BODY_EXCERPT = 200
# Bytes of an answer read at most (a load tester that streams its log must not fill memory).
MAX_READ = 64 * 1024
USER_AGENT = "meshops-rollout"


@dataclass(frozen=True)
class Posted:
    """How one POST ended: an HTTP status with the start of the body, or the error that stopped it."""

    status: int | None  # None: no HTTP answer (refused, timed out, TLS …)
    body: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        """`answered HTTP 503: <body>` or `did not answer: <why>`, for reasons and logs."""
        if self.status is None:
            return f"did not answer: {self.error}"
        return f"answered HTTP {self.status}" + (f": {self.body}" if self.body else "")


def _excerpt(raw: bytes) -> str:
    text = " ".join(raw.decode("utf-8", "replace").split())
    return mask_text(text[:BODY_EXCERPT] + ("…" if len(text) > BODY_EXCERPT else ""))


def post_json(url: str, body: bytes, *, timeout: float, headers: Mapping[str, str] | None = None) -> Posted:
    """POST `body` (JSON) to `url`; never raises for what the network or the receiver does."""
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Posted(response.status, _excerpt(response.read(MAX_READ)))
    except urllib.error.HTTPError as error:
        raw = error.read(MAX_READ) if error.fp else b""
        return Posted(error.code, _excerpt(raw))
    except (TimeoutError, socket.timeout):
        return Posted(None, error=f"no answer within {timeout:g}s")
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return Posted(None, error=f"no connection within {timeout:g}s")
        text = getattr(reason, "strerror", None) or str(reason)
        return Posted(None, error=mask_text(text[:1].lower() + text[1:] if text else "network error"))
    except (http.client.HTTPException, OSError, ValueError) as error:
        return Posted(None, error=f"{type(error).__name__}")
