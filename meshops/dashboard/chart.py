"""A rollout over time as SVG geometry: stacked panels sharing one time axis, decisions as marks.

Pure: a `Timeline` (curves of (time, value) points, thresholds, decisions) in, a `Chart` out —
numbers and short texts that `templates/chart.svg.j2` draws (and escapes). Drawn on the server,
so the page needs no charting library and the standalone report no script at all. NaN points
(Prometheus's 0/0 when nothing was requested) are gaps, never zeros.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

# The drawing in SVG user units: about one unit per pixel in the page's content column at 1280 px,
# so its 11 px labels stay 11 px; narrower windows scale it down.
WIDTH = 1180
LEFT = 56  # room for the y labels
RIGHT = 16
TOP = 40  # room for the decision labels (two rows)
PANEL_HEIGHT = 84
PANEL_GAP = 30  # between panels: the next panel's title
BOTTOM = 26  # the time labels
# Time ticks: the first step that gives at most MAX_TICKS ticks over the span (seconds).
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
MAX_TICKS = 7
# Decision labels closer than this (user units) to the previous one go to the other row.
LABEL_SPACING = 78
# Labels this close (user units) to the right edge end at their mark instead of starting there.
LABEL_ROOM = 90
# Y tick steps are one of these times a power of ten, the smallest giving at most MAX_Y_TICKS intervals.
NICE_STEPS = (1.0, 2.0, 2.5, 5.0)
MAX_Y_TICKS = 4


@dataclass(frozen=True)
class Curve:
    """One line of a panel: `role` names it (canary, stable) and picks its colour."""

    role: str
    points: tuple[tuple[float, float], ...]
    steps: bool = False  # a value holds until the next point (weights), instead of a straight line


@dataclass(frozen=True)
class PanelData:
    title: str
    unit: str
    curves: tuple[Curve, ...]
    threshold: float | None = None
    threshold_label: str = ""
    fixed: tuple[float, float] | None = None  # the y range, when it is known in advance (percent weights)
    note: str = ""  # why a panel has no data


@dataclass(frozen=True)
class Mark:
    """A decision at a moment: `kind` picks its colour, `label` is shown, `title` on hover."""

    at: float
    kind: str
    label: str
    title: str


@dataclass(frozen=True)
class Timeline:
    start: float
    end: float
    panels: tuple[PanelData, ...]
    marks: tuple[Mark, ...]


@dataclass(frozen=True)
class Line:
    role: str
    d: str  # SVG path data
    label: str


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str
    top: float
    bottom: float
    y_ticks: tuple[tuple[float, str], ...]
    lines: tuple[Line, ...]
    threshold: tuple[float, str] | None
    note: str


@dataclass(frozen=True)
class MarkLine:
    x: float
    kind: str
    label: str
    title: str
    row: int  # 0 or 1: which label row
    anchor: str = "start"  # "end" near the right edge, so the label stays inside the drawing


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int  # x of the plot's right edge
    top: int
    panels: tuple[Panel, ...]
    x_ticks: tuple[tuple[float, str], ...]
    marks: tuple[MarkLine, ...]
    span: str  # the covered time, as text


def _number(value: float) -> str:
    return f"{value:.4g}"


def _clock(seconds: float, step: float) -> str:
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%H:%M:%S" if step < 60 else "%H:%M")


def _time_ticks(start: float, end: float, scale) -> tuple[tuple[float, str], ...]:
    span = max(end - start, 1e-9)
    step = next((s for s in TICK_STEPS if span / s <= MAX_TICKS), TICK_STEPS[-1])
    first = math.ceil(start / step) * step
    ticks = []
    moment = first
    while moment <= end:
        ticks.append((scale(moment), _clock(moment, step)))
        moment += step
    return tuple(ticks)


def _nice_step(span: float) -> float:
    """The smallest step of NICE_STEPS × 10^k that cuts `span` into at most MAX_Y_TICKS intervals."""
    magnitude = 10 ** math.floor(math.log10(span / MAX_Y_TICKS)) if span > 0 else 1.0
    for factor in (*NICE_STEPS, 10.0):
        if span / (factor * magnitude) <= MAX_Y_TICKS:
            return factor * magnitude
    return 10 * magnitude


def _y_range(panel: PanelData) -> tuple[float, float, float]:
    """The y axis: (low, high, tick step), low and high on tick multiples."""
    if panel.fixed:
        low, high = panel.fixed
        return low, high, _nice_step(high - low)
    values = [v for curve in panel.curves for _, v in curve.points if math.isfinite(v)]
    if panel.threshold is not None:
        values.append(panel.threshold)
    if not values:
        return 0.0, 1.0, 0.25
    low, high = min(values), max(values)
    if panel.unit == "%":  # percentages: up to 100, down far enough to show the threshold and every dip
        high = 100.0
        low = max(0.0, low - max((high - low) * 0.1, 1.0))
    else:
        pad = max((high - low) * 0.1, abs(high) * 0.05, 1.0)
        low, high = (max(0.0, low - pad) if low >= 0 else low - pad), high + pad
    step = _nice_step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _path(points: list[tuple[float, float]], *, steps: bool) -> str:
    """SVG path data; a NaN point breaks the line."""
    parts: list[str] = []
    pen_down = False
    for x, y in points:
        if not math.isfinite(y):
            pen_down = False
            continue
        if not pen_down:
            parts.append(f"M{x:.1f},{y:.1f}")
            pen_down = True
        elif steps:
            parts.append(f"H{x:.1f}V{y:.1f}")
        else:
            parts.append(f"L{x:.1f},{y:.1f}")
    return "".join(parts)


def layout(timeline: Timeline) -> Chart:
    """The chart's geometry for `timeline` (see module docstring)."""
    start, end = timeline.start, max(timeline.end, timeline.start + 1)
    plot_right = WIDTH - RIGHT

    def x_of(moment: float) -> float:
        return LEFT + (moment - start) / (end - start) * (plot_right - LEFT)

    panels = []
    top = float(TOP)
    for data in timeline.panels:
        bottom = top + PANEL_HEIGHT
        low, high, step = _y_range(data)
        span = (high - low) or 1.0

        def y_of(value: float, top=top, bottom=bottom, low=low, span=span) -> float:
            return bottom - (value - low) / span * (bottom - top)

        ticks = tuple((y_of(low + step * i), _number(low + step * i)) for i in range(round(span / step) + 1))
        lines = []
        for curve in data.curves:
            points = [(x_of(t), y_of(v) if math.isfinite(v) else math.nan) for t, v in curve.points if start <= t <= end]
            if curve.steps and points and math.isfinite(points[-1][1]):
                points.append((plot_right, points[-1][1]))  # the last weight holds until now
            if points:
                lines.append(Line(role=curve.role, d=_path(points, steps=curve.steps), label=curve.role))
        threshold = None
        if data.threshold is not None and low <= data.threshold <= high:
            threshold = (y_of(data.threshold), data.threshold_label)
        panels.append(Panel(title=data.title, unit=data.unit, top=top, bottom=bottom, y_ticks=ticks, lines=tuple(lines),
                            threshold=threshold, note=data.note))
        top = bottom + PANEL_GAP
    marks = []
    last_x_in_row = [-math.inf, -math.inf]
    for mark in sorted(timeline.marks, key=lambda m: m.at):
        if not start <= mark.at <= end:
            continue
        x = x_of(mark.at)
        row = 0 if x - last_x_in_row[0] >= LABEL_SPACING else 1
        last_x_in_row[row] = x
        anchor = "end" if plot_right - x < LABEL_ROOM else "start"
        marks.append(MarkLine(x=x, kind=mark.kind, label=mark.label, title=mark.title, row=row, anchor=anchor))
    height = int(top - PANEL_GAP + BOTTOM)
    return Chart(width=WIDTH, height=height, left=LEFT, right=plot_right, top=TOP, panels=tuple(panels),
                 x_ticks=_time_ticks(start, end, x_of), marks=tuple(marks), span=_span_text(end - start))


def _span_text(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
