"""Durations as meshops.yaml and Istio write them: Go's `time.ParseDuration` syntax (`90s`, `1m30s`).

One parser for every duration meshops reads — rollout intervals, Prometheus timeouts, freeze
windows, `--timeout` flags — and the wider Go syntax (`us`, `ns`) that Kubernetes CEL's
`duration()` accepts in Istio's CRD rules.
"""
from __future__ import annotations

import re

# What meshops.yaml and flags accept: hours down to milliseconds.
_CONFIG_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
# Everything Go's time.ParseDuration accepts, as Kubernetes CEL `duration()` does.
_GO_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_CONFIG_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_GO_DURATION = re.compile(r"^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$")
_GO_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")


def parse_duration(text: str) -> float:
    """Seconds in a duration like `90s`, `1m30s`, `1.5h`, `250ms`; ValueError if malformed."""
    text = text.strip() if isinstance(text, str) else ""
    position, seconds = 0, 0.0
    for match in _CONFIG_PART.finditer(text):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _CONFIG_UNITS[match.group(2)]
        position = match.end()
    if not text or position != len(text):
        raise ValueError(f"{text!r} is not a duration like 30s, 2m or 1m30s")
    return seconds


def go_duration_seconds(text: object) -> float | None:
    """Seconds in any Go duration string (`7s`, `1h30m`, `300us`), or None when it is not one."""
    if not isinstance(text, str) or not _GO_DURATION.match(text):
        return None
    return sum(float(number) * _GO_UNITS[unit] for number, unit in _GO_PART.findall(text))
