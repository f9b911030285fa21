"""Freeze windows: times when an environment must not change, declared in its `meshops.yaml`.

    freeze:
      - {from: "2025-12-20", to: "2026-01-02", reason: "year-end change freeze"}
      - {cron: "0 16 * * fri", duration: 64h, reason: "no deploys over the weekend"}

A date range runs from `from` (a date means its midnight UTC, or a full ISO 8601 time with
offset) to `to` (a date means the end of that day); either end may be left open. A recurring
window opens at every minute its cron expression matches (UTC) and stays open for `duration`.
Apply and rollouts refuse to start inside a window unless the person overrides it with a reason
(`--override-freeze "reason"`), which is then recorded. Checked before any write.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from ..source.envconfig import EnvConfig
from ..model.durations import parse_duration
from ..model.errors import ConfigError, MeshopsError
from .cron import Cron, CronError

# A recurring window longer than this is a mistake (and would make the search walk months back).
MAX_RECURRING = timedelta(days=31)


class Frozen(MeshopsError):
    """A freeze window is open: nothing is applied and no rollout starts."""


def _moment(text: str, *, end_of_day: bool) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)
    return start + timedelta(days=1) if end_of_day else start


@dataclass(frozen=True)
class Window:
    """One open freeze window: why, and until when (None: until someone edits meshops.yaml)."""

    reason: str
    until: datetime | None
    source: str  # where it is declared, for messages: "environments/prod/meshops.yaml:12"

    def describe(self) -> str:
        until = f" until {self.until.strftime('%Y-%m-%d %H:%M UTC')}" if self.until else ""
        return f"freeze window ({self.reason}){until}, declared at {self.source}"


def _open_window(entry: dict[str, Any], now: datetime, *, config: EnvConfig, index: int) -> Window | None:
    location = config.location("freeze", index)
    reason = str(entry.get("reason", ""))
    try:
        if "cron" in entry:
            if "duration" not in entry:
                raise ConfigError("a cron freeze window needs a duration", location=location, hint='add e.g. duration: 64h')
            length = timedelta(seconds=parse_duration(str(entry["duration"])))
            if not timedelta(0) < length <= MAX_RECURRING:
                raise ConfigError(f"freeze duration must be between 1s and {MAX_RECURRING.days} days", location=location,
                                  hint="use a from/to date range for longer freezes")
            start = Cron.parse(str(entry["cron"])).latest_at_or_before(now, not_before=now - length + timedelta(microseconds=1))
            return Window(reason, start + length, str(location)) if start else None
        if "from" not in entry and "to" not in entry:
            raise ConfigError("a freeze window needs from/to or cron + duration", location=location,
                              hint='e.g. {from: "2025-12-20", to: "2026-01-02", reason: ...}')
        begins = _moment(str(entry["from"]), end_of_day=False) if "from" in entry else None
        ends = _moment(str(entry["to"]), end_of_day=True) if "to" in entry else None
    except CronError as error:
        raise ConfigError(f"freeze cron: {error}", location=location, hint="five fields: minute hour day month weekday (UTC)") from None
    except ValueError as error:
        raise ConfigError(f"freeze from/to: {error}", location=location, hint='use "YYYY-MM-DD" or an ISO 8601 time') from None
    if (begins is None or begins <= now) and (ends is None or now < ends):
        return Window(reason, ends, str(location))
    return None


def open_windows(config: EnvConfig, now: datetime) -> list[Window]:
    """Every freeze window of the environment that is open at `now` (also checks them all)."""
    windows = []
    for index, entry in enumerate(config.section("freeze") or []):
        window = _open_window(entry, now, config=config, index=index)
        if window:
            windows.append(window)
    return windows


def check_freeze(config: EnvConfig, now: datetime, *, override: str | None) -> Window | None:
    """Raise `Frozen` inside a window; with an override reason, return the window overridden."""
    windows = open_windows(config, now)
    if not windows:
        return None
    window = windows[0]
    if override and override.strip():
        return window
    raise Frozen(f"environment {config.name} is frozen: {window.describe()}",
                 hint='wait, or pass --override-freeze "why this cannot wait"')
