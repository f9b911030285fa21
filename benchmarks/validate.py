"""Validate benchmark: `meshops validate -f` on one file of N small VirtualServices, parsing included.

    python benchmarks/validate.py [--objects 1000 5000 20000] [--repeat 3] [--services 1000 10000] [--no-schemas]
    python benchmarks/validate.py --files [--objects 1000 5000 20000]     (the `-f` path alone)

1. The `-f` path, as the CLI runs it: read the file, split and parse its documents with line maps,
   check schemas and cross-resource rules, sort the findings and format them as text (stdout not a
   terminal). One VirtualService in ten carries a misspelled field, so findings are built and
   printed too. Prints seconds per 1,000 objects (best of --repeat, one process) and, for the text
   output alone, seconds per 1,000 findings.
2. The mesh (`--services`): generated meshes of ~4 objects per service through `validate()` alone
   (parsing outside the timing), the cross-resource checks' linearity figure of issue 4.

   `--no-schemas`: the cross-resource checks alone (no MSH1xx).

Targets (issue 16): the `-f` path at most 0.3 s per 1,000 objects at 1k, 5k and 20k objects (the
largest/smallest ratio shows it is linear; issue 13 asks for it within 1.2x: read it off the report), text output at most
0.05 s per 1,000 findings. Issue 4: the mesh at most 0.5 s per 1,000 objects, 10k services within
1.2x of 1k.
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
sys.path.insert(0, str(ROOT / "benchmarks"))

from targets import report  # noqa: E402

from meshops.model.manifest import FileSource, Manifest  # noqa: E402
from meshops.validate import sort_findings, validate  # noqa: E402
from meshops.validate.manifest_files import load_manifest_paths  # noqa: E402
from meshops.validate.report import format_text  # noqa: E402
from meshops.validate.schemas import SchemaSet  # noqa: E402
from meshops.yamlio.documents import dump_all, load_documents  # noqa: E402

SERVICES_PER_NAMESPACE = 100
# One VirtualService in this many has a misspelled field (MSH105), so findings are made and printed.
FINDING_EVERY = 10
TARGET_PER_THOUSAND = 0.3
TARGET_TEXT_PER_THOUSAND_FINDINGS = 0.05


def small_virtual_service(index: int) -> dict:
    """About 200 bytes of YAML: 20,000 of them make the 4 MB file of the issue."""
    name = f"vs-{index:05d}"
    route: dict = {"destination": {"host": f"svc-{index:05d}", "subset": "v1"}}
    if index % FINDING_EVERY == FINDING_EVERY - 1:
        route["wieght"] = 100  # misspelled: a finding with a did-you-mean hint
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": name, "namespace": f"team-{index // SERVICES_PER_NAMESPACE:03d}"},
            "spec": {"hosts": [f"svc-{index:05d}"], "http": [{"route": [route], "timeout": "5s"}]}}


def write_file(directory: Path, objects: int) -> Path:
    path = directory / f"virtualservices-{objects}.yaml"
    path.write_text(dump_all(small_virtual_service(index) for index in range(objects)))
    return path


def time_file(path: Path, *, repeat: int, schemas: SchemaSet) -> tuple[float, float, float, int, int]:
    """(best seconds for the whole -f path, its best CPU seconds, best seconds of the text formatting, objects, findings)."""
    best = best_text = best_cpu = float("inf")
    objects = findings_count = 0
    for _ in range(repeat):
        gc.collect()
        started_cpu = time.process_time()
        started = time.perf_counter()
        manifests, findings = load_manifest_paths([str(path)])
        findings = sort_findings(findings + validate(manifests, schemas=schemas))
        formatted = time.perf_counter()
        text = format_text(findings, color=False)
        done = time.perf_counter()
        best = min(best, done - started)
        best_cpu = min(best_cpu, time.process_time() - started_cpu)
        best_text = min(best_text, done - formatted)
        objects, findings_count = len(manifests), len(findings)
        assert text.count("MSH105") == objects // FINDING_EVERY, "every misspelled field is reported"
    return best, best_cpu, best_text, objects, findings_count


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


def generate_mesh(services: int) -> list[Manifest]:
    """The mesh as manifests with line maps, as if read from one `-f` file."""
    objects = [obj for index in range(services) for obj in service_objects(index)]
    namespaces = (services + SERVICES_PER_NAMESPACE - 1) // SERVICES_PER_NAMESPACE
    objects += [obj for index in range(namespaces) for obj in namespace_objects(index)]
    text = dump_all(objects)
    return [Manifest(obj=d.data, source=FileSource("mesh.yaml", d)) for d in load_documents(text, filename="mesh.yaml")]


def time_mesh(manifests: list[Manifest], *, repeat: int, schemas) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        findings = validate(manifests, schemas=schemas)
        best = min(best, time.perf_counter() - started)
        count = len(findings)
    return best, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, nargs="+", default=[1000, 5000, 20000],
                        help="VirtualServices in the one -f file (0 skips this part)")
    parser.add_argument("--services", type=int, nargs="*", default=[1000, 10000], help="mesh sizes (none: skip)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-schemas", action="store_true", help="time the mesh's cross-resource checks only (no MSH1xx)")
    parser.add_argument("--files", action="store_true", help="time the `validate -f` path alone (no mesh)")
    args = parser.parse_args()
    schemas = SchemaSet.shipped()
    per_thousand: list[float] = []
    cpu_per_thousand: list[float] = []
    text_per_thousand: list[float] = []
    with tempfile.TemporaryDirectory(prefix="meshops-validate-") as temp:
        for objects in [n for n in args.objects if n > 0]:
            path = write_file(Path(temp), objects)
            seconds, cpu, text_seconds, count, findings = time_file(path, repeat=args.repeat, schemas=schemas)
            per_thousand.append(seconds / count * 1000)
            cpu_per_thousand.append(cpu / count * 1000)
            text_per_thousand.append(text_seconds / max(findings, 1) * 1000)
            print(f"validate -f {count:>6} objects ({path.stat().st_size / 1e6:.1f} MB, {findings} findings): {seconds:6.3f} s = "
                  f"{per_thousand[-1]:.3f} s per 1,000 objects; text output {text_per_thousand[-1]:.4f} s per 1,000 findings",
                  flush=True)
    if per_thousand:
        for objects, seconds, cpu in zip([n for n in args.objects if n > 0], per_thousand, cpu_per_thousand):
            report(f"validate -f, {objects} objects, s per 1,000 objects", seconds, target=TARGET_PER_THOUSAND, unit=" s",
                   note=f"{cpu:.3f} s CPU")
        report("validate -f, text output, s per 1,000 findings", max(text_per_thousand),
               target=TARGET_TEXT_PER_THOUSAND_FINDINGS, unit=" s")
        if len(per_thousand) > 1:  # linear: no quadratic step (the targets are the per-size figures above)
            report("validate -f, largest/smallest per-object cost", per_thousand[-1] / per_thousand[0], target=None)
    if args.files:
        return
    schemas = None if args.no_schemas else schemas
    figures = []
    for services in args.services:
        manifests = generate_mesh(services)
        seconds, findings = time_mesh(manifests, repeat=args.repeat, schemas=schemas)
        figures.append(seconds / len(manifests) * 1000)
        print(f"mesh {services:>6} services  {len(manifests):>6} objects  {seconds:7.3f} s  "
              f"{figures[-1]:.3f} s per 1,000 objects  ({findings} findings)", flush=True)
    if len(figures) > 1:
        checked = "checks only" if args.no_schemas else "schemas + checks"
        report(f"validate mesh ({checked}), worst s per 1,000 objects", max(figures), target=0.5, unit=" s")
        report("validate mesh, largest/smallest per-object cost", figures[-1] / figures[0], target=1.2)


if __name__ == "__main__":
    main()
