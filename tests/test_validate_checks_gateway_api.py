"""MSH23x Gateway API: every check fires on a broken reference, attachment or weight and stays quiet on a good one."""
from __future__ import annotations

WORLD = """
apiVersion: v1
kind: Namespace
metadata: {name: bookinfo, labels: {shared-gateway-access: "true"}}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Service
metadata: {name: reviews-v1, namespace: bookinfo}
spec: {selector: {app: reviews, version: v1}, ports: [{name: http, port: 9080}]}
---
apiVersion: v1
kind: Service
metadata: {name: reviews-v2, namespace: bookinfo}
spec: {selector: {app: reviews, version: v2}, ports: [{name: http, port: 9080}]}
---
apiVersion: v1
kind: Service
metadata: {name: details, namespace: bookinfo}
spec: {selector: {app: details}, ports: [{name: http, port: 9080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: bookinfo}
spec:
  gatewayClassName: istio
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    hostname: bookinfo.example.com
  - name: https
    port: 443
    protocol: HTTPS
    hostname: "*.example.com"
    tls: {certificateRefs: [{name: wildcard-cert}]}
    allowedRoutes:
      namespaces: {from: Selector, selector: {matchLabels: {shared-gateway-access: "true"}}}
      kinds: [{kind: HTTPRoute}]
"""


def route(*, parent: str = "{name: edge, sectionName: https}", hostnames: str = "[reviews.example.com]",
          backends: str = "[{name: reviews-v1, port: 9080}]", namespace: str = "bookinfo", kind: str = "HTTPRoute",
          name: str = "reviews") -> str:
    return f"""
---
apiVersion: gateway.networking.k8s.io/v1
kind: {kind}
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  parentRefs: [{parent}]
  hostnames: {hostnames}
  rules:
  - backendRefs: {backends}
"""


MESH_ROUTE = """
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: details, namespace: bookinfo}
spec:
  parentRefs: [{group: "", kind: Service, name: details, port: 9080}]
  rules:
  - backendRefs: [{name: reviews-v1, port: 9080}]
"""

PAYMENTS = """
---
apiVersion: v1
kind: Service
metadata: {name: payments, namespace: payments}
spec: {selector: {app: payments}, ports: [{name: http, port: 8080}]}
"""


def grant(*, kind: str = "HTTPRoute", to_kind: str = "Service", name: str = "payments", namespace: str = "payments",
          source: str = "bookinfo") -> str:
    return f"""
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {{name: from-{source}-{kind.lower()}, namespace: {namespace}}}
spec:
  from: [{{group: gateway.networking.k8s.io, kind: {kind}, namespace: {source}}}]
  to: [{{group: "", kind: {to_kind}, name: {name}}}]
"""


def only(findings, code):
    return [f for f in findings if f.code == code]


def not_info(findings):
    """Findings that matter here (the v1beta1 ReferenceGrant's MSH402 deprecation note is beside the point)."""
    return [f for f in findings if f.severity.value != "info"]


def test_a_good_route_on_its_gateway_is_quiet(validate_yaml):
    assert validate_yaml(WORLD + route()) == []


def test_a_good_mesh_route_on_its_service_is_quiet(validate_yaml):
    assert validate_yaml(WORLD + MESH_ROUTE) == []


# -- MSH230/MSH231: backends ----------------------------------------------------------------------------


def test_backend_service_that_does_not_exist_is_an_error_at_its_name_with_a_guess(validate_yaml):
    text = WORLD + route(backends="[{name: reviews-v3, port: 9080}]")
    [finding] = only(validate_yaml(text), "MSH230")
    assert finding.severity.value == "error"
    assert finding.json_path == ".spec.rules[0].backendRefs[0].name"
    assert finding.location.line == text.splitlines().index("  - backendRefs: [{name: reviews-v3, port: 9080}]") + 1
    assert "'reviews-v1'" in finding.message or "'reviews-v2'" in finding.message


def test_mirror_backend_that_does_not_exist_is_an_error(validate_yaml):
    text = WORLD + route() + "    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: shadow, port: 9080}}}]\n"
    [finding] = only(validate_yaml(text), "MSH230")
    assert finding.json_path == ".spec.rules[0].filters[0].requestMirror.backendRef.name"


def test_backend_in_a_namespace_nothing_was_seen_of_is_only_info(validate_yaml):
    findings = validate_yaml(WORLD + route(backends="[{name: api, namespace: elsewhere, port: 80}]") + grant(namespace="elsewhere", name="api"))
    assert [f.code for f in findings] == ["MSH204", "MSH402"]
    assert "Service elsewhere/api" in findings[0].message


def test_backend_port_the_service_does_not_have_is_an_error(validate_yaml):
    [finding] = only(validate_yaml(WORLD + route(backends="[{name: reviews-v1, port: 8080}]")), "MSH231")
    assert finding.json_path == ".spec.rules[0].backendRefs[0].port" and "ports: 9080" in finding.message


def test_backend_on_the_service_port_is_quiet(validate_yaml):
    assert only(validate_yaml(WORLD + route(backends="[{name: reviews-v1, port: 9080}]")), "MSH231") == []


# -- MSH232/MSH233: parents ------------------------------------------------------------------------------


def test_parent_gateway_that_does_not_exist_is_an_error_with_a_guess(validate_yaml):
    [finding] = only(validate_yaml(WORLD + route(parent="{name: egde}")), "MSH232")
    assert finding.json_path == ".spec.parentRefs[0].name" and "did you mean 'edge'" in finding.message


def test_parent_gateway_of_a_namespace_nothing_was_seen_of_is_only_info(validate_yaml):
    findings = validate_yaml(WORLD + route(parent="{name: shared, namespace: infra}"))
    assert [f.code for f in findings] == ["MSH204"] and "Gateway infra/shared" in findings[0].message


def test_parent_service_that_does_not_exist_is_an_error(validate_yaml):
    text = WORLD + MESH_ROUTE.replace("name: details, port", "name: detail, port")
    [finding] = only(validate_yaml(text), "MSH232")
    assert "Service detail" in finding.message and "did you mean 'details'" in finding.message


def test_parent_service_port_the_service_does_not_have_is_an_error(validate_yaml):
    [finding] = only(validate_yaml(WORLD + MESH_ROUTE.replace("port: 9080}]\n  rules", "port: 80}]\n  rules")), "MSH231")
    assert finding.json_path == ".spec.parentRefs[0].port"


def test_section_name_no_listener_has_is_an_error_listing_the_listeners(validate_yaml):
    [finding] = only(validate_yaml(WORLD + route(parent="{name: edge, sectionName: http2}")), "MSH233")
    assert finding.json_path == ".spec.parentRefs[0].sectionName"
    assert "http (port 80), https (port 443)" in finding.message


def test_port_no_listener_has_is_an_error(validate_yaml):
    [finding] = only(validate_yaml(WORLD + route(parent="{name: edge, port: 8443}")), "MSH233")
    assert finding.json_path == ".spec.parentRefs[0].port"


def test_section_name_of_a_service_parent_must_name_a_port(validate_yaml):
    text = WORLD + MESH_ROUTE.replace("port: 9080}]\n  rules", "sectionName: grpc}]\n  rules")
    [finding] = only(validate_yaml(text), "MSH233")
    assert "no port named 'grpc'" in finding.message


def test_section_name_of_an_existing_listener_is_quiet(validate_yaml):
    assert only(validate_yaml(WORLD + route(parent="{name: edge, sectionName: https}")), "MSH233") == []


# -- MSH234: ReferenceGrants --------------------------------------------------------------------------------


def test_backend_in_another_namespace_without_a_grant_is_an_error(validate_yaml):
    text = WORLD + PAYMENTS + grant(kind="GRPCRoute") + route(backends="[{name: payments, namespace: payments, port: 8080}]")
    [finding] = only(validate_yaml(text), "MSH234")
    assert finding.json_path == ".spec.rules[0].backendRefs[0].namespace"
    assert "no ReferenceGrant in namespace 'payments' allows HTTPRoutes from 'bookinfo'" in finding.message


def test_backend_in_another_namespace_with_a_grant_for_another_service_is_an_error(validate_yaml):
    text = WORLD + PAYMENTS + grant(name="ledger") + route(backends="[{name: payments, namespace: payments, port: 8080}]")
    assert len(only(validate_yaml(text), "MSH234")) == 1


def test_backend_in_another_namespace_with_a_grant_is_quiet(validate_yaml):
    text = WORLD + PAYMENTS + grant() + route(backends="[{name: payments, namespace: payments, port: 8080}]")
    assert not_info(validate_yaml(text)) == []


def test_grant_without_a_name_allows_every_service_of_its_namespace(validate_yaml):
    text = WORLD + PAYMENTS + grant().replace(", name: payments}", "}") + route(
        backends="[{name: payments, namespace: payments, port: 8080}]")
    assert not_info(validate_yaml(text)) == []


def test_gateway_certificate_in_another_namespace_needs_a_grant(validate_yaml):
    world = WORLD.replace("certificateRefs: [{name: wildcard-cert}]", "certificateRefs: [{name: wildcard-cert, namespace: certs}]")
    [finding] = only(validate_yaml(world + grant(kind="Gateway", to_kind="Secret", name="other", namespace="certs")), "MSH234")
    assert finding.json_path == ".spec.listeners[1].tls.certificateRefs[0]"
    granted = world + grant(kind="Gateway", to_kind="Secret", name="wildcard-cert", namespace="certs")
    assert only(validate_yaml(granted), "MSH234") == []


# -- MSH235: listeners admit routes ---------------------------------------------------------------------------


def test_route_from_another_namespace_on_a_same_namespace_listener_is_not_admitted(validate_yaml):
    text = WORLD + route(parent="{name: edge, namespace: bookinfo, sectionName: http}", hostnames="[bookinfo.example.com]",
                         namespace="shop", backends="[]")
    [finding] = only(validate_yaml(text), "MSH235")
    assert "http admits routes from its own namespace 'bookinfo' only" in finding.message


def test_route_from_a_namespace_without_the_selected_label_is_not_admitted(validate_yaml):
    text = WORLD + route(parent="{name: edge, namespace: bookinfo, sectionName: https}", namespace="shop", backends="[]")
    [finding] = only(validate_yaml(text), "MSH235")
    assert "namespaces labelled shared-gateway-access=true only" in finding.message


def test_route_from_a_labelled_namespace_is_admitted(validate_yaml):
    labelled = WORLD.replace("metadata: {name: shop}", "metadata: {name: shop, labels: {shared-gateway-access: 'true'}}")
    text = labelled + route(parent="{name: edge, namespace: bookinfo, sectionName: https}", namespace="shop", backends="[]")
    assert only(validate_yaml(text), "MSH235") == []


def test_route_kind_the_listener_does_not_take_is_not_admitted(validate_yaml):
    [finding] = only(validate_yaml(WORLD + route(kind="GRPCRoute")), "MSH235")
    assert "https takes HTTPRoute only" in finding.message


def test_route_of_a_namespace_whose_labels_are_unknown_is_not_judged(validate_yaml):
    text = WORLD + route(parent="{name: edge, namespace: bookinfo, sectionName: https}", namespace="unlisted", backends="[]")
    assert only(validate_yaml(text), "MSH235") == []


# -- MSH236: weights --------------------------------------------------------------------------------------------


def test_backends_all_at_weight_zero_are_an_error(validate_yaml):
    text = WORLD + route(backends="[{name: reviews-v1, port: 9080, weight: 0}, {name: reviews-v2, port: 9080, weight: 0}]")
    [finding] = only(validate_yaml(text), "MSH236")
    assert finding.json_path == ".spec.rules[0].backendRefs" and "500" in finding.message


def test_backends_with_one_positive_or_default_weight_are_quiet(validate_yaml):
    text = WORLD + route(backends="[{name: reviews-v1, port: 9080, weight: 0}, {name: reviews-v2, port: 9080}]")
    assert only(validate_yaml(text), "MSH236") == []


# -- MSH237/MSH238: hostnames -------------------------------------------------------------------------------------


def test_route_whose_hostnames_no_listener_accepts_is_an_error(validate_yaml):
    [finding] = only(validate_yaml(WORLD + route(hostnames="[reviews.example.org]")), "MSH237")
    assert finding.json_path == ".spec.hostnames" and "*.example.com" in finding.message


def test_route_with_one_unaccepted_hostname_gets_a_warning_on_it(validate_yaml):
    findings = validate_yaml(WORLD + route(hostnames="[reviews.example.com, example.com]"))
    assert only(findings, "MSH237") == []
    [finding] = only(findings, "MSH238")
    assert finding.severity.value == "warning" and finding.json_path == ".spec.hostnames[1]"


def test_wildcard_hostnames_meet_in_both_directions(validate_yaml):
    assert only(validate_yaml(WORLD + route(hostnames="['*.shop.example.com']")), "MSH237") == []
    text = WORLD + route(parent="{name: edge, sectionName: http}", hostnames="['*.example.com']")
    assert only(validate_yaml(text), "MSH237") == []


# -- MSH239/MSH240: Gateways ----------------------------------------------------------------------------------------


def test_https_listener_without_tls_is_an_error(validate_yaml):
    text = WORLD.replace("    tls: {certificateRefs: [{name: wildcard-cert}]}\n", "")
    [finding] = only(validate_yaml(text), "MSH239")
    assert finding.json_path == ".spec.listeners[1]"


def test_gateway_class_the_cluster_does_not_have_is_an_error(validate_yaml):
    text = WORLD.replace("gatewayClassName: istio", "gatewayClassName: isito")
    [finding] = only(validate_yaml(text, live=[]), "MSH240")
    assert "did you mean 'istio'" in finding.message


def test_gateway_class_is_only_info_offline_unless_it_is_istios_or_rendered(validate_yaml):
    text = WORLD.replace("gatewayClassName: istio", "gatewayClassName: envoy")
    assert [f.code for f in validate_yaml(text)] == ["MSH204"]
    rendered_class = "\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: envoy}\n" \
                     "spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}\n"
    assert validate_yaml(text + rendered_class) == []


def test_gateway_class_of_the_cluster_is_quiet(validate_yaml):
    live_class = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "envoy"},
                  "spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"}}
    text = WORLD.replace("gatewayClassName: istio", "gatewayClassName: envoy")
    assert only(validate_yaml(text, live=[live_class]), "MSH240") == []


# -- MSH241: one Service, two routers ----------------------------------------------------------------------------------


def test_service_routed_by_a_mesh_route_and_a_virtual_service_is_a_warning(validate_yaml):
    virtual_service = """
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: details, namespace: bookinfo}
spec:
  hosts: [details]
  http: [{route: [{destination: {host: details}}]}]
"""
    [finding] = only(validate_yaml(WORLD + MESH_ROUTE + virtual_service), "MSH241")
    assert "VirtualService bookinfo/details" in finding.message and finding.json_path == ".spec.parentRefs[0]"


# -- live objects answer questions ------------------------------------------------------------------------------------


def test_a_gateway_read_from_the_cluster_is_a_parent_the_route_can_name(validate_yaml):
    from meshops.yamlio.documents import load_documents

    live = [d.data for d in load_documents(WORLD, filename="live.yaml")]
    assert validate_yaml(route(), live=live) == []
    [finding] = only(validate_yaml(route(parent="{name: edge, sectionName: tcp}"), live=live), "MSH233")
    assert "Gateway bookinfo/edge" in finding.message
