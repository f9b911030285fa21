"""MSH2xx references: subsets, destination hosts, gateways, DestinationRule hosts, subset pods."""
from __future__ import annotations

SERVICES = """
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: bookinfo}
spec:
  selector: {app: ratings}
  ports: [{name: http, port: 9080}]
"""

REVIEWS_RULE = """
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: bookinfo}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
"""


def route_to(host: str, *, subset: str | None = None, namespace: str = "bookinfo", name: str = "route") -> str:
    subset_line = f"\n        subset: {subset}" if subset else ""
    return f"""
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  hosts: [{host.split('.')[0]}]
  http:
  - route:
    - destination:
        host: {host}{subset_line}
"""


def only(findings, code):
    return [f for f in findings if f.code == code]


def test_subset_missing_from_the_destination_rule_is_an_error_at_its_line(validate_yaml):
    text = SERVICES + REVIEWS_RULE + route_to("reviews", subset="v3")
    [finding] = only(validate_yaml(text), "MSH201")
    assert finding.severity.value == "error"
    assert finding.json_path == ".spec.http[0].route[0].destination.subset"
    assert finding.location.line == text.splitlines().index("        subset: v3") + 1
    assert "v1, v2" in finding.message


def test_subset_defined_by_the_destination_rule_is_quiet(validate_yaml):
    assert validate_yaml(SERVICES + REVIEWS_RULE + route_to("reviews", subset="v2")) == []


def test_subset_without_any_destination_rule_is_an_error_when_the_namespace_has_rules(validate_yaml):
    text = SERVICES + REVIEWS_RULE + route_to("ratings", subset="v1")
    [finding] = only(validate_yaml(text), "MSH201")
    assert "no DestinationRule for host ratings.bookinfo.svc.cluster.local" in finding.message


def test_subset_is_only_info_when_no_destination_rule_of_that_namespace_was_given(validate_yaml):
    findings = validate_yaml(SERVICES + route_to("reviews", subset="v1"))
    assert [f.code for f in findings] == ["MSH204"]
    assert findings[0].severity.value == "info"


def test_destination_rule_in_the_client_namespace_wins_over_the_service_namespace(validate_yaml):
    client_rule = """
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-for-shop, namespace: shop}
spec:
  host: reviews.bookinfo.svc.cluster.local
  subsets: [{name: canary, labels: {version: v3}}]
"""
    text = SERVICES + REVIEWS_RULE + client_rule + route_to("reviews.bookinfo.svc.cluster.local", subset="v1", namespace="shop")
    [finding] = only(validate_yaml(text), "MSH201")
    assert "DestinationRule shop/reviews-for-shop" in finding.message


def test_misspelled_destination_host_is_an_error_with_a_suggestion(validate_yaml):
    [finding] = only(validate_yaml(SERVICES + route_to("reviws")), "MSH202")
    assert "did you mean 'reviews'?" in finding.message
    assert finding.json_path == ".spec.http[0].route[0].destination.host"


def test_short_host_resolves_in_the_namespace_of_the_virtual_service(validate_yaml):
    shop_service = """
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec: {selector: {app: cart}}
"""
    findings = validate_yaml(SERVICES + shop_service + route_to("reviews", namespace="shop"))
    [finding] = only(findings, "MSH202")
    assert "reviews.shop.svc.cluster.local" in finding.message


def test_fully_qualified_host_in_another_namespace_is_found(validate_yaml):
    assert validate_yaml(SERVICES + route_to("reviews.bookinfo.svc.cluster.local", namespace="shop")) == []


def test_host_with_a_dot_is_taken_literally_and_the_fqdn_is_suggested(validate_yaml):
    [finding] = validate_yaml(SERVICES + REVIEWS_RULE + route_to("reviews.bookinfo", subset="v1", namespace="shop"))
    assert finding.code == "MSH202"  # and not also MSH201 for the subset of a host that is wrong anyway
    assert "'reviews.bookinfo.svc.cluster.local'" in finding.message


def test_service_exported_only_to_its_namespace_is_not_visible_from_another(validate_yaml):
    private = SERVICES.replace(
        "metadata: {name: reviews, namespace: bookinfo}",
        "metadata: {name: reviews, namespace: bookinfo, annotations: {networking.istio.io/exportTo: '.'}}",
    )
    [finding] = only(validate_yaml(private + route_to("reviews.bookinfo.svc.cluster.local", namespace="shop")), "MSH202")
    assert "not exported to namespace 'shop'" in finding.message
    assert validate_yaml(private + route_to("reviews", namespace="bookinfo")) == []


def test_external_host_without_service_entry_is_a_warning(validate_yaml):
    [finding] = validate_yaml(route_to("api.example.com"))
    assert (finding.code, finding.severity.value) == ("MSH203", "warning")


def test_external_host_covered_by_a_wildcard_service_entry_is_quiet(validate_yaml):
    entry = """
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: example, namespace: bookinfo}
spec:
  hosts: ["*.example.com"]
  ports: [{number: 443, name: tls, protocol: TLS}]
  location: MESH_EXTERNAL
  resolution: DNS
"""
    assert validate_yaml(entry + route_to("api.example.com")) == []


EXTERNAL_ENTRY = """
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: payments, namespace: bookinfo}
spec: {hosts: [payments.example.com], ports: [{number: 443, name: tls, protocol: TLS}], resolution: DNS}
"""


def test_a_service_entry_alone_does_not_make_the_namespaces_services_known(validate_yaml):
    # An imported environment: ServiceEntries and routes, the Services deployed by their teams.
    assert only(validate_yaml(EXTERNAL_ENTRY + route_to("reviews")), "MSH202") == []


def test_a_rendered_service_in_the_namespace_still_makes_a_missing_one_an_error(validate_yaml):
    [finding] = only(validate_yaml(EXTERNAL_ENTRY + "---\n" + SERVICES + route_to("reviws")), "MSH202")
    assert finding.severity.value == "error"


def test_live_services_answer_for_namespaces_not_rendered(validate_yaml):
    live = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "reviews", "namespace": "bookinfo"}, "spec": {}}]
    assert validate_yaml(route_to("reviews"), live=live) == []
    [finding] = validate_yaml(route_to("ratings"), live=live)
    assert finding.code == "MSH202"


GATEWAY = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: bookinfo}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [HOSTS]
"""


def ingress(hosts: str, gateways: str, namespace: str = "bookinfo") -> str:
    return f"""
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: public, namespace: {namespace}}}
spec:
  hosts: [{hosts}]
  gateways: [{gateways}]
  http:
  - route:
    - destination: {{host: reviews.bookinfo.svc.cluster.local}}
"""


def test_misspelled_gateway_reference_is_an_error(validate_yaml):
    findings = validate_yaml(SERVICES + "---" + GATEWAY.replace("HOSTS", "'*'") + ingress("'*'", "publik"))
    [finding] = only(findings, "MSH205")
    assert "did you mean 'public'?" in finding.message


def test_gateway_in_a_namespace_not_given_is_only_info(validate_yaml):
    findings = validate_yaml(SERVICES + ingress("'*'", "istio-system/ingress"))
    assert [(f.code, f.severity.value) for f in findings] == [("MSH204", "info")]


def test_namespace_qualified_gateway_reference_resolves_across_namespaces(validate_yaml):
    text = SERVICES + "---" + GATEWAY.replace("HOSTS", "'*'") + ingress("'*'", "bookinfo/public, mesh", namespace="shop")
    assert validate_yaml(text) == []


def test_gateway_that_serves_none_of_the_hosts_is_an_error(validate_yaml):
    text = SERVICES + "---" + GATEWAY.replace("HOSTS", "bookinfo.example.com") + ingress("reviews.example.com", "public")
    [finding] = only(validate_yaml(text), "MSH206")
    assert finding.json_path == ".spec.gateways[0]"
    assert "serves bookinfo.example.com" in finding.message


def test_wildcard_gateway_host_serves_the_virtual_service_host(validate_yaml):
    text = SERVICES + "---" + GATEWAY.replace("HOSTS", "'*.example.com'") + ingress("reviews.example.com", "public")
    assert validate_yaml(text) == []


def test_wildcard_virtual_service_host_is_served_by_a_narrower_gateway_host(validate_yaml):
    text = SERVICES + "---" + GATEWAY.replace("HOSTS", "bookinfo.example.com") + ingress("'*'", "public")
    assert validate_yaml(text) == []


def test_gateway_host_for_its_own_namespace_serves_virtual_services_there_only(validate_yaml):
    gateway = "---" + GATEWAY.replace("HOSTS", "'./shop.example.com'")
    assert validate_yaml(SERVICES + gateway + ingress("shop.example.com", "public")) == []
    other = validate_yaml(SERVICES + gateway + ingress("shop.example.com", "bookinfo/public", namespace="shop"))
    assert [f.code for f in other] == ["MSH206"]


def test_gateway_host_for_another_namespace_does_not_serve_this_one(validate_yaml):
    text = SERVICES + "---" + GATEWAY.replace("HOSTS", "'shop/*'") + ingress("reviews.example.com", "public")
    [finding] = only(validate_yaml(text), "MSH206")
    assert "to namespace 'bookinfo': none" in finding.message


def test_host_missing_from_the_gateway_while_others_are_served_is_a_warning(validate_yaml):
    text = SERVICES + "---" + GATEWAY.replace("HOSTS", "a.example.com") + ingress("a.example.com, b.example.com", "public")
    [finding] = validate_yaml(text)
    assert (finding.code, finding.json_path) == ("MSH207", ".spec.hosts[1]")


def destination_rule(host: str) -> str:
    return f"""
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: rule, namespace: bookinfo}}
spec:
  host: {host}
"""


def test_destination_rule_for_a_host_nothing_declares_is_a_warning(validate_yaml):
    [finding] = validate_yaml(SERVICES + destination_rule("reviws"))
    assert (finding.code, finding.severity.value) == ("MSH211", "warning")
    assert "did you mean 'reviews'?" in finding.message


def test_wildcard_destination_rule_matching_services_is_quiet(validate_yaml):
    assert validate_yaml(SERVICES + destination_rule("'*.bookinfo.svc.cluster.local'")) == []


def pod(version: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"reviews-{version}-abc", "namespace": "bookinfo", "labels": {"app": "reviews", "version": version}},
    }


def test_subset_selecting_no_live_pod_is_a_warning(validate_yaml):
    findings = validate_yaml(SERVICES + REVIEWS_RULE, live=[pod("v1")])
    [finding] = findings
    assert (finding.code, finding.json_path) == ("MSH218", ".spec.subsets[1].labels")
    assert "app=reviews, version=v2" in finding.message


def test_subsets_are_not_checked_against_pods_without_live_pods(validate_yaml):
    assert validate_yaml(SERVICES + REVIEWS_RULE) == []
    assert validate_yaml(SERVICES + REVIEWS_RULE, live=[pod("v1"), pod("v2")]) == []
