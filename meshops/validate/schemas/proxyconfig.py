"""ProxyConfig (networking.istio.io): per-workload proxy settings (worker threads, environment,
image type) that otherwise come from the mesh config (istio.io .../proxy-config/)."""
from __future__ import annotations

from .common import WORKLOAD_SELECTOR
from .dsl import KindSchema, int32, map_of, obj, string

PROXY_CONFIG = KindSchema(
    group="networking.istio.io",
    kind="ProxyConfig",
    plural="proxyconfigs",
    short_names=(),
    versions=("v1beta1",),
    doc="Proxy settings (concurrency, environment variables, image type) for the selected workloads.",
    spec=obj(
        {
            "selector": WORKLOAD_SELECTOR,
            "concurrency": int32(minimum=0, nullable=True),
            "environmentVariables": map_of(string(max_length=2048)),
            "image": obj({"imageType": string()}),
        }
    ),
)
