"""The extensions.istio.io kinds: WasmPlugin (a Wasm module in the proxies of the selected
workloads) and TrafficExtension (a Wasm module or inline Lua code), istio.io .../wasm-plugin/.
Both share how a module is fetched and configured, and which traffic it sees (`match`)."""
from __future__ import annotations

from .common import POLICY_TARGET_REFERENCE, TARGETING, WORKLOAD_SELECTOR
from .dsl import PRESERVE, KindSchema, array, enum, int32, integer, obj, string

_TRAFFIC_SELECTOR = obj(
    {
        "mode": enum("UNDEFINED", "CLIENT", "SERVER", "CLIENT_AND_SERVER"),
        "ports": array(obj({"number": integer(minimum=1, maximum=65535)}, required=["number"]), list_type="map", map_keys=("number",)),
    }
)
MATCH = array(_TRAFFIC_SELECTOR)

VM_CONFIG = obj(
    {
        "env": array(
            obj(
                {"name": string(min_length=1, max_length=256), "value": string(max_length=2048),
                 "valueFrom": enum("INLINE", "HOST")},
                required=["name"],
                checks=("env_value_only_inline",),
            ),
            max_items=256,
            list_type="map", map_keys=("name",),
        )
    }
)

# How a Wasm module is fetched, verified and configured.
MODULE = {
    "url": string(min_length=1, checks=("wasm_url_scheme",)),
    "sha256": string(pattern="(^$|^[a-f0-9]{64}$)"),
    "imagePullPolicy": enum("UNSPECIFIED_POLICY", "IfNotPresent", "Always"),
    "imagePullSecret": string(min_length=1, max_length=253),
    "verificationKey": string(),
    "pluginConfig": dict(PRESERVE),
    "pluginName": string(min_length=1, max_length=256),
    "failStrategy": enum("FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"),
    "vmConfig": VM_CONFIG,
    "type": enum("UNSPECIFIED_PLUGIN_TYPE", "HTTP", "NETWORK"),
}

_PRIORITY = int32(nullable=True)

WASM_PLUGIN = KindSchema(
    group="extensions.istio.io",
    kind="WasmPlugin",
    plural="wasmplugins",
    short_names=(),
    versions=("v1alpha1",),
    doc="Runs a WebAssembly module in the proxies of the selected workloads.",
    spec=obj(
        {
            **TARGETING,
            **MODULE,
            "phase": enum("UNSPECIFIED_PHASE", "AUTHN", "AUTHZ", "STATS"),
            "priority": _PRIORITY,
            "match": MATCH,
        },
        required=["url"],
        checks=("target_or_selector",),
    ),
    spec_required=True,
)

TRAFFIC_EXTENSION = KindSchema(
    group="extensions.istio.io",
    kind="TrafficExtension",
    plural="trafficextensions",
    short_names=(),
    versions=("v1alpha1",),
    doc="Runs a WebAssembly module or inline Lua code in the proxies of the selected workloads.",
    spec=obj(
        {
            "selector": WORKLOAD_SELECTOR,
            "targetRefs": array(POLICY_TARGET_REFERENCE, max_items=16),
            "phase": enum("UNSPECIFIED", "AUTHN", "AUTHZ", "STATS"),
            "priority": _PRIORITY,
            "match": MATCH,
            "wasm": obj(MODULE, required=["url"]),
            "lua": obj({"inlineCode": string(min_length=1, max_length=65536)}, required=["inlineCode"]),
        },
        oneof=[("wasm", "lua")],
        checks=("target_refs_or_selector", "wasm_or_lua"),
    ),
    spec_required=True,
)
