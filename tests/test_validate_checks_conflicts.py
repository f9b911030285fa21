"""MSH2xx conflicts: several objects claiming one host, one server, one namespace default."""
from __future__ import annotations

SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo}
spec: {selector: {app: reviews}}
"""


def virtual_service(name: str, *, host: str = "reviews", namespace: str = "bookinfo", extra: str = "") -> str:
    return f"""
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  hosts: [{host}]{extra}
  http:
  - route: [{{destination: {{host: reviews.bookinfo.svc.cluster.local}}}}]
"""


def test_two_virtual_services_for_one_host_on_the_mesh_are_an_error_on_both(validate_yaml):
    text = SERVICE + virtual_service("reviews") + virtual_service("reviews-canary", host="reviews.bookinfo.svc.cluster.local")
    findings = validate_yaml(text)
    assert sorted((f.code, f.object.name) for f in findings) == [("MSH208", "reviews"), ("MSH208", "reviews-canary")]
    assert all(f.severity.value == "error" and f.json_path == ".spec.hosts[0]" for f in findings)


def test_virtual_services_exported_to_disjoint_namespaces_do_not_conflict(validate_yaml):
    text = (
        SERVICE
        + virtual_service("reviews", extra="\n  exportTo: ['.']")
        + virtual_service("reviews-for-shop", namespace="shop", host="reviews.bookinfo.svc.cluster.local", extra="\n  exportTo: ['.']")
    )
    assert validate_yaml(text) == []


def test_same_host_on_the_mesh_and_on_a_gateway_is_quiet(validate_yaml):
    text = SERVICE + virtual_service("reviews") + virtual_service("reviews-edge", extra="\n  gateways: [istio-system/public]")
    assert [f.code for f in validate_yaml(text) if f.code != "MSH204"] == []


def test_two_virtual_services_for_one_host_on_one_gateway_are_a_warning(validate_yaml):
    gateway = "\n  gateways: [istio-system/public]"
    text = SERVICE + virtual_service("a", host="shop.example.com", extra=gateway) + virtual_service("b", host="shop.example.com", extra=gateway)
    found = sorted((f.code, f.severity.value, f.object.name) for f in validate_yaml(text) if f.code != "MSH204")
    assert found == [("MSH209", "warning", "a"), ("MSH209", "warning", "b")]


def test_rendered_virtual_service_conflicting_with_a_live_one_is_reported_on_the_rendered_one(validate_yaml):
    live = [{
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "legacy", "namespace": "bookinfo"}, "spec": {"hosts": ["reviews"]},
    }]
    [finding] = validate_yaml(SERVICE + virtual_service("reviews"), live=live)
    assert (finding.code, finding.object.name) == ("MSH208", "reviews")
    assert "VirtualService bookinfo/legacy" in finding.message


def test_live_copy_of_a_rendered_object_is_replaced_not_counted_twice(validate_yaml):
    live = [{
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "reviews", "namespace": "bookinfo"}, "spec": {"hosts": ["reviews"]},
    }]
    assert validate_yaml(SERVICE + virtual_service("reviews"), live=live) == []


def gateway(name: str, *, host: str, port: int = 80, selector: str = "{istio: ingressgateway}") -> str:
    return f"""
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: {name}, namespace: bookinfo}}
spec:
  selector: {selector}
  servers:
  - port: {{number: {port}, name: http-{name}, protocol: HTTP}}
    hosts: ["{host}"]
"""


def test_gateways_with_same_selector_port_and_host_conflict(validate_yaml):
    findings = validate_yaml(gateway("a", host="bookinfo.example.com") + gateway("b", host="bookinfo/bookinfo.example.com"))
    assert sorted((f.code, f.object.name, f.json_path) for f in findings) == [
        ("MSH210", "a", ".spec.servers[0].hosts[0]"),
        ("MSH210", "b", ".spec.servers[0].hosts[0]"),
    ]


def test_gateways_differing_in_port_selector_or_host_are_quiet(validate_yaml):
    text = (
        gateway("a", host="bookinfo.example.com")
        + gateway("b", host="bookinfo.example.com", port=8080)
        + gateway("c", host="bookinfo.example.com", selector="{istio: internal-gateway}")
        + gateway("d", host="*.example.com")
    )
    assert validate_yaml(text) == []


def destination_rule(name: str, extra: str = "") -> str:
    return f"""
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: {name}, namespace: bookinfo}}
spec:
  host: reviews{extra}
"""


def test_several_destination_rules_for_one_host_are_a_warning(validate_yaml):
    findings = validate_yaml(SERVICE + destination_rule("a") + destination_rule("b"))
    assert sorted((f.code, f.severity.value, f.object.name) for f in findings) == [
        ("MSH212", "warning", "a"),
        ("MSH212", "warning", "b"),
    ]


def test_destination_rule_with_a_workload_selector_does_not_count_as_a_duplicate(validate_yaml):
    text = SERVICE + destination_rule("a") + destination_rule("b", "\n  workloadSelector: {matchLabels: {app: ratings}}")
    assert validate_yaml(text) == []


def telemetry(name: str, extra: str = "") -> str:
    return f"""
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {{name: {name}, namespace: istio-system}}
spec:{extra or " {}"}
"""


def test_two_telemetry_objects_without_selector_in_one_namespace_are_an_error(validate_yaml):
    findings = validate_yaml(telemetry("metrics") + telemetry("tracing"))
    assert sorted((f.code, f.severity.value, f.object.name) for f in findings) == [
        ("MSH219", "error", "metrics"),
        ("MSH219", "error", "tracing"),
    ]


def test_telemetry_with_a_selector_next_to_the_namespace_default_is_quiet(validate_yaml):
    text = telemetry("mesh-default") + telemetry("gateway", "\n  selector: {matchLabels: {istio: ingressgateway}}")
    assert validate_yaml(text) == []
