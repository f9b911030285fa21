"""The example config repo renders every Istio resource of the seed article, deterministically."""
from __future__ import annotations

import pytest

from helpers import REPO_ROOT
from meshops.render import render
from meshops.source.repo import open_source

ENVIRONMENTS = ("dev", "staging", "prod")


def _objects(environment: str) -> dict[tuple[str, str, str], dict]:
    result = render(open_source(REPO_ROOT), environment)
    return {(m.kind, m.namespace, m.name): m.obj for m in result.manifests}


def _http(obj: dict, name: str) -> dict:
    return next(route for route in obj["spec"]["http"] if route.get("name") == name)


# Each seed resource -> the rendered prod object expressing it, and a predicate on that object.
SEED_RESOURCES = [
    ("bookinfo Gateway (port 80, all hosts)", ("Gateway", "bookinfo", "bookinfo-gateway"),
     lambda o: o["spec"]["servers"][0]["port"]["number"] == 80 and o["spec"]["servers"][0]["hosts"] == ["*"]),
    ("bookinfo VirtualService with URI matches", ("VirtualService", "bookinfo", "bookinfo"),
     lambda o: {"exact": "/productpage"} in [m["uri"] for m in _http(o, "productpage")["match"]]
     and {"prefix": "/api/v1/products"} in [m["uri"] for m in _http(o, "productpage")["match"]]),
    ("reviews routing by end-user header", ("VirtualService", "bookinfo", "reviews"),
     lambda o: _http(o, "jason-to-v2")["match"] == [{"headers": {"end-user": {"exact": "jason"}}}]
     and _http(o, "jason-to-v2")["route"][0]["destination"]["subset"] == "v2"),
    ("ratings fault injection: 7s delay for jason", ("VirtualService", "bookinfo", "ratings"),
     lambda o: _http(o, "jason-delay")["fault"] == {"delay": {"percentage": {"value": 100}, "fixedDelay": "7s"}}),
    ("reviews DestinationRule subsets v1/v2/v3 with per-subset load balancer", ("DestinationRule", "bookinfo", "reviews"),
     lambda o: [s["name"] for s in o["spec"]["subsets"]] == ["v1", "v2", "v3"]
     and o["spec"]["trafficPolicy"]["loadBalancer"]["simple"] == "LEAST_CONN"
     and o["spec"]["subsets"][1]["trafficPolicy"]["loadBalancer"]["simple"] == "ROUND_ROBIN"),
    ("productpage connection pool (corrected keys)", ("DestinationRule", "bookinfo", "productpage"),
     lambda o: "tcpKeepalive" in o["spec"]["trafficPolicy"]["connectionPool"]["tcp"]
     and "consecutiveGatewayErrors" in o["spec"]["trafficPolicy"]["outlierDetection"]
     and "interval" not in o["spec"]["trafficPolicy"]["connectionPool"]["http"]),
    ("httpbin outlier detection", ("DestinationRule", "bookinfo", "httpbin"),
     lambda o: o["spec"]["trafficPolicy"]["outlierDetection"]["baseEjectionTime"] == "3m"),
    ("HTTPS gateway: SIMPLE TLS, credentialName, httpsRedirect", ("Gateway", "bookinfo", "bookinfo-gateway-https"),
     lambda o: o["spec"]["servers"][0]["tls"] == {"mode": "SIMPLE", "credentialName": "bookinfo-secret"}
     and o["spec"]["servers"][1]["tls"] == {"httpsRedirect": True}),
    ("multi-domain gateway with a wildcard host", ("Gateway", "bookinfo", "multi-domain-gateway"),
     lambda o: ["*.example.com"] in [s["hosts"] for s in o["spec"]["servers"]]),
    ("PeerAuthentication STRICT, namespace-wide", ("PeerAuthentication", "bookinfo", "default"),
     lambda o: o["spec"] == {"mtls": {"mode": "STRICT"}}),
    ("PeerAuthentication PERMISSIVE for productpage", ("PeerAuthentication", "bookinfo", "productpage"),
     lambda o: o["spec"]["mtls"]["mode"] == "PERMISSIVE" and o["spec"]["selector"]["matchLabels"] == {"app": "productpage"}),
    ("RequestAuthentication with two JWT rules", ("RequestAuthentication", "bookinfo", "httpbin-jwt"),
     lambda o: [r["issuer"] for r in o["spec"]["jwtRules"]] == ["testing@secure.istio.io", "second-issuer@secure.istio.io"]
     and o["spec"]["jwtRules"][0]["forwardOriginalToken"] is True),
    ("AuthorizationPolicy allow-read as one rule (corrected)", ("AuthorizationPolicy", "bookinfo", "allow-read"),
     lambda o: len(o["spec"]["rules"]) == 1 and {"from", "to", "when"} <= set(o["spec"]["rules"][0])),
    ("AuthorizationPolicy deny-all", ("AuthorizationPolicy", "bookinfo", "deny-all"), lambda o: o["spec"] == {}),
    ("AuthorizationPolicy deny DELETE", ("AuthorizationPolicy", "bookinfo", "deny-delete"),
     lambda o: o["spec"]["action"] == "DENY" and o["spec"]["rules"][0]["to"][0]["operation"]["methods"] == ["DELETE"]),
    ("RBAC admin-access", ("AuthorizationPolicy", "bookinfo", "admin-access"),
     lambda o: len(o["spec"]["rules"]) == 1 and o["spec"]["rules"][0]["from"][0]["source"]["requestPrincipals"] == ["testing@secure.istio.io/admin"]),
    ("RBAC user-access", ("AuthorizationPolicy", "bookinfo", "user-access"),
     lambda o: o["spec"]["rules"][0]["to"][0]["operation"]["methods"] == ["GET", "POST"]),
    ("Telemetry metrics with tag overrides", ("Telemetry", "istio-system", "mesh-default"),
     lambda o: o["spec"]["metrics"][0]["providers"] == [{"name": "prometheus"}]
     and "destination_service_name" in o["spec"]["metrics"][0]["overrides"][0]["tagOverrides"]),
    ("Telemetry tracing sampling", ("Telemetry", "istio-system", "mesh-default"),
     lambda o: o["spec"]["tracing"][0]["randomSamplingPercentage"] == 1.0),
    ("Telemetry access logs", ("Telemetry", "istio-system", "mesh-default"),
     lambda o: o["spec"]["accessLogging"][0]["providers"] == [{"name": "envoy-text"}]),
    ("custom metrics: REQUEST_COUNT override, TCP_OPENED_CONNECTIONS disabled", ("Telemetry", "bookinfo", "namespace-default"),
     lambda o: [x["match"]["metric"] for x in o["spec"]["metrics"][0]["overrides"]] == ["REQUEST_COUNT", "TCP_OPENED_CONNECTIONS"]),
    ("mesh ConfigMap: tracing, extension providers with the access-log formats", ("ConfigMap", "istio-system", "istio"),
     lambda o: "envoyFileAccessLog" in o["data"]["mesh"] and "%START_TIME%" in o["data"]["mesh"]),
]


@pytest.mark.parametrize("description,key,predicate", SEED_RESOURCES, ids=[row[0] for row in SEED_RESOURCES])
def test_each_seed_resource_is_expressed_by_a_rendered_object(description, key, predicate):
    objects = _objects("prod")
    assert key in objects, f"{description}: {key} not rendered"
    assert predicate(objects[key]), f"{description}: {objects[key]}"


def test_the_90_10_canary_split_is_rendered_in_staging():
    reviews = _objects("staging")[("VirtualService", "bookinfo", "reviews")]
    default = _http(reviews, "default")["route"]
    assert [(r["destination"]["subset"], r["weight"]) for r in default] == [("v1", 90), ("v2", 10)]


def test_environments_differ_in_hosts_sampling_mtls_and_canaries():
    dev, staging, prod = (_objects(env) for env in ENVIRONMENTS)
    https = ("Gateway", "bookinfo", "bookinfo-gateway-https")
    assert dev[https]["spec"]["servers"][0]["hosts"] == ["bookinfo.dev.example.com"]
    assert prod[https]["spec"]["servers"][0]["hosts"] == ["bookinfo.example.com"]
    telemetry = ("Telemetry", "istio-system", "mesh-default")
    assert dev[telemetry]["spec"]["tracing"][0]["randomSamplingPercentage"] == 100.0
    assert staging[telemetry]["spec"]["tracing"][0]["randomSamplingPercentage"] == 10.0
    peer = ("PeerAuthentication", "bookinfo", "default")
    assert dev[peer]["spec"]["mtls"]["mode"] == "PERMISSIVE" and prod[peer]["spec"]["mtls"]["mode"] == "STRICT"
    reviews = ("VirtualService", "bookinfo", "reviews")
    assert len(_http(dev[reviews], "default")["route"]) == 2
    assert len(_http(prod[reviews], "default")["route"]) == 1


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_object_carries_the_ownership_labels(environment):
    for obj in _objects(environment).values():
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "meshops"
        assert labels["meshops.dev/environment"] == environment


def test_render_prints_every_required_kind_and_is_byte_for_byte_deterministic(meshops):
    first = meshops("render", "--env", "prod", "--repo", str(REPO_ROOT))
    second = meshops("render", "--env", "prod", "--repo", str(REPO_ROOT))
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    for kind in ("Gateway", "VirtualService", "DestinationRule", "PeerAuthentication", "RequestAuthentication",
                 "AuthorizationPolicy", "Telemetry"):
        assert f"\nkind: {kind}\n" in first.stdout


def test_output_is_sorted_in_apply_order_then_namespace_then_name():
    from meshops.model import kinds

    result = render(open_source(REPO_ROOT), "prod")
    keys = [(kinds.apply_order(m.key.group, m.kind), m.namespace, m.name) for m in result.manifests]
    assert keys == sorted(keys)
    assert result.manifests[0].kind == "Namespace"
    orders = [m.kind for m in result.manifests]
    assert orders.index("DestinationRule") < orders.index("VirtualService")


def test_json_output_is_a_list_of_the_same_objects(meshops):
    import json

    result = meshops("render", "--env", "dev", "--repo", str(REPO_ROOT), "-o", "json")
    assert result.returncode == 0, result.stderr
    objects = json.loads(result.stdout)
    assert len(objects) == len(render(open_source(REPO_ROOT), "dev").manifests)
