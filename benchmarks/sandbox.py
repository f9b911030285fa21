"""How fast the sandbox answers: it must never be what a benchmark of meshops measures.

Targets (issue 3): a LIST of 10,000 objects under 1 s, 1,000 sequential GETs through the official
client under 2 s. The server runs in-process, as in tests (server and client share one interpreter
and its GIL, the worst case). For LISTs the figures separate what the sandbox costs (its answer,
from the request log, and the HTTP transfer) from what the client costs (parsing 7 MB of JSON,
where Python's cyclic GC dominates: the same against a real cluster).

    python benchmarks/sandbox.py [--objects 10000] [--gets 1000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import urllib3
from kubernetes import client, config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meshops.sandbox import SandboxServer  # noqa: E402

def _istio_crds() -> Path:
    """The team's upstream Istio CRDs: $MESHOPS_SHARED_DIR, else a `shared/` folder beside the checkout or a parent."""
    here = Path(__file__).resolve().parent.parent
    candidates = [os.environ.get("MESHOPS_SHARED_DIR")] + [str(folder / "shared") for folder in here.parents]
    for candidate in candidates:
        if candidate and (Path(candidate) / "istio" / "crd-all.gen.yaml").is_file():
            return Path(candidate) / "istio" / "crd-all.gen.yaml"
    return here.parent / "shared" / "istio" / "crd-all.gen.yaml"


ISTIO_CRDS = _istio_crds()
GROUP, VERSION, PLURAL = "networking.istio.io", "v1", "virtualservices"


def virtual_service(index: int) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualService",
            "metadata": {"name": f"svc-{index:05d}", "namespace": "bench", "labels": {"app": f"svc-{index:05d}"}},
            "spec": {"hosts": [f"svc-{index:05d}"], "http": [{"route": [
                {"destination": {"host": f"svc-{index:05d}", "subset": "v1"}, "weight": 90},
                {"destination": {"host": f"svc-{index:05d}", "subset": "v2"}, "weight": 10}]}]}}


def config_map(index: int) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{index:05d}", "namespace": "bench"},
            "data": {"key": "value", "index": str(index)}}


def timed(action: Callable[[], object], repeat: int) -> float:
    """Median wall time of `repeat` runs, in seconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def seed(server: SandboxServer, count: int) -> float:
    from meshops.yamlio.documents import load_documents

    started = time.perf_counter()
    server.install_crds([d.data for d in load_documents(ISTIO_CRDS.read_bytes(), filename=str(ISTIO_CRDS)) if d.data])
    server.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
    for index in range(count):
        server.create(virtual_service(index))
        server.create(config_map(index))
    return time.perf_counter() - started


def run(server: SandboxServer, kubeconfig: Path, *, objects: int, gets: int, repeat: int) -> list[tuple[str, float, str]]:
    api = config.new_client_from_config(config_file=str(kubeconfig))
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    pool = urllib3.PoolManager(headers={"Authorization": api.configuration.api_key["BearerToken"]},
                               ssl_context=server.certificate.client_context())
    list_path = f"/apis/{GROUP}/{VERSION}/namespaces/bench/{PLURAL}"

    def raw_fetch() -> None:
        assert len(pool.request("GET", server.url + list_path).data) > objects * 100

    def custom_list() -> None:
        assert len(custom.list_namespaced_custom_object(GROUP, VERSION, "bench", PLURAL)["items"]) == objects

    def typed_list() -> None:
        assert len(core.list_namespaced_config_map("bench").items) == objects

    def typed_gets() -> None:
        for index in range(gets):
            core.read_namespaced_config_map(f"cm-{index % objects:05d}", "bench")

    def custom_gets() -> None:
        for index in range(gets):
            custom.get_namespaced_custom_object(GROUP, VERSION, "bench", PLURAL, f"svc-{index % objects:05d}")

    def applies() -> None:
        for index in range(gets):
            body = virtual_service(index % objects)
            body["spec"]["http"][0]["route"][0]["weight"] = 80
            body["spec"]["http"][0]["route"][1]["weight"] = 20
            custom.patch_namespaced_custom_object(GROUP, VERSION, "bench", PLURAL, body["metadata"]["name"], body,
                                                  field_manager="bench", force=True,
                                                  _content_type="application/apply-patch+yaml")

    server.log.clear()
    fetch = timed(raw_fetch, repeat)
    answer = statistics.median(e.duration for e in server.log.entries(verb="list"))
    return [
        (f"LIST {objects} VirtualServices: sandbox answer (request log)", answer, "the sandbox's own cost"),
        (f"LIST {objects} VirtualServices: HTTP fetch of the body", fetch, "target < 1 s"),
        (f"LIST {objects} VirtualServices: CustomObjectsApi, parsed", timed(custom_list, repeat), "target < 1 s"),
        (f"LIST {objects} ConfigMaps: CoreV1Api, typed models", timed(typed_list, repeat), "client-side model building"),
        (f"{gets} sequential GETs: CoreV1Api.read_namespaced_config_map", timed(typed_gets, repeat), "target < 2 s"),
        (f"{gets} sequential GETs: CustomObjectsApi", timed(custom_gets, repeat), "target < 2 s"),
        (f"{gets} sequential server-side applies that change weights", timed(applies, 1), "writes"),
        (f"{gets} sequential server-side applies that change nothing", timed(applies, 1), "no-ops"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--gets", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    if not ISTIO_CRDS.is_file():
        sys.exit(f"benchmark needs the upstream Istio CRDs at {ISTIO_CRDS}")
    with tempfile.TemporaryDirectory() as scratch, SandboxServer() as server:
        seeded = seed(server, options.objects)
        kubeconfig = server.write_kubeconfig(Path(scratch) / "kubeconfig")
        rows = run(server, kubeconfig, objects=options.objects, gets=options.gets, repeat=options.repeat)
    print(f"sandbox benchmark: server in-process (shares the GIL with the client); median of {options.repeat} runs")
    print(f"  seeding {options.objects} VirtualServices + {options.objects} ConfigMaps through the write path: {seeded:.2f} s")
    for label, seconds, note in rows:
        print(f"  {label:<66} {seconds:7.3f} s   {note}")


if __name__ == "__main__":
    main()
