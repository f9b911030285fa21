"""Apply benchmark: create N objects in the sandbox, then re-apply (must be zero writes), then change 10 %.

    python benchmarks/apply.py [--objects 1000]

Prints wall time, write requests and objects/s for each pass. The sandbox runs in-process; meshops
runs as the CLI does (a subprocess). Targets (issue 16): the first apply at most 1.05 writes per
object (one POST per create); a second apply of the same revision writes nothing.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from render import generate_repo  # noqa: E402
from targets import meshops_env, report  # noqa: E402

from meshops.cluster.connect import connect  # noqa: E402
from meshops.sandbox import SandboxServer  # noqa: E402
from meshops.validate.schemas import shipped_crds  # noqa: E402

WRITE_VERBS = ("create", "update", "patch", "delete")
# The generated config repo is a plain directory, not a git repository: the operator names its owner.
OWNER_ID = "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    args = parser.parse_args()
    services = args.objects // 4
    with tempfile.TemporaryDirectory() as temp, SandboxServer() as server:
        repo = generate_repo(Path(temp) / "repo", services)
        server.install_crds(shipped_crds())
        kubeconfig = server.write_kubeconfig(Path(temp) / "kubeconfig")
        connect(kubeconfig=str(kubeconfig), context="sandbox").request("POST", "/api/v1/namespaces", body={"metadata": {"name": "istio-system"}})
        env = meshops_env(MESHOPS_CACHE_DIR=str(Path(temp) / "cache"))
        objects = len(subprocess.run([sys.executable, "-m", "meshops", "render", "--env", "bench", "--repo", str(repo)],
                                     capture_output=True, text=True, env=env, check=True).stdout.split("\n---\n"))
        command = [sys.executable, "-m", "meshops", "apply", "--env", "bench", "--yes", "--repo", str(repo),
                   "--kubeconfig", str(kubeconfig), "--context", "sandbox", "--owner-id", OWNER_ID]
        for label, change in (("first apply (creates)", None), ("second apply (no change)", None),
                              ("10 % of services changed", lambda: (repo / "environments/bench/values.yaml").write_text(
                                  "services:\n" + "".join(f"  svc-{i:05d}:\n    port: 8081\n    version: v1\n" for i in range(0, services, 10))))):
            if change:
                change()
            server.log.clear()
            started = time.perf_counter()
            result = subprocess.run(command, capture_output=True, text=True, env=env)
            seconds = time.perf_counter() - started
            if result.returncode != 0:
                raise SystemExit(f"apply failed ({result.returncode}): {result.stderr[-2000:]}")
            writes = sum(server.log.count(verb=verb) for verb in WRITE_VERBS)
            print(f"apply {args.objects} objects, {label}: {seconds:.2f} s, {len(server.log)} requests, {writes} writes", flush=True)
            if label.startswith("first"):
                report(f"first apply of {objects} objects, writes per object", writes / objects, target=1.05)
            elif label.startswith("second"):
                report("second apply of the same revision, writes", writes, target=0)


if __name__ == "__main__":
    main()
