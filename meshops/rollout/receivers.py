"""Notification receivers: who hears about rollout decisions, and what each kind of receiver is sent.

An environment's `notifications:` (meshops.yaml) lists receivers — a Slack incoming webhook, a
Microsoft Teams workflow webhook, or a generic JSON webhook signed with HMAC-SHA256 — each
optionally limited to some services and some events (decision reasons). Webhook URLs of Slack and
Teams are themselves secrets (they carry the channel's key), and so is an HMAC key: the repo names
them only as keys of the operator's secrets directory (`urlSecret`, `hmacSecret`; see
`model.secrets.SecretsDir`), never inline. A generic webhook's URL may be inline.

`Notification.of(...)` turns one history entry of a rollout into the event every receiver kind
formats: `body()` gives the bytes and headers to POST. The generic JSON payload is documented in
the README ("Notifications").
"""
from __future__ import annotations

import hashlib
import hmac
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any, Mapping

from ..model.durations import parse_duration
from ..model.errors import ConfigError
from ..model.masking import has_userinfo, mask_url
from ..model.secrets import SecretError, SecretsDir
from ..source.envconfig import EnvConfig
from .routes import describe_weights
from .state import Reason, RolloutState, format_time

SECTION = "notifications"
RECEIVER_TYPES = ("slack", "teams", "webhook")
# Every decision reason a receiver may subscribe to (the Kubernetes Event reasons).
EVENTS = tuple(value for name, value in vars(Reason).items() if name.isupper())
# Decisions a person must look at: `severity: warning` in the payload, red in Slack and Teams.
WARNING_EVENTS = frozenset({Reason.CHECK_FAILED, Reason.ROLLED_BACK, Reason.ABORTED, Reason.ANALYSIS_INCONCLUSIVE,
                            Reason.CANARY_NOT_READY, Reason.DEADLINE_EXCEEDED})
# A receiver that has not answered within this many seconds is treated as down for this attempt.
DEFAULT_TIMEOUT = 5.0
SIGNATURE_HEADER = "X-Meshops-Signature-256"
EVENT_HEADER = "X-Meshops-Event"
DELIVERY_HEADER = "X-Meshops-Delivery"
_ICONS = {Reason.PROMOTED: ":white_check_mark:", Reason.ROLLED_BACK: ":rotating_light:", Reason.ABORTED: ":no_entry:",
          Reason.STARTED: ":rocket:", Reason.AWAITING_APPROVAL: ":raised_hand:"}


@dataclass(frozen=True)
class Receiver:
    """One configured receiver (see the module docstring)."""

    name: str
    type: str
    url: str | None = None  # inline (generic webhooks only)
    url_secret: str | None = None  # key in the secrets directory whose file holds the URL
    hmac_secret: str | None = None
    services: frozenset[str] | None = None  # None: every service
    events: frozenset[str] | None = None  # None: every decision
    timeout: float = DEFAULT_TIMEOUT

    def wants(self, service: str, event: str) -> bool:
        return (self.services is None or service in self.services) and (self.events is None or event in self.events)

    def resolve(self, secrets: SecretsDir) -> ResolvedReceiver:
        """The receiver with its secrets read (SecretError, never the value, when one is unusable)."""
        what = f"notification receiver {self.name!r}"
        url = secrets.read(self.url_secret, what=what) if self.url_secret else self.url or ""
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            shown = f"the URL in secret {self.url_secret!r}" if self.url_secret else f"url {mask_url(url)!r}"
            raise SecretError(f"{what}: {shown} is not an http(s) URL", hint="put the webhook URL there, https://…")
        key = secrets.read(self.hmac_secret, what=what).encode() if self.hmac_secret else None
        return ResolvedReceiver(receiver=self, url=url, key=key)


@dataclass(frozen=True)
class ResolvedReceiver:
    receiver: Receiver
    url: str
    key: bytes | None

    @property
    def shown(self) -> str:
        """How logs name it: its name and type (the URL may be a secret)."""
        return f"{self.receiver.name} ({self.receiver.type})"


def _receiver(config: EnvConfig, entry: dict, index: int, seen: set[str]) -> Receiver:
    where = (SECTION, index)

    def error(message: str, *path: str | int, hint: str) -> ConfigError:
        return ConfigError(f"notifications[{index}] {entry['name']!r}: {message}", location=config.location(*where, *path),
                           hint=hint)

    if entry["name"] in seen:
        raise error("the name is used twice", "name", hint="give every receiver its own name")
    seen.add(entry["name"])
    kind, url = entry["type"], entry.get("url")
    if url is not None and kind != "webhook":
        raise error(f"a {kind} webhook URL is a secret (it carries the channel's key) and never belongs in the repo",
                    "url", hint="put it in a file of the operator's --secrets-dir and name the file with urlSecret")
    if url is None and not entry.get("urlSecret"):
        raise error("says nowhere to send", hint="add urlSecret: <key in the operator's --secrets-dir>"
                    + (" or url:" if kind == "webhook" else ""))
    if url is not None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise error(f"url {mask_url(url)!r} is not an http(s) URL", "url", hint="write it as https://host/path")
        if has_userinfo(url):
            raise error(f"url {mask_url(url)!r} carries credentials", "url", hint="sign with hmacSecret instead")
    if kind == "webhook" and not entry.get("hmacSecret"):
        raise error("a generic webhook is signed: hmacSecret is required", hint="add hmacSecret: <key in --secrets-dir>")
    unknown = [event for event in entry.get("events") or () if event not in EVENTS]
    if unknown:
        raise error(f"unknown event {unknown[0]!r}", "events", hint="events are decision reasons: " + ", ".join(EVENTS))
    timeout = parse_duration(entry["timeout"]) if entry.get("timeout") else DEFAULT_TIMEOUT
    if timeout <= 0:
        raise error("timeout must be longer than 0", "timeout", hint="e.g. 5s")
    services, events = entry.get("services"), entry.get("events")
    return Receiver(name=entry["name"], type=kind, url=url, url_secret=entry.get("urlSecret"),
                    hmac_secret=entry.get("hmacSecret"), timeout=timeout,
                    services=frozenset(services) if services is not None else None,
                    events=frozenset(events) if events is not None else None)


def receivers(config: EnvConfig) -> tuple[Receiver, ...]:
    """The environment's receivers from meshops.yaml (ConfigError at the line to edit)."""
    seen: set[str] = set()
    return tuple(_receiver(config, entry, index, seen) for index, entry in enumerate(config.section(SECTION) or []))


@dataclass(frozen=True)
class Notification:
    """One decision of one rollout, as every receiver kind is told about it."""

    id: str  # stable for the decision: receivers de-duplicate a repeat after a restart with it
    event: str
    environment: str
    namespace: str
    service: str
    phase: str
    stable: str
    canary: str
    step: int
    steps: int
    weights: Mapping[str, int]
    message: str
    at: str
    revision: str | None

    @classmethod
    def of(cls, entry: Mapping[str, Any], *, state: RolloutState, environment: str, namespace: str) -> Notification:
        return cls(
            id=f"{environment}/{namespace}/{state.service}/{_start_key(state)}/{entry.get('seq')}",
            event=str(entry.get("reason")), environment=environment, namespace=namespace, service=state.service,
            phase=str(entry.get("phase") or state.phase), stable=state.stable, canary=state.canary,
            step=int(entry.get("step") or 0), steps=len(state.weights), weights=dict(entry.get("current") or {}),
            message=str(entry.get("message") or ""), at=str(entry.get("at") or ""), revision=state.revision,
        )

    @property
    def severity(self) -> str:
        return "warning" if self.event in WARNING_EVENTS else "info"

    def payload(self) -> dict[str, Any]:
        """The generic webhook's JSON (README, "Notifications")."""
        return {"id": self.id, "event": self.event, "severity": self.severity, "environment": self.environment,
                "namespace": self.namespace, "service": self.service, "phase": self.phase, "stable": self.stable,
                "canary": self.canary, "step": self.step, "steps": self.steps, "weights": dict(self.weights),
                "message": self.message, "at": self.at, "revision": self.revision}

    def headline(self) -> str:
        return f"{self.service} in {self.environment}: {self.event}"

    def facts(self) -> str:
        return f"step {self.step}/{self.steps}, {describe_weights(self.weights)} ({self.stable} -> {self.canary})"


def _start_key(state: RolloutState) -> str:
    return format_time(state.started_at) or "unknown"


def _slack(notification: Notification) -> dict[str, Any]:
    icon = _ICONS.get(notification.event, ":warning:" if notification.severity == "warning" else ":information_source:")
    return {"text": f"{icon} *{notification.headline()}* — {notification.facts()}\n> {notification.message}"}


def _teams(notification: Notification) -> dict[str, Any]:
    color = {"warning": "Attention"}.get(notification.severity, "Good" if notification.event == Reason.PROMOTED else "Default")
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": notification.headline(), "weight": "Bolder", "size": "Medium", "color": color},
            {"type": "TextBlock", "text": notification.message, "wrap": True},
            {"type": "FactSet", "facts": [{"title": "Step", "value": f"{notification.step}/{notification.steps}"},
                                          {"title": "Weights", "value": describe_weights(notification.weights)},
                                          {"title": "Versions", "value": f"{notification.stable} -> {notification.canary}"}]},
        ],
    }
    return {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}]}


def body(receiver: ResolvedReceiver, notification: Notification) -> tuple[bytes, dict[str, str]]:
    """What to POST to `receiver` about `notification`: the body and the extra headers."""
    kind = receiver.receiver.type
    document = _slack(notification) if kind == "slack" else _teams(notification) if kind == "teams" else notification.payload()
    raw = json.dumps(document, sort_keys=True, ensure_ascii=False).encode()
    headers = {EVENT_HEADER: notification.event, DELIVERY_HEADER: notification.id}
    if receiver.key is not None:
        headers[SIGNATURE_HEADER] = "sha256=" + hmac.new(receiver.key, raw, hashlib.sha256).hexdigest()
    return raw, headers
