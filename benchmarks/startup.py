"""Start-up benchmark: `meshops --version`, the floor under every command.

    python benchmarks/startup.py [--runs 10]

Median wall and CPU time of `meshops --version` as a subprocess (bytecode written by a first run,
as an install does). Target (issue 16): at most 0.15 s. `python -c pass` is printed beside it: the
interpreter's own start-up on this machine, which no command can go below.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from targets import median_seconds, meshops_env, report  # noqa: E402

TARGET_SECONDS = 0.15


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    env = meshops_env()
    version = [sys.executable, "-m", "meshops", "--version"]
    median_seconds(version, runs=1, env=env)  # writes the bytecode
    python_wall, python_cpu = median_seconds([sys.executable, "-c", "pass"], runs=args.runs, env=env)
    wall, cpu = median_seconds(version, runs=args.runs, env=env)
    print(f"python -c pass: {python_wall:.3f} s ({python_cpu:.3f} s CPU); meshops --version: {wall:.3f} s ({cpu:.3f} s CPU)")
    report("meshops --version", wall, target=TARGET_SECONDS, unit=" s", note=f"{cpu:.3f} s CPU")


if __name__ == "__main__":
    main()
