"""How much time and memory rendering one environment may take: the render budget.

Templates are code from the config repository, and the repository is untrusted input (a pull
request). Jinja can loop (`range` nested in `range`) and build values (`'a' * 2*10**9`), so render
runs under a budget: a wall-clock limit and a memory limit, enforced by `render.worker` (a forked
process with `RLIMIT_AS` and a deadline) and, for the cheap cases, refused before any allocation
by the sandbox (`jinja_env`). Exceeding it is a `BudgetExceeded`, a ConfigError naming the template.

The defaults are generous (a 1,000-service repo renders in about a second and 200 MB). The CLI sets
the process default from `--render-timeout`/`--render-memory` (or `MESHOPS_RENDER_TIMEOUT`,
`MESHOPS_RENDER_MEMORY`) with `configure_default`; `render(..., budget=)` overrides it per call.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from ..model.errors import ConfigError, Location

# A 1,000-service repo renders in about a second; a minute is two orders of magnitude of headroom.
DEFAULT_SECONDS = 60.0
# Peak RSS of that render is about 200 MB in all; 1 GiB of *additional* memory is five times that.
DEFAULT_MEMORY = 1 << 30
TIME_HINT = "look for loops inside loops; raise --render-timeout if the repo really needs longer"
MEMORY_HINT = "look for values that grow inside loops; raise --render-memory if the repo really needs more"


class BudgetExceeded(ConfigError):
    """A template ran longer, or asked for more memory, than the render budget allows."""


@dataclass(frozen=True)
class RenderBudget:
    """Wall-clock seconds and bytes of memory (on top of what the process already uses) for one render."""

    seconds: float = DEFAULT_SECONDS
    memory: int = DEFAULT_MEMORY

    def describe_time(self) -> str:
        return f"{self.seconds:g} s"

    def describe_memory(self) -> str:
        return human_bytes(self.memory)

    def overran(self, *, location: Location | None = None) -> BudgetExceeded:
        """The error for running past the deadline."""
        return BudgetExceeded(f"rendering took longer than the render budget of {self.describe_time()}",
                              location=location, hint=TIME_HINT)

    def outgrew(self, what: str = "rendering", *, location: Location | None = None) -> BudgetExceeded:
        """The error for needing more memory than the budget (`what`: the template, its output …)."""
        return BudgetExceeded(f"{what} needs more memory than the render budget of {self.describe_memory()}",
                              location=location, hint=MEMORY_HINT)


def human_bytes(count: float) -> str:
    """`1073741824` -> `1 GiB`, `1500000` -> `1.4 MiB` (binary units, as Kubernetes quantities)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" or count == int(count) else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


_default = RenderBudget()
_default_lock = threading.Lock()


def configure_default(*, seconds: float | None = None, memory: int | None = None) -> RenderBudget:
    """Set the process-wide budget render uses when a caller passes none (the CLI's flags do this)."""
    global _default
    with _default_lock:
        if seconds is not None:
            _default = replace(_default, seconds=float(seconds))
        if memory is not None:
            _default = replace(_default, memory=int(memory))
        return _default


def default_budget() -> RenderBudget:
    return _default
