"""Masking: credentials inside URLs never reach a message, a log line, an Event or an annotation.

One rule for every room: `mask_url` hides the `user:password@` of one URL (git remotes,
Prometheus URLs, webhook receivers); `mask_text` hides it in every URL inside a longer text (an
error line, a rollout reason, the JSON of the rollout annotation) — the last guard before anything
is printed or written. `MeshopsError.one_line` applies it to every error meshops prints.
"""
from __future__ import annotations

import re

MASK = "***"
# `scheme://userinfo@`: userinfo is everything up to the first `@` that comes before the end of the
# authority (`/`, `?`, `#`) or of the URL in a text (whitespace, quotes, brackets).
_USERINFO = re.compile(r"(?<=://)[^/?#@\s\"'<>]+@")


def mask_url(url: str) -> str:
    """`url` with any `user:password@` replaced by `***@`."""
    return _USERINFO.sub(MASK + "@", url)


def mask_text(text: str) -> str:
    """`text` with the userinfo of every URL in it masked (see `mask_url`)."""
    return _USERINFO.sub(MASK + "@", text) if "://" in text else text


def has_userinfo(url: str) -> bool:
    """Whether `url` carries `user[:password]@`."""
    return bool(_USERINFO.search(url))
