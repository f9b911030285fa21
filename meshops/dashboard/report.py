"""A rollout as one standalone HTML file, for a postmortem: the dashboard's rollout page, frozen.

The file needs nothing else: the chart is inline SVG, the stylesheet is inlined and allowed by its
hash in the file's own Content-Security-Policy, and there is no script at all (`default-src
'none'`), so opening it from a mail or a ticket is as safe as reading text.
"""
from __future__ import annotations

from markupsafe import Markup

from .pages import inline_style, render
from .rollouts import RolloutView


def report_html(view: RolloutView, *, now: float) -> str:
    """The report's HTML for one rollout view."""
    css, style_source = inline_style()
    return render("report.html.j2", rollout=view, now=now, css=Markup(css), style_source=Markup(style_source))
