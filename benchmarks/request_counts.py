"""Request counts: what `meshops diff` and `meshops apply` ask of the API server for the example repo.

    python benchmarks/request_counts.py [--env dev]

Applies the example config repo's environment to a fresh in-process sandbox (Istio CRDs from
`meshops crds export`, `istio-system` created as if Istio were installed), then counts, from the
sandbox request log, the requests of: the first apply, `meshops diff` right after it (steady
state), and a second apply (which must write nothing). Each count is split by verb.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from meshops.sandbox import SandboxServer  # noqa: E402
from meshops.validate.schemas import shipped_crds  # noqa: E402

MESHOPS = [sys.executable, "-m", "meshops"]
# The generated config repos are plain directories, not git repositories: the operator names their owner.
OWNER_ID = "bench"


def _counts(server: SandboxServer) -> dict:
    verbs = Counter(entry.verb for entry in server.log.entries())
    return {"requests": sum(verbs.values()), **dict(sorted(verbs.items()))}


def measure(environment: str, work: Path) -> dict:
    repo = work / "repo"
    for part in ("environments", "templates"):
        shutil.copytree(ROOT / part, repo / part)
    results = {}
    with SandboxServer() as server:
        server.install_crds(shipped_crds())
        kubeconfig = server.write_kubeconfig(work / "kubeconfig")
        cluster = ["--env", environment, "--repo", str(repo), "--kubeconfig", str(kubeconfig), "--context", "sandbox",
                   "--owner-id", OWNER_ID]
        subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "create", "namespace", "istio-system"],
                       check=True, capture_output=True)
        for step, args in (("first apply", ["apply", "--yes"]), ("diff", ["diff"]), ("second apply", ["apply", "--yes"])):
            server.log.clear()
            done = subprocess.run(MESHOPS + args + cluster, capture_output=True, text=True)
            if done.returncode not in (0, 1):
                raise SystemExit(f"{step} failed ({done.returncode}): {done.stderr[-2000:]}")
            results[step] = _counts(server)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="dev")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="meshops-requests-") as work:
        results = measure(args.env, Path(work))
    for step, counts in results.items():
        print(f"{step:<13} {json.dumps(counts)}")


if __name__ == "__main__":
    main()
