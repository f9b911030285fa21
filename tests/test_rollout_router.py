"""What each router writes for a step: the JSON Patch of a decision and the overlay's copy, on plain dicts.

The live tests (test_rollout_live, test_rollout_stages_live) send these writes to the sandbox; here
the shapes are pinned down: guards first, only the steered rules' destinations change on a weight
step, an A/B rule keeps the steered rule's own matches and adds the headers, a mirror names the
canary, leaving a stage removes what it added (and nothing git wrote), and the overlay's copy of a
live object in a stage is that live object.
"""
from __future__ import annotations

import copy

import yaml

from meshops.rollout.router import HTTP_ROUTE_ROUTER, VIRTUAL_SERVICE_ROUTER
from meshops.rollout.stages import AB, MIRROR, Stage

VIRTUAL_SERVICE = yaml.safe_load("""
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: cart, resourceVersion: "7"}
spec:
  hosts: [cart]
  http:
  - name: api
    match: [{uri: {prefix: /api}}]
    timeout: 2s
    mirror: {host: audit}
    route:
    - {destination: {host: cart, subset: v1}, weight: 100}
    - {destination: {host: cart, subset: v2}, weight: 0}
""")
HTTP_ROUTE = yaml.safe_load("""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cart, resourceVersion: "7"}
spec:
  parentRefs: [{group: "", kind: Service, name: cart, port: 9080}]
  rules:
  - name: api
    matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs:
    - {name: cart-v1, port: 9080, weight: 100}
    - {name: cart-v2, port: 9080, weight: 0}
""")
INSIDERS = ({"headers": {"x-canary": {"exact": "insider"}}}, {"headers": {"cookie": {"regex": "^canary=always$"}}})
AB_STAGE = Stage(kind=AB, canary="v2", match=INSIDERS)


def applied(obj: dict, operations: list[dict]) -> dict:
    """`obj` after the JSON Patch (the few operations routers write), tests checked."""
    import jsonpatch

    return jsonpatch.apply_patch(copy.deepcopy(obj), operations)


def test_a_weight_step_replaces_only_the_steered_routes_after_testing_the_rule_name():
    operations = VIRTUAL_SERVICE_ROUTER.route_ops(VIRTUAL_SERVICE, ("api",), {"v1": 80, "v2": 20})
    assert [op["op"] for op in operations] == ["test", "replace"]
    assert operations[0] == {"op": "test", "path": "/spec/http/0/name", "value": "api"}
    assert operations[1]["path"] == "/spec/http/0/route"
    written = applied(VIRTUAL_SERVICE, operations)
    assert written["spec"]["http"][0]["mirror"] == {"host": "audit"}  # git's own mirror stays


def test_an_ab_step_on_a_virtual_service_inserts_a_rule_with_the_steered_matches_and_the_headers():
    operations = VIRTUAL_SERVICE_ROUTER.route_ops(VIRTUAL_SERVICE, ("api",), {"v1": 100, "v2": 0}, stage=AB_STAGE)
    assert operations[0]["op"] == "test" and operations[-1]["path"] == "/spec/http"
    rules = applied(VIRTUAL_SERVICE, operations)["spec"]["http"]
    assert [rule["name"] for rule in rules] == ["meshops-ab-0", "api"]
    assert rules[0]["match"] == [{"uri": {"prefix": "/api"}, "headers": {"x-canary": {"exact": "insider"}}},
                                 {"uri": {"prefix": "/api"}, "headers": {"cookie": {"regex": "^canary=always$"}}}]
    assert rules[0]["route"] == [{"destination": {"host": "cart", "subset": "v2"}}] and rules[0]["timeout"] == "2s"
    assert "mirror" not in rules[0]  # git's mirror stays on git's rule only
    after = VIRTUAL_SERVICE_ROUTER.route_ops({"metadata": {}, "spec": {"http": rules}}, ("api",), {"v1": 50, "v2": 50})
    assert [rule["name"] for rule in after[-1]["value"]] == ["api"]  # the next weight step removes it


def test_an_ab_step_on_an_http_route_adds_typed_header_matches_before_the_steered_rule():
    operations = HTTP_ROUTE_ROUTER.route_ops(HTTP_ROUTE, ("api",), {"cart-v1": 100, "cart-v2": 0},
                                             stage=Stage(kind=AB, canary="cart-v2", match=INSIDERS))
    rules = applied(HTTP_ROUTE, operations)["spec"]["rules"]
    assert [rule["name"] for rule in rules] == ["meshops-ab-0", "api"]
    assert rules[0]["matches"][0] == {"path": {"type": "PathPrefix", "value": "/api"},
                                      "headers": [{"name": "x-canary", "type": "Exact", "value": "insider"}]}
    assert rules[0]["matches"][1]["headers"] == [{"name": "cookie", "type": "RegularExpression", "value": "^canary=always$"}]
    assert rules[0]["backendRefs"] == [{"name": "cart-v2", "port": 9080, "weight": 100}]


def test_a_mirror_step_mirrors_the_steered_rule_to_the_canary_and_promotion_removes_it():
    stage = Stage(kind=MIRROR, canary="cart-v2", mirror_percent=30)
    mirrored = applied(HTTP_ROUTE, HTTP_ROUTE_ROUTER.route_ops(HTTP_ROUTE, ("api",), {"cart-v1": 100, "cart-v2": 0}, stage=stage))
    rule = mirrored["spec"]["rules"][0]
    assert rule["filters"] == [{"type": "RequestMirror", "requestMirror": {
        "backendRef": {"name": "cart-v2", "port": 9080}, "percent": 30}}]
    assert [(ref["name"], ref["weight"]) for ref in rule["backendRefs"]] == [("cart-v1", 100), ("cart-v2", 0)]
    promoted = applied(mirrored, HTTP_ROUTE_ROUTER.route_ops(mirrored, ("api",), {"cart-v2": 100}))
    assert "filters" not in promoted["spec"]["rules"][0]
    assert promoted["spec"]["rules"][0]["backendRefs"] == [{"name": "cart-v2", "port": 9080, "weight": 100}]
    vs = applied(VIRTUAL_SERVICE, VIRTUAL_SERVICE_ROUTER.route_ops(
        VIRTUAL_SERVICE, ("api",), {"v1": 100, "v2": 0}, stage=Stage(kind=MIRROR, canary="v2", mirror_percent=30)))
    assert vs["spec"]["http"][0]["mirror"] == {"host": "cart", "subset": "v2"}
    assert vs["spec"]["http"][0]["mirrorPercentage"] == {"value": 30.0}


def test_the_overlay_copy_of_a_live_object_in_a_stage_is_that_object():
    for router, obj, canary in ((VIRTUAL_SERVICE_ROUTER, VIRTUAL_SERVICE, "v2"), (HTTP_ROUTE_ROUTER, HTTP_ROUTE, "cart-v2")):
        stage = Stage(kind=AB, canary=canary, match=INSIDERS)
        weights = router.weights(obj, ("api",))
        live = applied(obj, router.route_ops(obj, ("api",), weights, stage=stage))
        assert router.with_weights(obj, ("api",), None, like=live, stage=stage)["spec"] == live["spec"]
        assert router.weights(live, ("api",)) == weights  # the A/B rule is not a steered rule
