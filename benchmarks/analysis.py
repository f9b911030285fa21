"""What one rollout analysis costs against a real Prometheus: wall time and queries, 1 vs 20 at once.

Starts the synthetic mesh with 20 services (canary at 10 %), a real Prometheus scraping it every
second, waits for a full 10 s window, then times `analyze` for one service and for all 20
concurrently (median of several rounds), with and without stable comparison and custom checks.
For contrast it also sends the built-in measures as separate queries, the way a tool without the
combined query would. Run: `python benchmarks/analysis.py` (needs Debian's prometheus binary).
"""
from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from meshops.source.envconfig import EnvConfig
from meshops.sim.prometheus import LocalPrometheus
from meshops.rollout.analysis import AnalysisTarget, analyze
from meshops.rollout.policy import StableComparison, load_policy
from meshops.sim.traffic import TrafficSimulator

SERVICES = 20
ROUNDS = 7
WINDOW = "10s"
CHECKS = [
    {"name": "canary-rps", "query": 'sum(rate(istio_requests_total{destination_workload="$canary_workload"}[$window]))', "min": 1},
    {"name": "stable-rps", "query": 'sum(rate(istio_requests_total{destination_workload="$stable_workload"}[$window]))', "min": 1},
]


def timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def median_seconds(function) -> float:
    return statistics.median(timed(function)[0] for _ in range(ROUNDS))


def main() -> None:
    mesh = TrafficSimulator(namespace="bench").start()
    for index in range(SERVICES):
        mesh.set_service(f"svc{index}", rps=100, weights={"v1": 90, "v2": 10})
    base = load_policy(EnvConfig(name="bench", file="meshops.yaml", data={"rollout": {"window": WINDOW}}))
    policies = {
        "built-ins only": base,
        "+ compare to stable": replace(base, compare_to_stable=StableComparison(1, 50)),
        "+ compare + 2 custom checks": load_policy(EnvConfig(name="bench", file="meshops.yaml", data={
            "rollout": {"window": WINDOW, "compareToStable": {"maxErrorRateIncrease": 1}, "checks": CHECKS}})),
    }
    with LocalPrometheus(targets=[mesh.target]) as prometheus:
        started = time.perf_counter()
        prometheus.wait_for_series(
            f'min(count_over_time(istio_requests_total{{reporter="destination"}}[{WINDOW}]))',
            timeout=60,
            ready=lambda result: result.ok and bool(result.samples) and result.samples[0].value >= 10,
        )
        print(f"first full {WINDOW} window after {time.perf_counter() - started:.1f} s")
        client = prometheus.client()
        for label, policy in policies.items():
            targets = [AnalysisTarget.of(policy, service=f"svc{i}", namespace="bench", canary="v2", stable="v1")
                       for i in range(SERVICES)]
            one = median_seconds(lambda: analyze(metrics=client, policy=policy, target=targets[0]))
            with ThreadPoolExecutor(max_workers=SERVICES) as pool:
                many = median_seconds(lambda: list(pool.map(lambda t: analyze(metrics=client, policy=policy, target=t), targets)))
            result = analyze(metrics=client, policy=policy, target=targets[0])
            assert result.decision.value == "pass", result.summary()
            print(f"{label:30} queries/analysis {result.query_count}   1 analysis {one * 1000:6.1f} ms"
                  f"   {SERVICES} concurrent {many * 1000:6.1f} ms ({many / one:.2f}x)")
        from meshops.rollout import queries

        separate = [queries.measure(name, namespace="bench", workload="svc0-v2", window=WINDOW) for name in queries.MEASURES]
        with ThreadPoolExecutor(max_workers=len(separate)) as pool:
            apart = median_seconds(lambda: list(pool.map(client.query, separate)))
        print(f"{'(built-ins as separate queries)':30} queries/analysis {len(separate)}   1 analysis {apart * 1000:6.1f} ms")
    mesh.stop()


if __name__ == "__main__":
    main()
