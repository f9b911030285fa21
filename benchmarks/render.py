"""Render benchmark: a generated config repo of N services (4 objects each) rendered with the example templates.

    python benchmarks/render.py [--services 1000] [--repeat 3]

Prints objects/s (best of --repeat, one process, one core) and peak RSS. Target (issue 2): at least
3,000 objects/s for 1,000 services (about 4,000 objects). Templates run in a worker process (the
render budget), so CPU time is counted for both processes as well: on a busy machine it says more
than the wall clock.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from meshops.render import render  # noqa: E402
from meshops.source.repo import open_source
from meshops.yamlio.documents import dump


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


def cpu_seconds() -> float:
    """User + system CPU of this process and of its (finished) children, the render workers."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        repo = generate_repo(Path(temp), args.services)
        timings, cpu_times = [], []
        for _ in range(args.repeat):
            started, cpu_started = time.perf_counter(), cpu_seconds()
            result = render(open_source(repo), "bench")
            text = result.to_yaml()
            timings.append(time.perf_counter() - started)
            cpu_times.append(cpu_seconds() - cpu_started)
        objects = len(result.manifests)
        best = min(timings)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"render: {args.services} services, {objects} objects, {len(text) / 1e6:.1f} MB of YAML")
        print(f"render: best {best:.2f} s of {args.repeat} -> {objects / best:,.0f} objects/s; peak RSS {peak_mb:.0f} MB")
        print(f"render: best CPU {min(cpu_times):.2f} s (this process and its render workers)")


if __name__ == "__main__":
    main()
