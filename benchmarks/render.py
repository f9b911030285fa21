"""Render benchmark: the `meshops render` CLI on a generated repo of N services (4 objects each).

    python benchmarks/render.py [--services 1000] [--runs 3]

The repo is a git repository of the example templates with N services, each with an
AuthorizationPolicy (1,000 services: 4,003 objects). Times, as a user runs it (a subprocess,
median of --runs):

- cold: a commit the manifest cache has not seen (render, print; the result is then kept);
- warm: the same commit again (the manifests and their YAML come from the cache);
- in-process: `render()` + `to_yaml()` alone (no start-up, no cache), the render stage's own speed.

Templates run in a worker process (the render budget), so CPU seconds count both processes: on
a busy machine they say more than the wall clock.

Target (issue 16): the CLI at 4,003 objects >= 6,000 objects/s (issue 2: render >= 3,000 objects/s).
"""
from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from targets import median_seconds, meshops_env, report  # noqa: E402

from meshops.render import render  # noqa: E402
from meshops.source.repo import open_source  # noqa: E402
from meshops.yamlio.documents import dump  # noqa: E402


def generate_repo(target: Path, services: int) -> Path:
    """Example templates + values with `services` services, each with an AuthorizationPolicy."""
    shutil.copytree(ROOT / "templates", target / "templates")
    base = target / "environments" / "base"
    env = target / "environments" / "bench"
    base.mkdir(parents=True)
    env.mkdir(parents=True)
    values = {
        "meshNamespace": "istio-system",
        "namespaces": {"bench": {"injection": True}},
        "services": {
            f"svc-{i:05d}": {
                "port": 8080,
                "version": "v1",
                "versions": ["v1", "v2"],
                "trafficPolicy": {"connectionPool": {"tcp": {"maxConnections": 100}}, "outlierDetection": {"consecutive5xxErrors": 5}},
                "routes": [{"name": "beta-users", "match": [{"headers": {"x-beta": {"exact": "true"}}}], "version": "v2"}],
            }
            for i in range(services)
        },
        "gateways": {},
        "ingress": {},
        "security": {
            "mtls": {"mode": "STRICT"},
            "authorization": {
                "policies": {
                    f"svc-{i:05d}-viewer": {
                        "selector": {"app": f"svc-{i:05d}"},
                        "action": "ALLOW",
                        "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/bench/sa/frontend"]}}], "to": [{"operation": {"methods": ["GET"]}}]}],
                    }
                    for i in range(services)
                }
            },
        },
        "telemetry": {"mesh": {"metricsProvider": "prometheus", "tracingProvider": "jaeger", "samplingPercentage": 1.0, "accessLogProvider": "envoy"}},
    }
    (base / "values.yaml").write_text(dump(values))
    (env / "values.yaml").write_text("{}\n")
    (env / "meshops.yaml").write_text("namespace: bench\n")
    return target


def commit_all(repo: Path, message: str) -> None:
    """Commit everything in `repo` (a git repository is made on first use)."""
    identity = ["-c", "user.name=meshops bench", "-c", "user.email=bench@meshops.dev"]
    if not (repo / ".git").exists():
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), *identity, "commit", "-q", "--allow-empty", "-m", message], check=True)


TARGET_OBJECTS_PER_SECOND = 6000


def cpu_seconds() -> float:
    """User + system CPU of this process and of its (finished) children, the render workers."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="meshops-render-bench-") as temp:
        repo = generate_repo(Path(temp) / "repo", args.services)
        commit_all(repo, "bench")
        cache = Path(temp) / "cache"
        env = meshops_env(MESHOPS_CACHE_DIR=str(cache))
        command = [sys.executable, "-m", "meshops", "render", "--env", "bench", "--repo", str(repo)]
        text = subprocess.run(command + ["--no-cache"], capture_output=True, text=True, check=True, env=env).stdout
        objects = text.count("\n---\n") + text.startswith("---\n")
        cold, cold_cpu = median_seconds(command, runs=args.runs, env=env,
                                        before_each=lambda: shutil.rmtree(cache / "manifests", ignore_errors=True))
        warm, warm_cpu = median_seconds(command, runs=args.runs, env=env)
        timings, cpu_times = [], []
        for _ in range(args.runs):
            started, cpu_started = time.perf_counter(), cpu_seconds()
            result = render(open_source(repo), "bench")
            result.to_yaml()
            timings.append(time.perf_counter() - started)
            cpu_times.append(cpu_seconds() - cpu_started)
        in_process = min(timings)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"render: {args.services} services, {objects} objects, {len(text) / 1e6:.1f} MB of YAML; "
              f"CLI cold {cold:.2f} s ({cold_cpu:.2f} s CPU), warm {warm:.2f} s ({warm_cpu:.2f} s CPU); "
              f"in-process {in_process:.2f} s ({min(cpu_times):.2f} s CPU), peak RSS {peak_mb:.0f} MB")
        report(f"meshops render CLI, {objects} objects, cold cache", objects / cold, target=TARGET_OBJECTS_PER_SECOND,
               better="higher", unit=" objects/s", note=f"{objects / cold_cpu:,.0f} objects per CPU second")
        report(f"meshops render CLI, {objects} objects, warm cache", objects / warm, target=TARGET_OBJECTS_PER_SECOND,
               better="higher", unit=" objects/s", note=f"{objects / warm_cpu:,.0f} objects per CPU second")
        report(f"render() + to_yaml() in-process, {objects} objects", objects / in_process, target=3000,
               better="higher", unit=" objects/s")


if __name__ == "__main__":
    main()
