"""How long the MSH1xx schema checks take per 1,000 objects, at two sizes (linear, no quadratic step).

Generates N services, each a Service + DestinationRule + VirtualService (3N objects), checks them
with the shipped schemas, and prints seconds per 1,000 objects. Run: `python benchmarks/validate_schema.py`.
"""
from __future__ import annotations

import sys
import time

from meshops.model.errors import Location
from meshops.model.manifest import Manifest
from meshops.validate.schema_checks import check_schemas
from meshops.validate.schemas import SchemaSet


class _NoLines:
    def locate(self, path):
        return [Location("generated.yaml")]


def objects(services: int) -> list[Manifest]:
    generated = []
    for index in range(services):
        name = f"svc-{index}"
        generated += [
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "bench"},
             "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 8080, "targetPort": 8080}]}},
            {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": {"name": name, "namespace": "bench"},
             "spec": {"host": name, "trafficPolicy": {"connectionPool": {"tcp": {"maxConnections": 100, "connectTimeout": "5s"}},
                                                      "outlierDetection": {"consecutive5xxErrors": 5, "interval": "30s"}},
                      "subsets": [{"name": "v1", "labels": {"version": "v1"}}, {"name": "v2", "labels": {"version": "v2"}}]}},
            {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": name, "namespace": "bench"},
             "spec": {"hosts": [name], "http": [
                 {"match": [{"headers": {"end-user": {"exact": "jason"}}}], "route": [{"destination": {"host": name, "subset": "v2"}}]},
                 {"timeout": "10s", "retries": {"attempts": 3, "perTryTimeout": "2s"},
                  "route": [{"destination": {"host": name, "subset": "v1"}, "weight": 90},
                            {"destination": {"host": name, "subset": "v2"}, "weight": 10}]}]}},
        ]
    return [Manifest(obj=obj, source=_NoLines()) for obj in generated]


def measure(services: int, schemas: SchemaSet) -> float:
    manifests = objects(services)
    start = time.perf_counter()
    findings = check_schemas(manifests, schemas)
    elapsed = time.perf_counter() - start
    assert not findings, findings[:3]
    return elapsed / len(manifests) * 1000


def main() -> None:
    schemas = SchemaSet.shipped()
    measure(50, schemas)  # warm-up: compile validators, load core schemas
    sizes = [int(arg) for arg in sys.argv[1:]] or [1000, 10000]
    figures = {size: measure(size, schemas) for size in sizes}
    for size, per_thousand in figures.items():
        print(f"{size:>6} services ({3 * size:>6} objects): {per_thousand:.3f} s per 1,000 objects")
    if len(figures) > 1:
        small, large = figures[sizes[0]], figures[sizes[-1]]
        print(f"ratio {sizes[-1]} / {sizes[0]}: {large / small:.2f}")


if __name__ == "__main__":
    main()
