"""Figures with targets: each benchmark reports what it measured next to the target it must meet.

A benchmark calls `report(name, value, target=..., better="higher"|"lower", unit=...)`; the line it
prints is readable alone and carries a JSON record that `run_all.py` collects, so the summary of a
`make bench` run puts every figure measured in that run beside its target.
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import time
from typing import Sequence

MARKER = "TARGET-RESULT "


def meshops_env(**extra: str) -> dict[str, str]:
    """The environment meshops subprocesses run in: this one, allowed to write bytecode.

    Some shells export PYTHONDONTWRITEBYTECODE; an installed meshops has its bytecode compiled at
    install time, so timing runs that compile every module from source would measure a cost no
    user pays (the first run here writes the bytecode, as an install would)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


def met(value: float, target: float, better: str) -> bool:
    return value >= target if better == "higher" else value <= target


def report(name: str, value: float, *, target: float | None, better: str = "lower", unit: str = "", note: str = "") -> None:
    """Print one figure (and its target); `run_all.py` picks the record up from the output."""
    shown = f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.0f}"
    sign = ">=" if better == "higher" else "<="
    verdict = "" if target is None else (f"  target {sign} {target:g}{unit}: " + ("met" if met(value, target, better) else "NOT MET"))
    print(f"{name}: {shown}{unit}{verdict}{f'  ({note})' if note else ''}", flush=True)
    print(MARKER + json.dumps({"name": name, "value": value, "target": target, "better": better, "unit": unit, "note": note}),
          flush=True)


def run_timed(command: Sequence[str], *, env: dict | None = None, expect: tuple[int, ...] = (0,)) -> tuple[float, float, str, str]:
    """(wall seconds, CPU seconds (user + system), stdout, stderr) of one subprocess run of `command`.

    CPU time is reported beside wall time because a shared machine's load stretches wall time:
    CPU seconds say what the command itself cost."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(list(command), capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # children are run one at a time: the delta is this one
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in expect:
        raise SystemExit(f"{' '.join(command[:6])} … exited {done.returncode}: {done.stderr[-2000:]}")
    return wall, cpu, done.stdout, done.stderr


def median_seconds(command: Sequence[str], *, runs: int, env: dict | None = None, expect: tuple[int, ...] = (0,),
                   before_each=None) -> tuple[float, float]:
    """Median wall and CPU seconds of `runs` runs of `command` (a subprocess), checking its exit code."""
    walls, cpus = [], []
    for _ in range(runs):
        if before_each is not None:
            before_each()
        wall, cpu, _, _ = run_timed(command, env=env, expect=expect)
        walls.append(wall)
        cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus)
