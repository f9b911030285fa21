"""Report formats: text grouped by file (coloured on a terminal), JSON, GitHub workflow commands."""
from __future__ import annotations

import json

from meshops.model.errors import Location
from meshops.model.manifest import ObjectKey
from meshops.validate.findings import Finding, Severity
from meshops.validate.report import format_github, format_json, format_text

REVIEWS = ObjectKey("networking.istio.io", "VirtualService", "bookinfo", "reviews")


def findings() -> list[Finding]:
    return [
        Finding(
            code="MSH201", severity=Severity.ERROR, message="subset 'v4' is not defined: add it, 100% sure",
            object=REVIEWS, path=("spec", "http", 0),
            locations=[Location("environments/dev/values.yaml", 42), Location("templates/virtualservices.yaml.j2", 29)],
        ),
        Finding(
            code="MSH214", severity=Severity.WARNING, message="weights sum to 110",
            object=REVIEWS, path=("spec", "http", 1, "route"),
            locations=[Location("--set services.reviews.canary.weight=20"), Location("templates/virtualservices.yaml.j2", 40)],
            suppressed_by="known, fixed in the next release",
        ),
    ]


def test_text_groups_findings_under_the_file_to_edit():
    text = format_text(findings(), base="config")
    assert text.splitlines()[:4] == [
        "config/environments/dev/values.yaml",
        "     42  error    MSH201  VirtualService bookinfo/reviews .spec.http[0]",
        "         subset 'v4' is not defined: add it, 100% sure",
        "         also: config/templates/virtualservices.yaml.j2:29",
    ]
    assert "--set services.reviews.canary.weight=20\n" in text
    assert "suppressed: known, fixed in the next release" in text
    assert text.rstrip().endswith("1 error, 0 warnings, 0 info (1 suppressed)")
    assert "\x1b[" not in text


def test_text_on_a_terminal_is_coloured_and_suppressed_findings_are_dimmed():
    text = format_text(findings(), color=True)
    assert "\x1b[1;31merror" in text  # bold red
    assert "\x1b[2mwarning" in text  # dim: suppressed


def test_json_marks_suppressed_findings_and_counts_only_active_ones():
    report = json.loads(format_json(findings(), base="config"))
    assert report["summary"] == {"error": 1, "warning": 0, "info": 0, "suppressed": 1}
    assert report["findings"][1]["suppressed"] == "known, fixed in the next release"
    assert report["findings"][0]["locations"][0] == {"file": "config/environments/dev/values.yaml", "line": 42}


def test_github_annotations_escape_data_and_point_at_a_real_file_line():
    lines = format_github(findings()).splitlines()
    assert lines[0] == (
        "::error file=environments/dev/values.yaml,line=42,title=MSH201::"
        "VirtualService bookinfo/reviews .spec.http[0]: subset 'v4' is not defined: add it, 100%25 sure"
    )
    assert lines[1].startswith("::notice file=templates/virtualservices.yaml.j2,line=40,title=MSH214::(suppressed: ")


def test_no_findings_says_so():
    assert format_text([]).strip() == "no findings"
    assert format_github([]).strip() == "no findings"


def test_plain_text_is_the_coloured_text_without_its_colour_codes():
    import re

    tricky = findings() + [
        Finding(code="MSH105", severity=Severity.INFO, message="tab\there, bell\x07 and CR\r gone, unicode é 你好 [bold]x[/]",
                object=None, path=(), locations=[Location("a\tb.yaml", 3)]),
        Finding(code="MSH105", severity=Severity.WARNING, message="two\n\tlines", object=REVIEWS, path=("spec",),
                locations=[]),
    ]
    coloured = format_text(tricky, color=True, base="config")
    assert "\x1b[" in coloured
    assert format_text(tricky, base="config") == re.sub(r"\x1b\[[0-9;]*m", "", coloured)
