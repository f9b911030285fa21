"""MSH2xx rules inside one VirtualService: weights, unreachable rules, JWT-claim routing."""
from __future__ import annotations

import textwrap

SERVICE_AND_RULE = """
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo}
spec: {selector: {app: reviews}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: bookinfo}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
  gateways: [GATEWAYS]
  http:
"""


def virtual_service(http: str, *, gateways: str = "mesh") -> str:
    return SERVICE_AND_RULE.replace("GATEWAYS", gateways) + textwrap.indent(textwrap.dedent(http).strip("\n"), "  ") + "\n"


def split(v1: int | None, v2: int | None) -> str:
    w1 = f"\n    weight: {v1}" if v1 is not None else ""
    w2 = f"\n    weight: {v2}" if v2 is not None else ""
    return f"""
- route:
  - destination: {{host: reviews, subset: v1}}{w1}
  - destination: {{host: reviews, subset: v2}}{w2}
"""


def codes(findings):
    return [(f.code, f.json_path) for f in findings]


def test_negative_weight_is_an_error_at_the_weight(validate_yaml):
    assert codes(validate_yaml(virtual_service(split(110, -10)))) == [("MSH213", ".spec.http[0].route[1].weight")]


def test_all_zero_weights_send_traffic_nowhere(validate_yaml):
    [finding] = validate_yaml(virtual_service(split(0, None)))
    assert (finding.code, finding.severity.value) == ("MSH213", "error")


def test_weights_not_summing_to_100_are_a_warning(validate_yaml):
    [finding] = validate_yaml(virtual_service(split(90, 20)))
    assert (finding.code, finding.severity.value) == ("MSH214", "warning")
    assert "sum to 110" in finding.message


def test_weights_summing_to_100_and_a_single_unweighted_destination_are_quiet(validate_yaml):
    assert validate_yaml(virtual_service(split(90, 10))) == []
    assert validate_yaml(virtual_service("- route: [{destination: {host: reviews, subset: v1}}]")) == []


def test_rule_after_a_route_without_match_can_never_match(validate_yaml):
    http = """
    - name: default
      route: [{destination: {host: reviews, subset: v1}}]
    - name: jason
      match: [{headers: {end-user: {exact: jason}}}]
      route: [{destination: {host: reviews, subset: v2}}]
    """
    [finding] = validate_yaml(virtual_service(http))
    assert (finding.code, finding.json_path) == ("MSH215", ".spec.http[1]")
    assert "http[0] (default)" in finding.message


def test_header_route_before_the_default_route_is_quiet(validate_yaml):
    http = """
    - name: jason
      match: [{headers: {end-user: {exact: jason}}}]
      route: [{destination: {host: reviews, subset: v2}}]
    - name: default
      route: [{destination: {host: reviews, subset: v1}}]
    """
    assert validate_yaml(virtual_service(http)) == []


def test_rule_whose_match_an_earlier_prefix_covers_can_never_match(validate_yaml):
    http = """
    - match: [{uri: {prefix: /api}}]
      route: [{destination: {host: reviews, subset: v1}}]
    - match: [{uri: {exact: /api/v2}, headers: {x-canary: {exact: "1"}}}]
      route: [{destination: {host: reviews, subset: v2}}]
    """
    assert codes(validate_yaml(virtual_service(http))) == [("MSH215", ".spec.http[1]")]


def test_more_specific_rule_first_is_quiet(validate_yaml):
    http = """
    - match: [{uri: {exact: /api/v2}}]
      route: [{destination: {host: reviews, subset: v2}}]
    - match: [{uri: {prefix: /api}}]
      route: [{destination: {host: reviews, subset: v1}}]
    - match: [{uri: {prefix: /api}, method: {exact: POST}}, {uri: {regex: "/v[0-9]+"}}]
      route: [{destination: {host: reviews, subset: v1}}]
    """
    assert [f.code for f in validate_yaml(virtual_service(http))] == []


def test_rule_covered_by_several_earlier_rules_together_can_never_match(validate_yaml):
    http = """
    - match: [{uri: {exact: /a}}]
      route: [{destination: {host: reviews, subset: v1}}]
    - match: [{uri: {regex: "/b[0-9]"}}]
      route: [{destination: {host: reviews, subset: v1}}]
    - match: [{uri: {exact: /a}}, {uri: {exact: /b7}}]
      route: [{destination: {host: reviews, subset: v2}}]
    """
    [finding] = validate_yaml(virtual_service(http))
    assert finding.code == "MSH215" and "http[0], http[1]" in finding.message


def test_prefix_slash_is_a_catch_all(validate_yaml):
    http = """
    - match: [{uri: {prefix: /}}]
      route: [{destination: {host: reviews, subset: v1}}]
    - match: [{headers: {x-canary: {exact: "1"}}}]
      route: [{destination: {host: reviews, subset: v2}}]
    """
    assert codes(validate_yaml(virtual_service(http))) == [("MSH215", ".spec.http[1]")]


def test_case_insensitive_uri_is_not_covered_by_a_case_sensitive_prefix(validate_yaml):
    http = """
    - match: [{uri: {prefix: /api}}]
      route: [{destination: {host: reviews, subset: v1}}]
    - match: [{uri: {prefix: /api/x}, ignoreUriCase: true}]
      route: [{destination: {host: reviews, subset: v2}}]
    """
    assert validate_yaml(virtual_service(http)) == []


def test_repeated_match_is_reported_as_a_duplicate(validate_yaml):
    http = """
    - name: first
      match: [{headers: {end-user: {exact: jason}}}]
      route: [{destination: {host: reviews, subset: v2}}]
    - name: second
      match: [{headers: {end-user: {exact: jason}}}]
      route: [{destination: {host: reviews, subset: v1}}]
    """
    [finding] = validate_yaml(virtual_service(http))
    assert (finding.code, finding.json_path) == ("MSH216", ".spec.http[1]")
    assert "http[0] (first)" in finding.message


CLAIM_ROUTE = """
- match: [{headers: {"@request.auth.claims.groups": {exact: admin}}}]
  route: [{destination: {host: reviews, subset: v2}}]
- route: [{destination: {host: reviews, subset: v1}}]
"""

INGRESS_JWT = """
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: ingress-jwt, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  jwtRules: [{issuer: "https://issuer.example.com", jwksUri: "https://issuer.example.com/jwks.json"}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: require-jwt, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  action: DENY
  rules: [{from: [{source: {notRequestPrincipals: ["*"]}}]}]
"""


def test_jwt_claim_routing_without_request_authentication_is_a_warning(validate_yaml):
    findings = [f for f in validate_yaml(virtual_service(CLAIM_ROUTE, gateways="istio-system/public")) if f.code != "MSH204"]
    [finding] = findings
    assert (finding.code, finding.json_path) == ("MSH217", ".spec.http[0].match[0].headers.@request.auth.claims.groups")


def test_jwt_claim_routing_with_request_authentication_on_the_gateway_is_quiet(validate_yaml):
    text = virtual_service(CLAIM_ROUTE, gateways="istio-system/public") + INGRESS_JWT
    assert [f.code for f in validate_yaml(text) if f.code != "MSH204"] == []


def test_weights_that_are_not_numbers_are_left_to_the_schema_checks(validate_yaml):
    assert validate_yaml(virtual_service(split(90, 10).replace("weight: 90", 'weight: "90"'))) == []


def test_jwt_claim_routing_on_the_mesh_never_matches(validate_yaml):
    sidecar_jwt = INGRESS_JWT.replace("istio-system", "bookinfo").replace("istio: ingressgateway", "app: reviews")
    findings = validate_yaml(virtual_service(CLAIM_ROUTE) + sidecar_jwt)
    assert [(f.code, f.json_path) for f in findings] == [("MSH217", ".spec.http[0].match[0].headers.@request.auth.claims.groups")]
    assert "only on an ingress gateway" in findings[0].message
