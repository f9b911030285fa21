"""How findings are shown: text for people, JSON for machines, annotations for GitHub Actions.

The CLI picks the format and prints the string these functions return. Every format carries the
same findings; suppressed ones are kept (dimmed in text, `suppressed` in JSON, notices on GitHub)
because hiding them would hide that someone decided to live with a problem.
"""
from __future__ import annotations

import io
import json
import os
from collections import Counter
from typing import Iterable

from ..model.errors import Location
from .findings import Finding, Severity

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
# GitHub workflow commands per severity (`notice` is the mildest annotation).
_GITHUB_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
NO_FILE = "(no file)"


def _path(location: Location, base: str | None) -> str:
    """A location's file as the reader should open it (repo-relative files joined to `base`)."""
    if base and base not in (".", "") and not os.path.isabs(location.file):
        return os.path.normpath(os.path.join(base, location.file))
    return location.file


def summary(findings: Iterable[Finding]) -> dict[str, int]:
    """Counts of active findings per severity, and of suppressed ones."""
    findings = list(findings)
    counts = Counter(f.severity.value for f in findings if not f.suppressed_by)
    return {
        "error": counts["error"],
        "warning": counts["warning"],
        "info": counts["info"],
        "suppressed": sum(1 for f in findings if f.suppressed_by),
    }


def summary_line(findings: list[Finding]) -> str:
    counts = summary(findings)
    if not findings:
        return "no findings"
    parts = [
        f"{counts['error']} error{'s' if counts['error'] != 1 else ''}",
        f"{counts['warning']} warning{'s' if counts['warning'] != 1 else ''}",
        f"{counts['info']} info",
    ]
    line = ", ".join(parts)
    return line + (f" ({counts['suppressed']} suppressed)" if counts["suppressed"] else "")


# A printed line: (text, style) segments; the style is a rich style name, used only on a terminal.
Line = list[tuple[str, str]]
# What rich drops from printed text (bell, backspace, vertical tab, form feed, carriage return), so
# plain output is byte for byte what the coloured path prints without colour.
_CONTROL_CODES = dict.fromkeys((7, 8, 11, 12, 13))
# rich expands tabs to this width; plain output does the same.
_TAB_SIZE = 8


def _text_lines(findings: list[Finding], base: str | None) -> list[Line]:
    """Findings grouped by the file to edit, each with line, severity, code, object, path and message."""
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        file = _path(finding.location, base) if finding.location else NO_FILE
        groups.setdefault(file, []).append(finding)
    lines: list[Line] = []
    for file, group in groups.items():
        lines.append([(file, "bold")])
        for finding in group:
            line = finding.location.line if finding.location and finding.location.line else ""
            dim = bool(finding.suppressed_by)
            lines.append([
                (f"  {str(line):>5}  ", ""),
                (f"{finding.severity.value:<7}", "dim" if dim else _STYLE[finding.severity]),
                (f"  {finding.code}  ", "dim" if dim else "bold"),
                (f"{finding.object or ''} {finding.json_path}".strip(), "dim" if dim else ""),
            ])
            lines.append([(f"{'':9}{finding.message}", "dim" if dim else "")])
            if finding.suppressed_by:
                lines.append([(f"{'':9}suppressed: {finding.suppressed_by}", "dim italic")])
            for other in finding.locations[1:]:
                lines.append([(f"{'':9}also: {_path(other, base)}:{other.line or ''}".rstrip(":"), "dim")])
        lines.append([])
    lines.append([(summary_line(findings), "bold")])
    return lines


def format_text(findings: list[Finding], *, color: bool = False, base: str | None = None) -> str:
    """Findings as text: plain strings joined once, or through rich with colours for a terminal."""
    lines = _text_lines(findings, base)
    if color:
        return _coloured(lines)
    text = "\n".join("".join(segment for segment, _ in line) for line in lines) + "\n"
    if "\t" in text:
        text = "\n".join(part.expandtabs(_TAB_SIZE) for part in text.split("\n"))
    return text.translate(_CONTROL_CODES)


def _coloured(lines: list[Line]) -> str:
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="standard", width=10_000, highlight=False,
                      soft_wrap=True)
    for line in lines:
        text = Text()
        for segment, style in line:
            text.append(segment, style=style or None)
        console.print(text)
    return buffer.getvalue()


def format_json(findings: list[Finding], *, base: str | None = None) -> str:
    """`{"findings": [...], "summary": {...}}`, locations joined to `base` like the other formats."""
    rows = []
    for finding in findings:
        row = finding.to_dict()
        row["locations"] = [{"file": _path(loc, base), "line": loc.line} for loc in finding.locations]
        rows.append(row)
    return json.dumps({"findings": rows, "summary": summary(findings)}, indent=2, sort_keys=True) + "\n"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def format_github(findings: list[Finding], *, base: str | None = None) -> str:
    """GitHub Actions workflow commands: `::error file=F,line=L,title=MSH201::message` per finding."""
    lines = []
    for finding in findings:
        command = "notice" if finding.suppressed_by else _GITHUB_COMMAND[finding.severity]
        properties = []
        # Annotations need a file in the repository: skip pseudo-locations such as `--set k=v`.
        location = next((loc for loc in finding.locations if loc.line), finding.location)
        if location:
            properties.append(f"file={_escape_property(_path(location, base))}")
            if location.line:
                properties.append(f"line={location.line}")
        properties.append(f"title={_escape_property(finding.code)}")
        where = f"{finding.object or ''} {finding.json_path}".strip()
        message = f"{where}: {finding.message}" if where else finding.message
        if finding.suppressed_by:
            message = f"(suppressed: {finding.suppressed_by}) {message}"
        lines.append(f"::{command} {','.join(properties)}::{_escape_data(message)}")
    lines.append(summary_line(findings))
    return "\n".join(lines) + "\n"

