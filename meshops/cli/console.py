"""Terminal or CI: the small facts the CLI needs to decide how to print."""
from __future__ import annotations

import os
import sys


def is_terminal(stream=None) -> bool:
    """True when output goes to a person (coloured, live progress); False in pipes and CI logs."""
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"
