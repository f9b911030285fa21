"""The shipped Gateway API schemas agree with the upstream standard-channel CRDs (`../shared/gateway-api/`,
test data only).

As for Istio (test_validate_schema_upstream.py), agreement is checked on the CRDs themselves (scope,
served and stored versions, names; every field with every constraint, default and merge type; every
CEL rule, message and text, at the same place) and on documents: good ones are valid with both, each
broken one gets the same findings with both, and every named rule check has a document that breaks
it, so each Python rule function is seen to fire.
"""
from __future__ import annotations

import pytest

from helpers import GATEWAY_API_CRDS
from meshops.model.kinds import GATEWAY_API_GROUP
from meshops.render import render
from meshops.source.repo import open_source
from meshops.validate.schema_checks import check_schemas
from meshops.validate.schemas import SHIPPED_KINDS, SchemaSet, shipped_crds
from meshops.validate.schemas.gatewayapi_rules import GATEWAY_API_CHECKS
from meshops.yamlio.files import read_yaml_documents
from test_validate_schema_checks import manifest, set_path
from test_validate_schema_upstream import _nodes

pytestmark = pytest.mark.skipif(not GATEWAY_API_CRDS.is_dir(),
                                reason=f"upstream Gateway API CRDs not found at {GATEWAY_API_CRDS}")

SHIPPED = SchemaSet.shipped()
KINDS = [kind for kind in SHIPPED_KINDS if kind.group == GATEWAY_API_GROUP]
# Every keyword that changes what an object may be, or how the API server defaults and merges it.
COMPARED_KEYWORDS = (
    "type", "required", "minimum", "maximum", "nullable", "maxLength", "minLength", "pattern", "maxItems", "minItems",
    "maxProperties", "minProperties", "oneOf", "anyOf", "allOf", "enum", "default", "format",
    "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type",
    "x-kubernetes-preserve-unknown-fields",
)


@pytest.fixture(scope="module")
def upstream_crds() -> dict[str, dict]:
    crds = {}
    for path in sorted(GATEWAY_API_CRDS.glob("*.yaml")):
        for document in read_yaml_documents(str(path)):
            crds[document.data["spec"]["names"]["kind"]] = document.data
    return crds


@pytest.fixture(scope="module")
def upstream(upstream_crds) -> SchemaSet:
    return SchemaSet.from_crds(upstream_crds.values(), source="upstream")


def _spec_nodes(schema) -> dict[str, dict]:
    return {path: node for path, node in _nodes(schema["properties"]["spec"], ".spec")}


@pytest.mark.parametrize("kind", KINDS, ids=[k.kind for k in KINDS])
def test_shipped_crd_is_served_like_upstream(upstream_crds, kind):
    ours = next(crd for crd in shipped_crds(GATEWAY_API_GROUP) if crd["spec"]["names"]["kind"] == kind.kind)
    theirs = upstream_crds[kind.kind]
    for field in ("group", "scope"):
        assert ours["spec"][field] == theirs["spec"][field], field
    for field in ("plural", "singular", "listKind", "shortNames", "categories"):
        assert ours["spec"]["names"].get(field) == theirs["spec"]["names"].get(field), field
    served = lambda crd: {v["name"]: (v["storage"], bool(v.get("subresources", {}).get("status") is not None))  # noqa: E731
                          for v in crd["spec"]["versions"] if v["served"]}
    assert served(ours) == served(theirs)
    assert ours["metadata"]["annotations"]["gateway.networking.k8s.io/channel"] == "standard"
    for version in theirs["spec"]["versions"]:
        assert version["schema"]["openAPIV3Schema"].get("required") == ["spec"]
    assert all(v["schema"]["openAPIV3Schema"].get("required") == ["spec"] for v in ours["spec"]["versions"])


@pytest.mark.parametrize("kind", KINDS, ids=[k.kind for k in KINDS])
def test_shipped_kind_declares_the_same_fields_constraints_and_defaults_as_upstream(upstream, kind):
    for version in kind.versions:
        api_version = f"{kind.group}/{version}"
        ours, theirs = _spec_nodes(SHIPPED.schema_for(api_version, kind.kind)), _spec_nodes(upstream.schema_for(api_version, kind.kind))
        assert sorted(set(theirs) - set(ours)) == [], "fields upstream declares and we do not"
        assert sorted(set(ours) - set(theirs)) == [], "fields we declare and upstream does not"
        for path, node in theirs.items():
            for keyword in COMPARED_KEYWORDS:
                assert ours[path].get(keyword) == node.get(keyword), f"{version} {path}: {keyword}"


@pytest.mark.parametrize("kind", KINDS, ids=[k.kind for k in KINDS])
def test_every_upstream_rule_is_shipped_at_the_same_place_with_the_same_text(upstream, kind):
    for version in kind.versions:
        api_version = f"{kind.group}/{version}"
        ours, theirs = _spec_nodes(SHIPPED.schema_for(api_version, kind.kind)), _spec_nodes(upstream.schema_for(api_version, kind.kind))
        for path, node in theirs.items():
            rules = lambda n: sorted((r["message"], r["rule"]) for r in n.get("x-kubernetes-validations") or ())  # noqa: E731
            assert rules(ours[path]) == rules(node), f"{version} {path}"


GOOD_GATEWAY = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: bookinfo}
spec:
  gatewayClassName: istio
  addresses: [{value: 10.0.0.10}, {type: Hostname, value: lb.example.com}]
  infrastructure:
    labels: {team: mesh}
    annotations: {example.com/owner: mesh}
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    hostname: bookinfo.example.com
    allowedRoutes: {namespaces: {from: Same}}
  - name: https
    port: 443
    protocol: HTTPS
    hostname: "*.example.com"
    tls:
      mode: Terminate
      certificateRefs: [{name: wildcard-cert}]
    allowedRoutes:
      namespaces: {from: Selector, selector: {matchLabels: {shared-gateway-access: "true"}}}
      kinds: [{kind: HTTPRoute}, {kind: GRPCRoute}]
"""

GOOD_HTTPROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: bookinfo}
spec:
  parentRefs: [{name: edge, sectionName: https}]
  hostnames: [reviews.example.com]
  rules:
  - name: insiders
    matches:
    - path: {type: PathPrefix, value: /api}
      headers: [{name: x-canary, value: insider}]
      queryParams: [{name: debug, value: "1", type: Exact}]
      method: GET
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-route, value: canary}], remove: [x-legacy]}
    backendRefs: [{name: reviews-v2, port: 9080}]
  - matches: [{path: {type: PathPrefix, value: /}}]
    timeouts: {request: 10s, backendRequest: 2s}
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: reviews-v3, port: 9080}, percent: 10}
    - type: CORS
      cors: {allowOrigins: ["https://example.com"], allowMethods: [GET], allowHeaders: [x-user]}
    backendRefs:
    - {name: reviews-v1, port: 9080, weight: 90}
    - {name: reviews-v2, port: 9080, weight: 10}
  - matches: [{path: {type: Exact, value: /old}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {scheme: https, statusCode: 301, path: {type: ReplaceFullPath, replaceFullPath: /new}}
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}
    backendRefs: [{name: reviews-v1, port: 9080}]
"""

GOOD_MESH_ROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: details, namespace: bookinfo}
spec:
  parentRefs: [{group: "", kind: Service, name: details, port: 9080}]
  rules:
  - backendRefs: [{name: details-v1, port: 9080, weight: 100}]
"""

GOOD_GRPCROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: ratings-grpc, namespace: bookinfo}
spec:
  parentRefs: [{name: edge, sectionName: https}]
  hostnames: [grpc.example.com]
  rules:
  - matches: [{method: {service: ratings.v1.Ratings, method: Get}, headers: [{name: x-user, value: jason}]}]
    filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: x-served-by, value: mesh}]}}]
    backendRefs: [{name: ratings, port: 9090}]
"""

GOOD_REFERENCE_GRANT = """\
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: routes-from-bookinfo, namespace: payments}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: bookinfo}]
  to: [{group: "", kind: Service, name: payments}]
"""

GOOD_GATEWAY_CLASS = """\
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: istio}
spec: {controllerName: istio.io/gateway-controller, description: Istio}
"""

GOOD = (GOOD_GATEWAY, GOOD_HTTPROUTE, GOOD_MESH_ROUTE, GOOD_GRPCROUTE, GOOD_REFERENCE_GRANT, GOOD_GATEWAY_CLASS)


def assert_agree(items, upstream: SchemaSet) -> None:
    for item in items:
        ours = {(f.code, f.path, f.message) for f in check_schemas([item], SHIPPED)}
        theirs = {(f.code, f.path, f.message) for f in check_schemas([item], upstream)}
        assert ours == theirs, f"{item.key}: shipped {sorted(ours)} vs upstream {sorted(theirs)}"


def test_good_documents_are_valid_with_both_at_every_served_version(upstream):
    items = [manifest(text) for text in GOOD]
    for text in GOOD:
        base = manifest(text)
        for version in upstream.served_versions(base.key.group, base.key.kind):
            items.append(manifest(text, lambda o, v=version: o.update(apiVersion=f"{GATEWAY_API_GROUP}/{v}")))
    assert_agree(items, upstream)
    assert check_schemas(items, upstream) == []


def _filter(kind: str, field: str, value) -> dict:
    return {"type": kind, field: value}


HEADERS = {"set": [{"name": "x-a", "value": "1"}]}
CA = {"validation": {"caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": "ca"}]}}
PREFIX_REDIRECT = _filter("RequestRedirect", "requestRedirect", {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/x"}})
PREFIX_REWRITE = _filter("URLRewrite", "urlRewrite", {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/x"}})
TWO_MATCHES = [{"path": {"value": "/a"}}, {"path": {"value": "/b"}}]


def _many_matches(match: dict) -> list[dict]:
    """16 rules of 9 matches: within each list's limit, 144 in all (the limit is 128)."""
    return [{"matches": [match] * 9} for _ in range(16)]


def _path(value: str, kind: str = "PathPrefix"):
    return lambda o: set_path(o, "spec.rules[1].matches", [{"path": {"type": kind, "value": value}}])


def _listener(**fields):
    return lambda o: o["spec"]["listeners"].append(fields)


def _rewrite_path(path: dict):
    return lambda o: set_path(o, "spec.rules[3].filters[0].urlRewrite.path", path)


# Named rule check -> (document, edit that breaks only that rule's condition).
BREAKS_RULE = {
    "unique_ip_addresses": (GOOD_GATEWAY, lambda o: set_path(o, "spec.addresses", [{"value": "10.0.0.1"}, {"type": "IPAddress", "value": "10.0.0.1"}])),
    "unique_hostname_addresses": (GOOD_GATEWAY, lambda o: set_path(o, "spec.addresses", [{"type": "Hostname", "value": "a.example.com"}] * 2)),
    "hostname_address": (GOOD_GATEWAY, lambda o: set_path(o, "spec.addresses", [{"type": "Hostname", "value": "Not_A_Host"}])),
    "annotation_keys": (GOOD_GATEWAY, lambda o: set_path(o, "spec.infrastructure.annotations", {"bad key!": "x"})),
    "annotation_key_prefix": (GOOD_GATEWAY, lambda o: set_path(o, "spec.infrastructure.annotations", {"a" * 253 + "/x": "v"})),
    "label_keys": (GOOD_GATEWAY, lambda o: set_path(o, "spec.infrastructure.labels", {"bad key!": "x"})),
    "label_key_prefix": (GOOD_GATEWAY, lambda o: set_path(o, "spec.infrastructure.labels", {"a" * 253 + "/x": "v"})),
    "no_tls_for_plain_protocols": (GOOD_GATEWAY, lambda o: set_path(o, "spec.listeners[0].tls", {"certificateRefs": [{"name": "c"}]})),
    "https_terminates": (GOOD_GATEWAY, lambda o: set_path(o, "spec.listeners[1].tls.mode", "Passthrough")),
    "tls_has_mode": (GOOD_GATEWAY, _listener(name="tls", port=8443, protocol="TLS")),
    "no_hostname_for_l4": (GOOD_GATEWAY, _listener(name="tcp", port=9000, protocol="TCP", hostname="a.example.com")),
    "unique_listener_names": (GOOD_GATEWAY, _listener(name="http", port=8080, protocol="HTTP")),
    "unique_listener_endpoints": (GOOD_GATEWAY, _listener(name="http-again", port=80, protocol="HTTP", hostname="bookinfo.example.com")),
    "terminate_has_certificates": (GOOD_GATEWAY, lambda o: set_path(o, "spec.listeners[1].tls", {"mode": "Terminate"})),
    "unique_tls_ports": (GOOD_GATEWAY, lambda o: set_path(o, "spec.tls", {"frontend": {"default": CA, "perPort": [{"port": 443, "tls": CA}] * 2}})),
    "section_names_all_or_none": (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.parentRefs", [{"name": "edge", "sectionName": "https"}, {"name": "edge"}])),
    "section_names_unique": (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.parentRefs", [{"name": "edge", "sectionName": "https"}] * 2)),
    "http_match_count": (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.rules", _many_matches({"path": {"value": "/a"}}))),
    "grpc_match_count": (GOOD_GRPCROUTE, lambda o: set_path(o, "spec.rules", _many_matches({"method": {"service": "a.B"}}))),
    "redirect_without_backends": (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.rules[2].backendRefs", [{"name": "reviews-v1", "port": 9080}])),
    "requestRedirect_prefix_needs_one_prefix_match": (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.rules[2].filters", [PREFIX_REDIRECT])),
    "urlRewrite_prefix_needs_one_prefix_match": (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.rules[3].matches", TWO_MATCHES)),
    "backend_requestRedirect_prefix_needs_one_prefix_match": (GOOD_HTTPROUTE, lambda o: o["spec"]["rules"][1].update(
        matches=TWO_MATCHES, backendRefs=[{"name": "reviews-v1", "port": 9080, "filters": [PREFIX_REDIRECT]}])),
    "backend_urlRewrite_prefix_needs_one_prefix_match": (GOOD_HTTPROUTE, lambda o: o["spec"]["rules"][1].update(
        matches=TWO_MATCHES, backendRefs=[{"name": "reviews-v1", "port": 9080, "filters": [PREFIX_REWRITE]}])),
    "service_ref_port": (GOOD_HTTPROUTE, lambda o: o["spec"]["rules"][1]["backendRefs"][0].pop("port")),
    "redirect_or_rewrite": (GOOD_HTTPROUTE, lambda o: o["spec"]["rules"][2]["filters"].append(PREFIX_REWRITE)),
    "cors_headers_wildcard": (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.rules[1].filters[1].cors.allowHeaders", ["*", "x-user"])),
    "cors_methods_wildcard": (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.rules[1].filters[1].cors.allowMethods", ["*", "GET"])),
    "cors_origins_wildcard": (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.rules[1].filters[1].cors.allowOrigins", ["*", "https://a.com"])),
    "mirror_percent_or_fraction": (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.rules[1].filters[0].requestMirror.fraction", {"numerator": 1})),
    "fraction_at_most_one": (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.rules[1].filters[0].requestMirror", {
        "backendRef": {"name": "reviews-v3", "port": 9080}, "fraction": {"numerator": 5, "denominator": 2}})),
    "path_replaceFullPath_for_type": (GOOD_HTTPROUTE, _rewrite_path({"type": "ReplaceFullPath"})),
    "path_type_for_replaceFullPath": (GOOD_HTTPROUTE, _rewrite_path({"type": "ReplacePrefixMatch", "replacePrefixMatch": "/x", "replaceFullPath": "/y"})),
    "path_replacePrefixMatch_for_type": (GOOD_HTTPROUTE, _rewrite_path({"type": "ReplacePrefixMatch"})),
    "path_type_for_replacePrefixMatch": (GOOD_HTTPROUTE, _rewrite_path({"type": "ReplaceFullPath", "replaceFullPath": "/x", "replacePrefixMatch": "/y"})),
    "path_absolute": (GOOD_HTTPROUTE, _path("api")),
    "path_without_//": (GOOD_HTTPROUTE, _path("/a//b")),
    "path_without_/./": (GOOD_HTTPROUTE, _path("/a/./b")),
    "path_without_/../": (GOOD_HTTPROUTE, _path("/a/../b")),
    "path_without_%2f": (GOOD_HTTPROUTE, _path("/a%2fb")),
    "path_without_%2F": (GOOD_HTTPROUTE, _path("/a%2Fb", "Exact")),
    "path_without_#": (GOOD_HTTPROUTE, _path("/a#b")),
    "path_not_ending_/..": (GOOD_HTTPROUTE, _path("/a/..")),
    "path_not_ending_/.": (GOOD_HTTPROUTE, _path("/a/.")),
    "path_type": (GOOD_HTTPROUTE, _path("/a", "Regex")),
    "path_characters": (GOOD_HTTPROUTE, _path("/a b")),
    "backend_timeout_within_request": (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.rules[1].timeouts", {"request": "1s", "backendRequest": "2s"})),
    "grpc_method_named": (GOOD_GRPCROUTE, lambda o: set_path(o, "spec.rules[0].matches[0].method", {"type": "Exact"})),
    "grpc_service_characters": (GOOD_GRPCROUTE, lambda o: set_path(o, "spec.rules[0].matches[0].method.service", "bad-service")),
    "grpc_method_characters": (GOOD_GRPCROUTE, lambda o: set_path(o, "spec.rules[0].matches[0].method.method", "Get-It")),
}
# Every HTTP filter type: its field and a setting for it.
FILTERS = {
    "CORS": ("cors", {"allowOrigins": ["https://a.com"]}),
    "RequestHeaderModifier": ("requestHeaderModifier", HEADERS),
    "ResponseHeaderModifier": ("responseHeaderModifier", HEADERS),
    "RequestMirror": ("requestMirror", {"backendRef": {"name": "m", "port": 80}}),
    "RequestRedirect": ("requestRedirect", {"scheme": "https"}),
    "URLRewrite": ("urlRewrite", {"hostname": "a.example.com"}),
    "ExtensionRef": ("extensionRef", {"group": "example.com", "kind": "Filter", "name": "f"}),
}


def _only_filter(value: dict):
    return lambda o: set_path(o, "spec.rules[0].filters", [value])


for _type, (_field, _value) in FILTERS.items():
    _other = "ResponseHeaderModifier" if _type != "ResponseHeaderModifier" else "RequestHeaderModifier"
    _other_field, _other_value = FILTERS[_other]
    BREAKS_RULE[f"filter_{_field}_for_type"] = (GOOD_HTTPROUTE, _only_filter({"type": _type}))
    BREAKS_RULE[f"filter_{_field}_only_for_type"] = (
        GOOD_HTTPROUTE, _only_filter({"type": _other, _other_field: _other_value, _field: _value}))
    if _type not in ("RequestMirror", "ExtensionRef"):  # the API allows several of these two
        BREAKS_RULE[f"filter_{_type}_once"] = (
            GOOD_HTTPROUTE, lambda o, f=_filter(_type, _field, _value): set_path(o, "spec.rules[0].filters", [f, f]))

# Rules no single object can break: a transition rule compares with the object already stored.
NEEDS_OLD_OBJECT = {"immutable"}


def test_every_gateway_api_rule_has_a_document_that_breaks_it():
    assert sorted({check.name for check in GATEWAY_API_CHECKS} - set(BREAKS_RULE) - NEEDS_OLD_OBJECT) == []


@pytest.mark.parametrize("name", sorted(BREAKS_RULE))
def test_a_document_breaking_a_rule_gets_that_rule_with_both_schema_sets(upstream, name):
    text, edit = BREAKS_RULE[name]
    item = manifest(text, edit)
    message = next(check.message for check in GATEWAY_API_CHECKS if check.name == name)
    assert_agree([item], upstream)
    assert any(f.code == "MSH111" and f.message.endswith(message) for f in check_schemas([item], SHIPPED)), \
        [f.message for f in check_schemas([item], SHIPPED)]


# Structural mistakes (no rule involved): unknown fields, enums, patterns, ranges, required fields, formats.
BROKEN = [
    (GOOD_GATEWAY, lambda o: set_path(o, "spec.listeners[0].hostnames", ["a.example.com"]), "MSH105"),
    (GOOD_GATEWAY, lambda o: set_path(o, "spec.listeners[0].port", 0), "MSH109"),
    (GOOD_GATEWAY, lambda o: o["spec"].pop("gatewayClassName"), "MSH108"),
    (GOOD_GATEWAY, lambda o: set_path(o, "spec.addresses", [{"value": "not-an-ip"}]), "MSH109"),
    (GOOD_GATEWAY, lambda o: set_path(o, "spec.listeners[1].allowedRoutes.namespaces.from", "Everywhere"), "MSH107"),
    (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.rules[1].backendRefs[0].weight", -1), "MSH109"),
    (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.hostnames", ["Reviews.Example.com"]), "MSH109"),
    (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.rules[0].matches[0].headers[0].type", "Prefix"), "MSH107"),
    (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.rules[1].backendRefs[0].subset", "v1"), "MSH105"),
    (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.rules[1].timeouts.request", "10 seconds"), "MSH109"),
    (GOOD_HTTPROUTE, lambda o: set_path(o, "spec.parentRefs[0].namespace", "Bookinfo"), "MSH109"),
    (GOOD_GRPCROUTE, lambda o: set_path(o, "spec.rules[0].filters[0].type", "URLRewrite"), "MSH107"),
    (GOOD_REFERENCE_GRANT, lambda o: set_path(o, "spec.to", []), "MSH109"),
    (GOOD_REFERENCE_GRANT, lambda o: o["spec"]["from"][0].pop("namespace"), "MSH108"),
    (GOOD_GATEWAY_CLASS, lambda o: set_path(o, "spec.controllerName", "istio"), "MSH109"),
]


@pytest.mark.parametrize("text, edit, code", BROKEN, ids=[f"{i}-{code}" for i, (_, _, code) in enumerate(BROKEN)])
def test_structurally_broken_documents_get_the_same_findings_with_both(upstream, text, edit, code):
    item = manifest(text, edit)
    assert_agree([item], upstream)
    assert code in {f.code for f in check_schemas([item], SHIPPED)}


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_rendered_example_environments_agree(example_repo, upstream, environment):
    manifests = render(open_source(example_repo.working_dir), environment).manifests
    routes = [m for m in manifests if m.key.group == GATEWAY_API_GROUP]
    assert routes, "the example repo routes a service through the Gateway API"
    assert_agree(routes, upstream)
    assert check_schemas(routes, upstream) == []
