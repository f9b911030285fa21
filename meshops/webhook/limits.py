"""What one client may cost the webhook endpoint: bytes, seconds and connections.

The endpoint faces the internet (GitHub must reach it), so anyone can connect, and a connection
that sends half a request, or a huge unsigned body, must not hold a thread or memory for long.
These limits are checked before anything in a request is trusted: the body limit against
`Content-Length` before a byte of the body is read; the header and body deadlines per request,
however slowly the bytes trickle in; the connection cap when a connection is accepted.
"""
from __future__ import annotations

from dataclasses import dataclass

# GitHub caps webhook payloads at 25 MB (and does not deliver larger ones); a push is KBs.
DEFAULT_MAX_BODY = 25 * 1024 * 1024
# Request line and headers arrive in one packet from a forge; 10 s is generous for a slow link.
DEFAULT_HEADER_TIMEOUT = 10.0
# 25 MiB at 1 MiB/s; GitHub itself gives up waiting for the answer after 10 s.
DEFAULT_BODY_TIMEOUT = 30.0
# Forges deliver one push at a time per hook; probes and scrapes add a few more.
DEFAULT_MAX_CONNECTIONS = 32
# Answers are small; a client that does not read its answer is dropped after this long.
WRITE_TIMEOUT = 10.0


@dataclass(frozen=True)
class WebhookLimits:
    """Bounds on one request and on all connections together (see module docstring)."""

    max_body: int = DEFAULT_MAX_BODY
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
