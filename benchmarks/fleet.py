"""Fleet benchmark: `meshops diff` of one environment over N sandbox clusters vs the same diff of one.

    python benchmarks/fleet.py [--clusters 20] [--objects 500] [--latency-ms 0 5]

Generates a config repo (4 objects per service) whose environment lists N clusters, starts N
sandbox API servers in a separate process (each its own server and port, as a fleet's API servers
are other machines; here they share the machine's cores with meshops), applies the environment to
all of them with `meshops apply`, changes one value in every tenth service, then times `meshops
diff` as a subprocess over one cluster (`--cluster c00`) and over all N, with meshops's peak RSS
(its own plus its largest child's: the diff shares the clusters between one process per core).
Target (issue 18): N = 20 clusters x 500 objects in at most 3x the time of one cluster, on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from render import generate_repo  # noqa: E402

MESHOPS = [sys.executable, "-m", "meshops"]
# The generated config repo is a plain directory, not a git repository: the operator names its owner.
OWNER_ID = "bench-fleet"
# Runs meshops in-process and prints its peak RSS on stderr: the process's own plus that of its
# largest child (the render worker, or a forked copy planning a share of the clusters, which runs
# at the same time as the parent): an upper bound of what the diff held at once.
PEAK_WRAPPER = (
    "import resource, runpy, sys; sys.argv = ['meshops'] + sys.argv[1:];\n"
    "try:\n    runpy.run_module('meshops', run_name='__main__')\n"
    "finally:\n    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + "
    "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "    sys.stderr.write(f'\\nPEAK_RSS_KB={peak}\\n')"
)


def cluster_names(count: int) -> list[str]:
    return [f"c{index:02d}" for index in range(count)]


def serve(count: int, directory: Path, latency_ms: float) -> None:
    """Child process: `count` sandboxes with the shipped CRDs, a kubeconfig each, until stdin closes."""
    from meshops.sandbox import Fault, SandboxServer
    from meshops.validate.schemas import shipped_crds

    crds = shipped_crds()
    servers = []
    for name in cluster_names(count):
        server = SandboxServer().start()
        server.install_crds(crds)
        server.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}})
        server.write_kubeconfig(directory / f"{name}.kubeconfig", context=name)
        servers.append(server)
    (directory / "ready").write_text("ready\n")
    for line in sys.stdin:  # "latency" turns the round-trip delay on; EOF stops everything
        if line.strip() == "latency" and latency_ms:
            for server in servers:
                server.faults.add(Fault(delay=latency_ms / 1000))
        print("ok", flush=True)
    for server in servers:
        server.stop()


def fleet_repo(work: Path, *, clusters: int, objects: int) -> Path:
    repo = generate_repo(work / "repo", objects // 4)
    listed = "".join(f"  - {{name: {name}, context: {name}}}\n" for name in cluster_names(clusters))
    (repo / "environments" / "bench" / "meshops.yaml").write_text(f"namespace: bench\nclusters:\n{listed}")
    return repo


def run_diff(repo: Path, kubeconfig: str, *extra: str) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and exit code of one `meshops diff` subprocess."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, "diff", "--env", "bench", "--repo", str(repo),
                             "--kubeconfig", kubeconfig, "--owner-id", OWNER_ID, *extra], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"meshops diff exited {result.returncode}: {result.stderr[-2000:]}")
    peak_mb = int(result.stderr.rsplit("PEAK_RSS_KB=", 1)[1].split()[0]) / 1024
    return seconds, peak_mb, result.returncode


def measure(*, clusters: int, objects: int, latency_ms: float, repeat: int, work: Path) -> dict:
    repo = fleet_repo(work, clusters=clusters, objects=objects)
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(clusters), str(work), str(latency_ms)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        while not (work / "ready").exists():
            if child.poll() is not None:
                raise SystemExit("the sandbox process died")
            time.sleep(0.1)
        kubeconfig = os.pathsep.join(str(work / f"{name}.kubeconfig") for name in cluster_names(clusters))
        applied = subprocess.run(MESHOPS + ["apply", "--env", "bench", "--yes", "--repo", str(repo), "--kubeconfig", kubeconfig,
                                            "--owner-id", OWNER_ID],
                                 capture_output=True, text=True)
        if applied.returncode != 0:
            raise SystemExit(f"apply failed: {applied.stderr[-2000:]}")
        values = repo / "environments" / "bench" / "values.yaml"
        values.write_text("services:\n" + "".join(f"  svc-{i:05d}:\n    port: 8081\n" for i in range(0, objects // 4, 10)))
        child.stdin.write("latency\n")
        child.stdin.flush()
        child.stdout.readline()
        one = [run_diff(repo, kubeconfig, "--cluster", "c00") for _ in range(repeat)]
        every = [run_diff(repo, kubeconfig) for _ in range(repeat)]
    finally:
        child.stdin.close()
        child.wait(60)
    assert {code for _, _, code in one + every} == {1}, "the diffs must find the changed services"
    return {
        "clusters": clusters,
        "objects": objects,
        "latency_ms": latency_ms,
        "one_seconds": min(seconds for seconds, _, _ in one),
        "one_peak_mb": max(peak for _, peak, _ in one),
        "all_seconds": min(seconds for seconds, _, _ in every),
        "all_peak_mb": max(peak for _, peak, _ in every),
    }


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--objects", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 5.0],
                        help="per-request delay every sandbox adds, emulating the round trip to an API server")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each diff (the best is reported)")
    args = parser.parse_args()
    for latency in args.latency_ms:
        with tempfile.TemporaryDirectory() as temp:
            row = measure(clusters=args.clusters, objects=args.objects, latency_ms=latency, repeat=args.repeat, work=Path(temp))
        ratio = row["all_seconds"] / row["one_seconds"]
        print(f"diff of {row['objects']} objects, {latency:g} ms RTT: 1 cluster {row['one_seconds']:.2f} s "
              f"(peak {row['one_peak_mb']:.0f} MB) | {row['clusters']} clusters {row['all_seconds']:.2f} s "
              f"(peak {row['all_peak_mb']:.0f} MB) | ratio {ratio:.2f}x (target <= 3x)", flush=True)


if __name__ == "__main__":
    main()
