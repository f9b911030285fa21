"""Diff benchmark: `meshops diff` (manifest cache cold and warm) vs `kubectl diff -f`, same manifests, same sandbox.

    python benchmarks/diff.py [--objects 1000 5000] [--latency-ms 0 5 10] [--runs 3]

For each size: generate a config repo (4 objects per service), apply it to an in-process sandbox API
server, change one value in every tenth service (its DestinationRule's connection pool), then time
as subprocesses, at each emulated
network round trip (a per-request delay the sandbox adds):

- `meshops diff` cold: the manifest cache emptied before each run (a new commit: render, validate,
  read the cluster, compare, store); compiled schemas stay cached, as on any machine after its
  first run;
- `meshops diff` warm: the same commit again (render and offline validation come from the cache;
  the cluster is read and the live checks run as always);
- `kubectl diff -f` on the rendered manifests (a GET and a server-side dry-run per object).

meshops figures are medians of --runs runs, kubectl's is one run. The speed-ups are measured in the
same run. The repo is a plain directory (`--git` commits it instead). When issue 16 measured kubectl
at 2,025 requests for 1,003 objects, objects meshops applied could carry no annotation, so kubectl's
own empty `annotations: {}` made each of them a dry-run PATCH; every applied object now carries
`meshops.dev/owner`, so kubectl sends a dry-run only for the changed ones (about 1,055 requests),
which on loopback makes it about 10 % faster than when the targets were set.
Targets (issue 16), at 1,000+ objects on loopback: cold >= 15x, warm >= 30x kubectl diff.
Requests: a LIST per kind and namespace plus discovery. Peak RSS < 400 MB at 5,000 objects (issue 5).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from render import commit_all, generate_repo  # noqa: E402
from targets import meshops_env, report, run_timed  # noqa: E402

from meshops.cluster.connect import connect  # noqa: E402
from meshops.sandbox import Fault, SandboxServer  # noqa: E402
from meshops.validate.schemas import shipped_crds  # noqa: E402

MESHOPS = [sys.executable, "-m", "meshops"]
TARGET_COLD, TARGET_WARM = 15.0, 30.0
PEAK_RSS_SCRIPT = (
    "import resource, runpy, sys; sys.argv = ['meshops'] + sys.argv[1:];\n"
    "try:\n    runpy.run_module('meshops', run_name='__main__')\n"
    "finally:\n    sys.stderr.write(f'\\nPEAK_RSS_KB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')"
)
# The generated config repos are plain directories unless --git: the operator names their owner (in git too).
OWNER_ID = "bench"


def _meshops_diff(cluster: list[str], env: dict) -> tuple[float, float, float, str]:
    """(seconds, CPU seconds, peak RSS MB, stdout) of one `meshops diff` subprocess."""
    seconds, cpu, stdout, stderr = run_timed([sys.executable, "-c", PEAK_RSS_SCRIPT, "diff", "--env", "bench", *cluster],
                                             env=env, expect=(1,))
    peak_mb = int(stderr.rsplit("PEAK_RSS_KB=", 1)[1].split()[0]) / 1024
    return seconds, cpu, peak_mb, stdout


def measure(objects: int, work: Path, *, latencies: list[float], runs: int, git: bool) -> list[dict]:
    services = objects // 4
    repo = generate_repo(work / f"repo-{objects}", services)
    if git:
        commit_all(repo, "bench")
    cache_dir = work / "cache"
    env = meshops_env(MESHOPS_CACHE_DIR=str(cache_dir))
    rows = []
    with SandboxServer() as server:
        server.install_crds(shipped_crds())
        kubeconfig = server.write_kubeconfig(work / f"kubeconfig-{objects}")
        cluster = ["--kubeconfig", str(kubeconfig), "--context", "sandbox", "--repo", str(repo), "--owner-id", OWNER_ID]
        connect(kubeconfig=str(kubeconfig), context="sandbox").request(
            "POST", "/api/v1/namespaces", body={"metadata": {"name": "istio-system"}})  # as if Istio were installed
        applied = subprocess.run(MESHOPS + ["apply", "--env", "bench", "--yes", *cluster], capture_output=True, text=True, env=env)
        if applied.returncode != 0:
            raise SystemExit(f"apply failed: {applied.stderr[-2000:]}")
        values = repo / "environments" / "bench" / "values.yaml"
        values.write_text("services:\n" + "".join(  # a DestinationRule setting (a port change would make
            # kubectl's strategic merge add a second port named http, which the API server refuses)
            f"  svc-{i:05d}:\n    trafficPolicy:\n      connectionPool:\n        tcp:\n          maxConnections: 200\n"
            for i in range(0, services, 10)))
        if git:
            commit_all(repo, "every tenth service with a larger connection pool")
        rendered = work / f"rendered-{objects}.yaml"
        rendered.write_text(subprocess.run(MESHOPS + ["render", "--env", "bench", "--repo", str(repo), "--no-cache"],
                                           capture_output=True, text=True, check=True, env=env).stdout)
        kinds = {line.split(":", 1)[1].strip() for line in rendered.read_text().splitlines() if line.startswith("kind:")}
        for latency in latencies:
            server.faults.clear()
            if latency:
                server.faults.add(Fault(delay=latency / 1000))  # every request: a network round trip
            cold, warm, cold_cpu, warm_cpu, peaks, outputs = [], [], [], [], [], set()
            for _ in range(runs):
                shutil.rmtree(cache_dir / "manifests", ignore_errors=True)
                server.log.clear()
                seconds, cpu, peak, out = _meshops_diff(cluster, env)
                requests = len(server.log)
                cold.append(seconds)
                cold_cpu.append(cpu)
                peaks.append(peak)
                outputs.add(out)
                seconds, cpu, peak, out = _meshops_diff(cluster, env)
                warm.append(seconds)
                warm_cpu.append(cpu)
                peaks.append(peak)
                outputs.add(out)
            if len(outputs) != 1:
                raise SystemExit("meshops diff printed different bytes cold and warm")
            server.log.clear()
            kubectl = shutil.which("kubectl")
            kubectl_seconds = kubectl_requests = None
            if kubectl:
                started = time.perf_counter()
                checked = subprocess.run([kubectl, "--kubeconfig", str(kubeconfig), "--context", "sandbox",
                                          "--cache-dir", str(work / f"kube-cache-{objects}"), "diff", "-f", str(rendered)],
                                         capture_output=True, text=True)
                kubectl_seconds = time.perf_counter() - started
                kubectl_requests = len(server.log)
                if checked.returncode not in (0, 1):
                    raise SystemExit(f"kubectl diff exited {checked.returncode}: {checked.stderr[-2000:]}")
            rows.append({"objects": objects, "kinds": len(kinds), "latency": latency, "cold": statistics.median(cold),
                         "warm": statistics.median(warm), "cold_cpu": statistics.median(cold_cpu),
                         "warm_cpu": statistics.median(warm_cpu), "requests": requests, "peak_mb": max(peaks),
                         "kubectl": kubectl_seconds, "kubectl_requests": kubectl_requests})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, nargs="+", default=[1000])
    parser.add_argument("--large", type=int, nargs="*", default=[], metavar="OBJECTS",
                        help="also these sizes, on loopback only and one run each (memory, requests)")
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 5.0, 10.0],
                        help="per-request delay added by the sandbox, emulating the network round trip to an API server")
    parser.add_argument("--runs", type=int, default=3, help="meshops runs per figure (the median is reported)")
    parser.add_argument("--git", action="store_true", help="keep the config repo in git (see the module docstring)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="meshops-diff-bench-") as temp:
        for objects in args.objects:
            target = Path(temp) / str(objects)
            target.mkdir()
            for row in measure(objects, target, latencies=args.latency_ms, runs=args.runs, git=args.git):
                _print(row)
        for objects in args.large:
            target = Path(temp) / f"large-{objects}"
            target.mkdir()
            for row in measure(objects, target, latencies=[0.0], runs=1, git=args.git):
                _print(row)


def _print(row: dict) -> None:
    size, rtt = row["objects"], f"{row['latency']:g} ms RTT"
    print(f"diff {size} objects ({row['kinds']} kinds, 2 namespaces), {rtt}: meshops cold {row['cold']:.2f} s "
          f"({row['cold_cpu']:.2f} s CPU), warm {row['warm']:.2f} s ({row['warm_cpu']:.2f} s CPU), {row['requests']} requests, "
          f"peak {row['peak_mb']:.0f} MB | "
          f"kubectl diff {row['kubectl'] or 0:.2f} s, {row['kubectl_requests']} requests", flush=True)
    if row["kubectl"]:
        loopback = row["latency"] == 0 and size >= 1000
        report(f"diff speed-up over kubectl, cold cache, {size} objects, {rtt}", row["kubectl"] / row["cold"],
               target=TARGET_COLD if loopback else None, better="higher", unit="x")
        report(f"diff speed-up over kubectl, warm cache, {size} objects, {rtt}", row["kubectl"] / row["warm"],
               target=TARGET_WARM if loopback else None, better="higher", unit="x")
    if size >= 5000:
        report(f"diff peak RSS, {size} objects", row["peak_mb"], target=400, unit=" MB")


if __name__ == "__main__":
    main()
