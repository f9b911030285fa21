"""What one refresh of the dashboard's environments page costs: time and API requests per environment.

    python benchmarks/dashboard.py [--environments 20] [--repeat 5]

A config repo with N environments (each a namespace with one ConfigMap, promoted one after the
other; `reconcile.py`'s) is reconciled into a fresh in-process sandbox; then the environments page is rendered
`--repeat` times with every cache expired (a viewer polling every 2 s causes at most one such read
per 2 s, however many tabs are open). Reported: the first (cold: git mirror, renders) and the
median warm refresh, and the requests one warm refresh sends to the API server, by verb.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repo root in place of this script's folder, which goes last: its requests.py must not hide the
# `requests` package the kubernetes client imports.
sys.path[0] = str(ROOT)
sys.path.append(str(ROOT / "benchmarks"))

from meshops.dashboard.app import Dashboard  # noqa: E402
from meshops.dashboard.sources import Origin, Sources  # noqa: E402
from meshops.pipeline.operator import Operator  # noqa: E402
from meshops.sandbox import SandboxServer  # noqa: E402
from reconcile import make_repo  # noqa: E402  (benchmarks/reconcile.py: N environments, a ConfigMap each)


class Clock:
    """Real time plus a jump before every page, so every cache has expired."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--environments", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="meshops-bench-dashboard-") as work, SandboxServer() as server:
        work_dir = Path(work)
        repo, _ = make_repo(work_dir, args.environments)
        repo = Path(repo.working_tree_dir)
        kubeconfig = server.write_kubeconfig(work_dir / "kubeconfig")
        done = subprocess.run([sys.executable, "-m", "meshops", "reconcile", "--repo", str(repo), "--all", "--kubeconfig",
                               str(kubeconfig), "--context", "sandbox", "--cache-dir", str(work_dir / "cache")],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"reconcile failed: {done.stderr[-2000:]}")
        clock = Clock()
        origin = Origin(repo=str(repo), cache_dir=str(work_dir / "cache"),
                        operator=Operator(kubeconfig=str(kubeconfig), context="sandbox"))
        dashboard = Dashboard(Sources(origin, clock=clock), clock=clock)
        timings = []
        for _ in range(args.repeat + 1):
            clock.offset += 3600
            server.log.clear()
            started = time.perf_counter()
            page = dashboard("/", {})
            timings.append(time.perf_counter() - started)
            assert page.status == 200 and page.body.count(b'data-drift="in-sync"') == args.environments
        verbs = Counter(entry.verb for entry in server.log.entries())
    warm = statistics.median(timings[1:])
    print(f"dashboard environments page, {args.environments} environments (1 namespace + 1 ConfigMap each), sandbox on loopback")
    print(f"  cold (mirror clone, renders): {timings[0] * 1000:.0f} ms")
    print(f"  warm refresh, every cache expired (median of {args.repeat}): {warm * 1000:.0f} ms, "
          f"{warm * 1000 / args.environments:.1f} ms per environment")
    print(f"  API requests per warm refresh: {sum(verbs.values())} ({', '.join(f'{v} {n}' for v, n in sorted(verbs.items()))}), "
          f"{sum(verbs.values()) / args.environments:.1f} per environment")


if __name__ == "__main__":
    main()
