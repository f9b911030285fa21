"""Views to HTML: Jinja2 templates with every value escaped, and the dashboard's own static files.

Autoescape is on for every template, so a name, annotation or reason that holds markup is shown
as text. Every string is also passed through `model.masking.mask_text` on its way out, so a URL with credentials
in it (a Prometheus or git URL quoted in a reason) never shows them. Pages have one live region
(`block live`); a polling request gets only that block (`fragment=True`).
"""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from ..model.masking import mask_text
from ..reconcile.lease import parse_time

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
# The static files pages link to: name -> content type. Nothing else under static/ is served.
STATIC_FILES = {"dashboard.css": "text/css; charset=utf-8", "dashboard.js": "text/javascript; charset=utf-8"}
# Relative times: the largest unit that fits, as people say it.
UNITS = ((86400, "d"), (3600, "h"), (60, "m"), (1, "s"))


def _finalize(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, Markup):
        return mask_text(value)
    return "" if value is None else value


def _seconds(value: Any) -> float | None:
    if isinstance(value, (int, float)):
        return float(value)
    return parse_time(value) if isinstance(value, str) else None


def moment(value: Any) -> str:
    """`2026-01-02 13:04:05 UTC` for unix seconds or an RFC 3339 time; `—` when unknown."""
    seconds = _seconds(value)
    if seconds is None:
        return "—"
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(value: Any, now: float) -> str:
    """`3m ago` (or `in 5m`) relative to `now`; `—` when unknown."""
    seconds = _seconds(value)
    if seconds is None:
        return "—"
    delta = now - seconds
    size, unit = next(((size, unit) for size, unit in UNITS if abs(delta) >= size), (1, "s"))
    amount = int(abs(delta) // size)
    return f"{amount}{unit} ago" if delta >= 0 else f"in {amount}{unit}"


def url(*segments: str) -> str:
    """A dashboard path from segments, each percent-encoded (a `/` inside a name stays inside it)."""
    return "/" + "/".join(quote(str(segment), safe="") for segment in segments)


def short(revision: str | None) -> str:
    return (revision or "")[:12] or "—"


@lru_cache(maxsize=1)
def _jinja():
    import jinja2

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                                     undefined=jinja2.StrictUndefined, finalize=_finalize, trim_blocks=True,
                                     lstrip_blocks=True)
    environment.filters.update(moment=moment, ago=ago, short=short)
    environment.globals.update(url=url)
    return environment


def render(template: str, *, fragment: bool = False, **context: Any) -> str:
    """A whole page, or only its live block (what the page's polling swaps in)."""
    page = _jinja().get_template(template)
    if not fragment:
        return page.render(**context)
    return "".join(page.blocks["live"](page.new_context(context)))


def static_file(name: str) -> tuple[bytes, str] | None:
    """A static file's bytes and content type; None for any name not listed in STATIC_FILES."""
    content_type = STATIC_FILES.get(name)
    return ((STATIC / name).read_bytes(), content_type) if content_type else None


def inline_style() -> tuple[str, str]:
    """The stylesheet's text and its CSP source (`'sha256-…'`) for a page that must stand alone."""
    css = (STATIC / "dashboard.css").read_text()
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return css, f"'sha256-{digest}'"
