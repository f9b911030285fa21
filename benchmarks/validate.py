"""Validate benchmark: generated meshes of N services, ~4 objects each, through `validate()`.

    python benchmarks/validate.py [--services 1000 10000] [--repeat 5] [--no-schemas]
    python benchmarks/validate.py --files [--objects 1000 5000 20000]

Each service has a Service, a DestinationRule (two subsets), a VirtualService (header route to the
canary, 90/10 default split) and an AuthorizationPolicy; every namespace of 100 services adds a
Gateway, an ingress VirtualService, a PeerAuthentication and a RequestAuthentication with its
token-requiring policy. One service in a hundred routes to a missing subset, so findings are built
too. Manifests are parsed from YAML text with line maps (as `-f` files are), outside the timing.

Prints, per size, the seconds per 1,000 objects (best of --repeat, one process) for everything
`meshops validate` runs: schema checks against the shipped Istio schemas and the cross-resource
checks (`--no-schemas`: the cross-resource checks alone).
Targets (issue 4): at most 0.5 s per 1,000 objects, and the 10,000-service figure within 1.2x of
the 1,000-service figure (linear: no check may compare objects pairwise).

`--files`: the `validate -f` path as a person runs it on one big file — N small VirtualServices
written to one temporary file, read with `load_manifest_paths` (split into documents, line maps)
and validated, all inside the timing. Targets (issue 13): at most 0.3 s per 1,000 objects, and the
largest size within 1.2x of the smallest.
"""
from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from meshops.model.manifest import FileSource, Manifest
from meshops.validate import validate  # noqa: E402
from meshops.validate.manifest_files import load_manifest_paths  # noqa: E402
from meshops.validate.schemas import SchemaSet  # noqa: E402
from meshops.yamlio.documents import dump_all, load_documents

SERVICES_PER_NAMESPACE = 100


def service_objects(index: int) -> list[dict]:
    name, namespace = f"svc-{index:05d}", f"team-{index // SERVICES_PER_NAMESPACE:03d}"
    canary = "v3" if index % 100 == 99 else "v2"  # one in a hundred: a subset nobody defines (MSH201)
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
         "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 8080}]}},
        {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": {"name": name, "namespace": namespace},
         "spec": {"host": name, "trafficPolicy": {"connectionPool": {"tcp": {"maxConnections": 100}}},
                  "subsets": [{"name": "v1", "labels": {"version": "v1"}}, {"name": "v2", "labels": {"version": "v2"}}]}},
        {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": name, "namespace": namespace},
         "spec": {"hosts": [name], "http": [
             {"name": "beta", "match": [{"headers": {"x-beta": {"exact": "true"}}}],
              "route": [{"destination": {"host": name, "subset": canary}}]},
             {"name": "default", "route": [{"destination": {"host": name, "subset": "v1"}, "weight": 90},
                                           {"destination": {"host": name, "subset": "v2"}, "weight": 10}]},
         ]}},
        {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy", "metadata": {"name": f"{name}-viewer", "namespace": namespace},
         "spec": {"selector": {"matchLabels": {"app": name}}, "action": "ALLOW", "rules": [
             {"from": [{"source": {"principals": [f"cluster.local/ns/{namespace}/sa/frontend"]}}],
              "to": [{"operation": {"methods": ["GET"]}}]}]}},
    ]


def namespace_objects(namespace_index: int) -> list[dict]:
    namespace = f"team-{namespace_index:03d}"
    first = f"svc-{namespace_index * SERVICES_PER_NAMESPACE:05d}"
    host = f"{namespace}.example.com"
    return [
        {"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "public", "namespace": namespace},
         "spec": {"selector": {"istio": "ingressgateway"}, "servers": [
             {"port": {"number": 443, "name": f"https-{namespace}", "protocol": "HTTPS"}, "hosts": [host],
              "tls": {"mode": "SIMPLE", "credentialName": f"{namespace}-cert"}}]}},
        {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "public", "namespace": namespace},
         "spec": {"hosts": [host], "gateways": ["public"], "http": [
             {"match": [{"uri": {"prefix": "/api"}}], "route": [{"destination": {"host": first, "port": {"number": 8080}}}]}]}},
        {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication", "metadata": {"name": "default", "namespace": namespace},
         "spec": {"mtls": {"mode": "STRICT"}}},
        {"apiVersion": "security.istio.io/v1", "kind": "RequestAuthentication", "metadata": {"name": "jwt", "namespace": namespace},
         "spec": {"selector": {"matchLabels": {"app": first}}, "jwtRules": [{"issuer": "issuer.example.com", "jwksUri": "https://issuer.example.com/jwks"}]}},
        {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy", "metadata": {"name": "require-jwt", "namespace": namespace},
         "spec": {"selector": {"matchLabels": {"app": first}}, "action": "DENY", "rules": [{"from": [{"source": {"notRequestPrincipals": ["*"]}}]}]}},
    ]


def generate(services: int) -> list[Manifest]:
    """The mesh as manifests with line maps, as if read from one `-f` file."""
    objects = [obj for index in range(services) for obj in service_objects(index)]
    namespaces = (services + SERVICES_PER_NAMESPACE - 1) // SERVICES_PER_NAMESPACE
    objects += [obj for index in range(namespaces) for obj in namespace_objects(index)]
    text = dump_all(objects)
    return [Manifest(obj=d.data, source=FileSource("mesh.yaml", d)) for d in load_documents(text, filename="mesh.yaml")]


def measure(manifests: list[Manifest], *, repeat: int, schemas) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        findings = validate(manifests, schemas=schemas)
        best = min(best, time.perf_counter() - started)
        count = len(findings)
    return best, count


def small_routes(count: int) -> str:
    """`count` small VirtualServices as one YAML stream (what `kustomize build` prints)."""
    return dump_all({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                     "metadata": {"name": f"route-{index:05d}", "namespace": "shop"},
                     "spec": {"hosts": [f"route-{index:05d}.example.com"],
                              "http": [{"route": [{"destination": {"host": "httpbin.org"}}]}]}}
                    for index in range(count))


def measure_files(sizes: list[int], *, repeat: int, schemas) -> list[float]:
    """Seconds per 1,000 objects of reading one file of each size and validating it (best of `repeat`)."""
    figures = []
    with tempfile.TemporaryDirectory() as directory:
        for size in sizes:
            path = Path(directory) / f"routes-{size}.yaml"
            path.write_text(small_routes(size))
            best = float("inf")
            for _ in range(repeat):
                gc.collect()
                started = time.perf_counter()
                manifests, findings = load_manifest_paths([str(path)])
                findings += validate(manifests, schemas=schemas)
                best = min(best, time.perf_counter() - started)
            figures.append(best / size * 1000)
            print(f"{size:>6} objects in one {path.stat().st_size / 1e6:.1f} MB file  {best:7.3f} s  "
                  f"{figures[-1]:.3f} s per 1,000 objects  ({len(findings)} findings)")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-schemas", action="store_true", help="time the cross-resource checks only (no MSH1xx)")
    parser.add_argument("--files", action="store_true", help="time `validate -f` on one file of --objects VirtualServices")
    parser.add_argument("--objects", type=int, nargs="+", default=[1000, 5000, 20000])
    args = parser.parse_args()
    schemas = None if args.no_schemas else SchemaSet.shipped()
    if args.files:
        figures = measure_files(args.objects, repeat=args.repeat, schemas=schemas)
        print(f"ratio largest/smallest size: {figures[-1] / figures[0]:.2f} (target <= 1.2); "
              f"worst {max(figures):.3f} s per 1,000 objects (target <= 0.3)")
        return
    figures = []
    for services in args.services:
        manifests = generate(services)
        seconds, findings = measure(manifests, repeat=args.repeat, schemas=schemas)
        per_thousand = seconds / len(manifests) * 1000
        figures.append(per_thousand)
        print(f"{services:>6} services  {len(manifests):>6} objects  {seconds:7.3f} s  "
              f"{per_thousand:.3f} s per 1,000 objects  ({findings} findings)")
    if len(figures) > 1:
        print(f"ratio largest/smallest size: {figures[-1] / figures[0]:.2f} (target <= 1.2); "
              f"worst {max(figures):.3f} s per 1,000 objects (target <= 0.5)")


if __name__ == "__main__":
    main()
