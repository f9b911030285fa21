"""Every benchmark in one run, one summary table (wall time and peak RSS of each script).

    python benchmarks/run_all.py [--quick]

`--quick` uses smaller sizes (a minute or two); without it the sizes the issues name are used.
Each benchmark prints its own figures; this script runs them as subprocesses, echoes their lines,
then prints two tables: every figure that has a target next to that target (all measured in this
same run, so ratios such as meshops vs kubectl compare like with like), and wall time and peak RSS
per script. The README quotes its output with the machine it ran on.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from targets import MARKER, met  # noqa: E402

# (name, script, arguments for a full run, arguments for --quick)
BENCHMARKS: tuple[tuple[str, str, list[str], list[str]], ...] = (
    ("start-up", "startup.py", [], ["--runs", "5"]),
    ("render", "render.py", ["--services", "1000"], ["--services", "250", "--runs", "1"]),
    ("validate", "validate.py", [], ["--objects", "1000", "5000", "--services", "1000", "--repeat", "1"]),
    ("validate (schemas only)", "validate_schema.py", [], []),
    ("diff vs kubectl diff", "diff.py", ["--objects", "1000", "--latency-ms", "0", "5", "10", "--large", "5000"],
     ["--objects", "1000", "--latency-ms", "0", "--runs", "1"]),
    ("apply", "apply.py", ["--objects", "1000"], ["--objects", "400"]),
    ("sandbox", "sandbox.py", [], []),
    ("rollout analysis", "analysis.py", [], []),
    ("rollout concurrency", "rollout.py", [], []),
    ("reconcile + webhook", "reconcile.py", [], ["--environments", "10", "--deliveries", "100"]),
    ("dashboard", "dashboard.py", ["--environments", "50"], ["--environments", "10", "--repeat", "3"]),
)


def _run(script: Path, arguments: list[str]) -> tuple[int, float, float, list[str]]:
    """Exit code, wall seconds, peak RSS (MB) and output lines of one benchmark script."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(script), *arguments], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in process.stdout:
        if not line.startswith(MARKER):
            print("    " + line.rstrip(), flush=True)
        lines.append(line.rstrip())
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    return os.waitstatus_to_exitcode(status), seconds, usage.ru_maxrss / 1024, lines


def _targets(lines: list[str]) -> list[dict]:
    return [json.loads(line[len(MARKER):]) for line in lines if line.startswith(MARKER)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average at start {os.getloadavg()[0]:.1f}")
    rows, figures = [], []
    for name, script, full, quick in BENCHMARKS:
        path = HERE / script
        if not path.exists():
            rows.append((name, "missing", 0.0, 0.0))
            continue
        print(f"== {name} ({script})", flush=True)
        code, seconds, peak, lines = _run(path, quick if args.quick else full)
        figures.extend(_targets(lines))
        rows.append((name, "ok" if code == 0 else f"exit {code}", seconds, peak))
    print()
    print(f"{'figure (this run)':<72} {'measured':>18} {'target':>18}  met")
    for figure in figures:
        if figure["target"] is None:
            verdict, target = "", "—"
        else:
            verdict = "yes" if met(figure["value"], figure["target"], figure["better"]) else "NO"
            target = f"{'>=' if figure['better'] == 'higher' else '<='} {figure['target']:g}{figure['unit']}"
        print(f"{figure['name']:<72} {_shown(figure['value']) + figure['unit']:>18} {target:>18}  {verdict}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    print()
    print(f"{'benchmark':<26} {'result':<8} {'wall s':>8} {'peak RSS MB':>12}")
    for name, result, seconds, peak in rows:
        print(f"{name:<26} {result:<8} {seconds:>8.1f} {peak:>12.0f}")
    if any(result != "ok" for _, result, _, _ in rows if result != "missing"):
        sys.exit(1)


def _shown(value: float) -> str:
    return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"


if __name__ == "__main__":
    main()
