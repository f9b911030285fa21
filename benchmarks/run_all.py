"""Every benchmark in one run, one summary table (wall time and peak RSS of each script).

    python benchmarks/run_all.py [--quick]

`--quick` uses smaller sizes (a minute or two); without it the sizes the issues name are used.
Each benchmark prints its own figures; this script runs them as subprocesses, echoes their lines
and then prints the table. The README quotes its output with the machine it ran on.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (name, script, arguments for a full run, arguments for --quick)
BENCHMARKS: tuple[tuple[str, str, list[str], list[str]], ...] = (
    ("render", "render.py", ["--services", "1000"], ["--services", "250", "--repeat", "1"]),
    ("validate", "validate.py", [], ["--services", "1000", "--repeat", "2"]),
    ("validate (schemas only)", "validate_schema.py", [], []),
    ("diff vs kubectl diff", "diff.py", ["--objects", "1000", "5000"], ["--objects", "1000", "--latency-ms", "0"]),
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
        print("    " + line.rstrip(), flush=True)
        lines.append(line.rstrip())
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    return os.waitstatus_to_exitcode(status), seconds, usage.ru_maxrss / 1024, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    rows = []
    for name, script, full, quick in BENCHMARKS:
        path = HERE / script
        if not path.exists():
            rows.append((name, "missing", 0.0, 0.0))
            continue
        print(f"== {name} ({script})", flush=True)
        code, seconds, peak, _ = _run(path, quick if args.quick else full)
        rows.append((name, "ok" if code == 0 else f"exit {code}", seconds, peak))
    print()
    print(f"{'benchmark':<26} {'result':<8} {'wall s':>8} {'peak RSS MB':>12}")
    for name, result, seconds, peak in rows:
        print(f"{name:<26} {result:<8} {seconds:>8.1f} {peak:>12.0f}")
    if any(result != "ok" for _, result, _, _ in rows if result != "missing"):
        sys.exit(1)


if __name__ == "__main__":
    main()
