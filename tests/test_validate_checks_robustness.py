"""The cross-resource checks never crash on wrongly typed fields: schema checks report those.

Every field of a mesh that uses every feature the checks read is replaced, one at a time, by values
of the wrong type; validate must still return findings (no exception), with a live cluster given.
"""
from __future__ import annotations

import pytest

from helpers import replaced
from meshops.source.envconfig import EnvConfig
from meshops.model.manifest import FileSource, Manifest
from meshops.model.readscope import LiveScope
from meshops.validate import validate
from meshops.yamlio.documents import load_documents, load_one

EVERY_FEATURE = """
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo, annotations: {networking.istio.io/exportTo: ".,shop"}}
spec: {selector: {app: reviews}, ports: [{name: http, port: 9080}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: bookinfo}
spec: {hosts: ["*.example.com", api.other.com], exportTo: ["*"], ports: [{number: 443, name: tls, protocol: TLS}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: bookinfo, annotations: {meshops.dev/suppress: "MSH301: reason"}}
spec:
  host: reviews
  exportTo: ["."]
  trafficPolicy:
    tls: {mode: DISABLE}
    portLevelSettings: [{port: {number: 80}, tls: {mode: DISABLE}}]
  subsets:
  - {name: v1, labels: {version: v1}, trafficPolicy: {tls: {mode: DISABLE}, portLevelSettings: [{tls: {mode: DISABLE}}]}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: bookinfo}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    tls: {mode: MUTUAL, serverCertificate: a, privateKey: b}
    hosts: ["./a.example.com", "shop/*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews, a.example.com]
  gateways: [gw, mesh, istio-system/none]
  exportTo: ["."]
  http:
  - match: [{uri: {prefix: /a}, headers: {"@request.auth.claims.x": {exact: y}}, gateways: [gw], sourceLabels: {a: b}, queryParams: {q: {regex: "x.*"}}, withoutHeaders: {h: {}}}]
    route: [{destination: {host: reviews, subset: v1}, weight: 50}, {destination: {host: reviews, subset: v3}, weight: 60}]
    mirror: {host: api.example.com}
    mirrors: [{destination: {host: nowhere.example.org}}]
  - match: [{uri: {regex: "/a.*"}}]
    route: [{destination: {host: reviews.bookinfo, subset: v2}}]
  - route: [{destination: {host: reviews}}]
  - match: [{uri: {exact: /b}}]
    route: [{destination: {host: reviews}}]
  tcp:
  - route: [{destination: {host: reviews, subset: v1}, weight: 0}, {destination: {host: reviews, subset: v2}, weight: 0}]
  tls:
  - match: [{gateways: [gw]}]
    route: [{destination: {host: reviews, subset: v9}}]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: reviews, namespace: bookinfo}
spec: {selector: {matchLabels: {app: reviews}}, mtls: {mode: UNSET}, portLevelMtls: {"80": {mode: DISABLE}}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ap, namespace: bookinfo}
spec:
  selector: {matchLabels: {app: reviews}}
  rules:
  - from: [{source: {principals: [sleep, "*"], notPrincipals: ["spiffe://x"], requestPrincipals: ["*"]}}]
  - to: [{operation: {methods: [GET]}}]
    when: [{key: a, values: [b]}]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: ra, namespace: bookinfo}
spec:
  selector: {matchLabels: {app: reviews, version: v1}}
  jwtRules: [{issuer: x, jwksUri: "http://x"}]
---
apiVersion: telemetry.istio.io/v1alpha1
kind: Telemetry
metadata: {name: t, namespace: istio-system}
spec:
  metrics: [{overrides: [{tagOverrides: {a: {value: "{{.x}}"}}}]}]
  tracing: [{randomSamplingPercentage: 100}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: t2, namespace: istio-system}
spec: {}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    defaultConfig: {tracing: {sampling: 100}}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: s, namespace: bookinfo}
spec: {workloadSelector: {labels: {app: reviews}}, outboundTrafficPolicy: {egressProxy: {host: x}}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: tls, namespace: bookinfo}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8443, name: https, protocol: HTTPS}, tls: {mode: MUTUAL, credentialName: cert}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: bookinfo}
spec: {hosts: [db.example.com], ports: [{number: 5432, name: pg, protocol: TCP}], workloadSelector: {labels: {app: db}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db, namespace: bookinfo}
spec: {host: db.example.com, trafficPolicy: {tls: {mode: SIMPLE}, loadBalancer: {warmupDurationSecs: 10s}}}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {edge: "yes"}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: envoy}
spec: {controllerName: example.com/envoy}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: bookinfo}
spec:
  gatewayClassName: nginx
  listeners:
  - {name: http, port: 80, protocol: HTTP, hostname: "*.example.com", allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {edge: "yes"}}}, kinds: [{kind: HTTPRoute}]}}
  - {name: https, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: cert, namespace: certs}]}}
  - {name: web, port: 8443, protocol: HTTPS}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: from-shop, namespace: bookinfo}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop}]
  to: [{group: "", kind: Service, name: reviews}, {group: "", kind: Service}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: shop}
spec:
  parentRefs: [{name: edge, namespace: bookinfo, sectionName: http}, {name: edge, namespace: bookinfo, port: 9}, {group: "", kind: Service, name: reviews, namespace: bookinfo, port: 80}, {name: gone}]
  hostnames: [a.example.com, other.org]
  rules:
  - backendRefs: [{name: reviews, namespace: bookinfo, port: 80, weight: 0, filters: [{type: RequestMirror, requestMirror: {backendRef: {name: shadow, port: 80}}}]}, {name: ratings, namespace: bookinfo, weight: 0}]
    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: reviews, namespace: bookinfo, port: 80}}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: grpc, namespace: bookinfo}
spec:
  parentRefs: [{name: edge, sectionName: http}, {group: "", kind: Service, name: reviews, sectionName: grpc}]
  hostnames: ["*.example.com"]
  rules: [{backendRefs: [{name: reviews, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: lost, namespace: shop}
spec:
  parentRefs: [{name: edge, namespace: bookinfo, sectionName: http}]
  hostnames: [nowhere.org]
"""

LIVE = [
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "bookinfo", "labels": {"app": "reviews", "version": "v1"}}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ratings", "namespace": "bookinfo"}, "spec": {"selector": {"app": "ratings"}}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "gw", "namespace": "istio-system", "labels": {"istio": "ingressgateway"}}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system"},
     "spec": {"selector": {"istio": "ingressgateway"}, "ports": [{"port": 443}]}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cert", "namespace": "istio-system"}, "data": {"tls.crt": ""}},
]
# Every pod was read, and the Secrets of the gateway's namespace: the workload checks all run.
SCOPE = LiveScope(pods_everywhere=True, secret_namespaces=frozenset({"istio-system"}))
WRONG_VALUES = [None, 7, -1, "x", "*", [], {}, ["x"], {"a": 1}, True]


def field_paths(node, prefix=()):
    if prefix:
        yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from field_paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from field_paths(value, prefix + (index,))


def production() -> EnvConfig:
    document = load_one("production: true\\n", filename="meshops.yaml")
    return EnvConfig(name="prod", file="meshops.yaml", data=document.data, document=document)


MANIFESTS = [Manifest(obj=d.data, source=FileSource("mesh.yaml", d)) for d in load_documents(EVERY_FEATURE, filename="mesh.yaml")]


def test_the_feature_mesh_exercises_every_family_of_checks():
    codes = {f.code for f in validate(MANIFESTS, config=production(), live=LIVE, read_scope=SCOPE)}
    assert {code[:4] for code in codes} >= {"MSH2", "MSH3", "MSH4"}
    assert {"MSH221", "MSH223", "MSH224", "MSH228", "MSH307", "MSH405"} <= codes
    assert {"MSH230", "MSH231", "MSH232", "MSH233", "MSH234", "MSH235", "MSH236", "MSH237", "MSH238", "MSH239",
            "MSH240", "MSH241"} <= codes


@pytest.mark.parametrize("index", range(len(MANIFESTS)), ids=[str(m.key) for m in MANIFESTS])
def test_wrongly_typed_fields_never_crash_the_checks(index):
    manifest = MANIFESTS[index]
    config = production()
    for path in field_paths(manifest.obj):
        if path[0] in ("apiVersion", "kind"):
            continue
        for value in WRONG_VALUES:
            mutated = Manifest(obj=replaced(manifest.obj, path, value), source=manifest.source)
            manifests = MANIFESTS[:index] + [mutated] + MANIFESTS[index + 1:]
            findings = validate(manifests, config=config, live=LIVE, read_scope=SCOPE)
            assert all(f.code.startswith("MSH") for f in findings), (path, value)
