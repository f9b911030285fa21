"""Diff benchmark: `meshops diff` vs `kubectl diff -f` on the same manifests against the same sandbox.

    python benchmarks/diff.py [--objects 1000 5000]

For each size: generate a config repo (4 objects per service), apply it to an in-process sandbox
API server, change one value in every tenth service, then time `meshops diff` and `kubectl diff -f`
(the rendered manifests) as subprocesses, counting the API requests each sends (sandbox request
log) and meshops's peak RSS. Targets (issue 5): meshops at least 20x faster than kubectl at 1,000
objects; requests <= kinds x namespaces + discovery; peak memory < 400 MB at 5,000 objects.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from render import generate_repo  # noqa: E402

from meshops.cluster.connect import connect  # noqa: E402
from meshops.sandbox import Fault, SandboxServer  # noqa: E402
from meshops.validate.schemas import shipped_crds  # noqa: E402

MESHOPS = [sys.executable, "-m", "meshops"]
# The generated config repos are plain directories, not git repositories: the operator names their owner.
OWNER_ID = "bench"


def measure(objects: int, work: Path, *, latency_ms: float = 0.0) -> dict:
    services = objects // 4
    repo = generate_repo(work / f"repo-{objects}", services)
    with SandboxServer() as server:
        server.install_crds(shipped_crds())
        kubeconfig = server.write_kubeconfig(work / f"kubeconfig-{objects}")
        cluster = ["--kubeconfig", str(kubeconfig), "--context", "sandbox", "--repo", str(repo), "--owner-id", OWNER_ID]
        connect(kubeconfig=str(kubeconfig), context="sandbox").request(
            "POST", "/api/v1/namespaces", body={"metadata": {"name": "istio-system"}})  # as if Istio were installed
        applied = subprocess.run(MESHOPS + ["apply", "--env", "bench", "--yes", *cluster], capture_output=True, text=True)
        if applied.returncode != 0:
            raise SystemExit(f"apply failed: {applied.stderr[-2000:]}")
        values = repo / "environments" / "bench" / "values.yaml"
        values.write_text("services:\n" + "".join(
            f"  svc-{i:05d}:\n    port: 8081\n    version: v1\n" for i in range(0, services, 10)))
        rendered = work / f"rendered-{objects}.yaml"
        rendered.write_text(subprocess.run(MESHOPS + ["render", "--env", "bench", "--repo", str(repo)],
                                           capture_output=True, text=True, check=True).stdout)
        if latency_ms:
            server.faults.add(Fault(delay=latency_ms / 1000))  # every request: a network round trip
        server.log.clear()
        script = (
            "import resource, runpy, sys; sys.argv = ['meshops'] + sys.argv[1:];\n"
            "try:\n    runpy.run_module('meshops', run_name='__main__')\n"
            "finally:\n    sys.stderr.write(f'\\nPEAK_RSS_KB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')"
        )
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", script, "diff", "--env", "bench", *cluster], capture_output=True, text=True)
        meshops_seconds = time.perf_counter() - started
        if result.returncode != 1:
            raise SystemExit(f"meshops diff exited {result.returncode}: {result.stderr[-2000:]}")
        peak_mb = int(result.stderr.rsplit("PEAK_RSS_KB=", 1)[1].split()[0]) / 1024
        meshops_requests = len(server.log)
        kinds = {line.split(":", 1)[1].strip() for line in rendered.read_text().splitlines() if line.startswith("kind:")}
        server.log.clear()
        kubectl = shutil.which("kubectl")
        kubectl_seconds = kubectl_requests = None
        if kubectl:
            cache = work / f"kube-cache-{objects}"
            started = time.perf_counter()
            checked = subprocess.run([kubectl, "--kubeconfig", str(kubeconfig), "--context", "sandbox", "--cache-dir", str(cache),
                                      "diff", "-f", str(rendered)], capture_output=True, text=True)
            kubectl_seconds = time.perf_counter() - started
            kubectl_requests = len(server.log)
            if checked.returncode not in (0, 1):
                raise SystemExit(f"kubectl diff exited {checked.returncode}: {checked.stderr[-2000:]}")
    return {
        "objects": objects,
        "kinds": len(kinds),
        "meshops_seconds": meshops_seconds,
        "meshops_requests": meshops_requests,
        "meshops_peak_mb": peak_mb,
        "kubectl_seconds": kubectl_seconds,
        "kubectl_requests": kubectl_requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 5.0],
                        help="per-request delay added by the sandbox, emulating the network round trip to an API server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        for objects in args.objects:
            for latency in args.latency_ms:
                target = Path(temp) / f"{objects}-{latency:g}"
                target.mkdir()
                print(_row(measure(objects, target, latency_ms=latency), latency), flush=True)


def _row(row: dict, latency: float) -> str:
    speedup = f"{row['kubectl_seconds'] / row['meshops_seconds']:.0f}x" if row["kubectl_seconds"] else "n/a (no kubectl)"
    return (
        f"diff {row['objects']:>5} objects ({row['kinds']} kinds, 2 namespaces), {latency:g} ms RTT: "
        f"meshops {row['meshops_seconds']:.2f} s, {row['meshops_requests']} requests, peak {row['meshops_peak_mb']:.0f} MB | "
        f"kubectl diff {row['kubectl_seconds'] or 0:.2f} s, {row['kubectl_requests']} requests | speed-up {speedup}"
    )


if __name__ == "__main__":
    main()
