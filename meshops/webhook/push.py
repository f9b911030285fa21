"""What a verified delivery says: which event, which repository, branch and commit.

GitHub, Gitea and GitLab push payloads differ in names, not in meaning; this module reads them
into one `Push`. A branch deletion pushes the all-zero commit. Repository URLs are compared in a
normalized form (no scheme, credentials, `.git` or trailing slash; `git@host:path` as
`host/path`), so an https webhook matches an ssh clone URL of the same repository.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import parse_qs

# Event-type and delivery-id headers, per provider (Gitea also sends GitHub's, used as fallback).
EVENT_HEADERS = ("X-GitHub-Event", "X-Gitea-Event", "X-Gitlab-Event")
DELIVERY_HEADERS = ("X-GitHub-Delivery", "X-Gitea-Delivery", "X-Gitlab-Event-UUID", "Idempotency-Key")
PUSH_EVENTS = frozenset({"push", "Push Hook"})
PING_EVENTS = frozenset({"ping"})
ZERO_SHA = "0" * 40
# Payload fields that name the repository, for each provider's layout.
URL_FIELDS = (
    ("repository", "clone_url"), ("repository", "ssh_url"), ("repository", "git_url"), ("repository", "html_url"),
    ("repository", "url"), ("repository", "git_http_url"), ("repository", "git_ssh_url"),
    ("project", "git_http_url"), ("project", "git_ssh_url"), ("project", "web_url"),
)


class BadPayload(ValueError):
    """The body is not a JSON object (or a form with a JSON `payload`)."""


@dataclass(frozen=True)
class Push:
    """A push as meshops needs it."""

    event: str
    ref: str
    after: str
    repository_urls: tuple[str, ...]

    @property
    def branch(self) -> str | None:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else None

    @property
    def deleted(self) -> bool:
        return self.after == ZERO_SHA


def header(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = headers.get(name)
        if value:
            return value.strip()
    return None


def decode_body(body: bytes, content_type: str) -> dict[str, Any]:
    """The payload as a dict: JSON, or GitHub's form encoding (`payload=<json>`)."""
    try:
        if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            payload = json.loads(parse_qs(body.decode("utf-8"), strict_parsing=True)["payload"][0])
        else:
            payload = json.loads(body)
    except (ValueError, KeyError, UnicodeDecodeError):
        raise BadPayload("the body is not JSON (nor a form with a JSON payload field)") from None
    if not isinstance(payload, dict):
        raise BadPayload("the body is JSON but not an object")
    return payload


def read_push(event: str, payload: dict[str, Any]) -> Push:
    urls = []
    for section, field in URL_FIELDS:
        value = (payload.get(section) or {}).get(field) if isinstance(payload.get(section), dict) else None
        if isinstance(value, str) and value:
            urls.append(value)
    return Push(event=event, ref=str(payload.get("ref") or ""), after=str(payload.get("after") or ""),
                repository_urls=tuple(urls))


_SCP = re.compile(r"^(?:[\w.-]+@)?([\w.-]+):(?!//)(.+)$")


def normalize_url(url: str) -> str:
    """`https://tok@GitHub.com/acme/cfg.git/` and `git@github.com:acme/cfg` -> `github.com/acme/cfg`."""
    text = url.strip()
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme == "file":
            return str(Path(rest).resolve()).removesuffix(".git").rstrip("/")
        rest = rest.split("@", 1)[-1] if "@" in rest.split("/", 1)[0] else rest
        host, _, path = rest.partition("/")
        return f"{host.lower()}/{path}".rstrip("/").removesuffix(".git").rstrip("/")
    match = _SCP.match(text)
    if match and not text.startswith("/"):
        return f"{match.group(1).lower()}/{match.group(2)}".rstrip("/").removesuffix(".git")
    return str(Path(text).resolve()).rstrip("/").removesuffix(".git")


def same_repository(configured: str, push: Push) -> bool:
    """True when the push names the configured repository, or names no repository at all."""
    if not push.repository_urls:
        return True
    wanted = normalize_url(configured)
    return any(normalize_url(url) == wanted for url in push.repository_urls)
