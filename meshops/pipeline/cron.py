"""Five-field cron expressions (minute hour day-of-month month day-of-week), for freeze windows.

Only what a freeze window needs: does a minute match, and which is the latest matching minute at
or before a moment. Fields accept `*`, numbers, `a-b` ranges, `/step`, comma lists and the
English three-letter names of months and weekdays; day-of-week 0 and 7 are Sunday. As in Vixie
cron, when both day fields are restricted a day matches if either does. Times are UTC.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# (name, lowest, highest, names for values): one row per field, in cron's order.
FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    ("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)


class CronError(ValueError):
    """A cron expression that cannot be read; the message says which field and why."""


def _value(text: str, field: tuple[str, int, int, tuple[str, ...]]) -> int:
    name, low, high, names = field
    lowered = text.lower()
    if lowered in names:
        return names.index(lowered) + (1 if name == "month" else 0)
    if not text.isdigit():
        raise CronError(f"{name}: {text!r} is not a number" + (f" or one of {', '.join(names)}" if names else ""))
    number = int(text)
    if not low <= number <= high:
        raise CronError(f"{name}: {number} is outside {low}-{high}")
    return number


def _parse_field(text: str, field: tuple[str, int, int, tuple[str, ...]]) -> frozenset[int]:
    name, low, high, _ = field
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{name}: step {step_text!r} must be a positive number")
            step = int(step_text)
        if body == "*":
            start, end = low, high
        elif "-" in body:
            first, _, last = body.partition("-")
            start, end = _value(first, field), _value(last, field)
            if start > end:
                raise CronError(f"{name}: range {body!r} runs backwards")
        else:
            start = _value(body, field)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """A parsed expression; `restricted_days` records which day fields were not `*`."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    restricted_dom: bool
    restricted_dow: bool

    @classmethod
    def parse(cls, expression: str) -> "Cron":
        parts = expression.split()
        if len(parts) != len(FIELDS):
            raise CronError(f"expected 5 fields (minute hour day-of-month month day-of-week), found {len(parts)}")
        minutes, hours, days, months, weekdays = (_parse_field(text, field) for text, field in zip(parts, FIELDS))
        weekdays = frozenset(0 if day == 7 else day for day in weekdays)
        return cls(minutes, hours, days, months, weekdays, parts[2] != "*", parts[4] != "*")

    def day_matches(self, moment: datetime) -> bool:
        if moment.month not in self.months:
            return False
        dom = moment.day in self.days
        dow = (moment.isoweekday() % 7) in self.weekdays
        if self.restricted_dom and self.restricted_dow:
            return dom or dow
        return dom and dow

    def latest_at_or_before(self, moment: datetime, *, not_before: datetime) -> datetime | None:
        """The latest matching minute in [not_before, moment], or None."""
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        while day + timedelta(days=1) > not_before:
            if self.day_matches(day):
                for hour in sorted(self.hours, reverse=True):
                    for minute in sorted(self.minutes, reverse=True):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate <= moment and candidate >= not_before:
                            return candidate
            day -= timedelta(days=1)
        return None
