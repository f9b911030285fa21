"""MSH3xx security: mTLS conflicts, over-permissive policies, principals, tokens, JWKS, gateway TLS."""
from __future__ import annotations

import re

import pytest

from helpers import SEED_DIR
from meshops.validate.checks.security import principal_form_ok

SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo}
spec: {selector: {app: reviews}}
"""

DISABLING_RULE = """
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: bookinfo}
spec:
  host: reviews
  trafficPolicy:
    tls: {mode: DISABLE}
"""


def peer_authentication(name: str, mode: str, *, namespace: str = "bookinfo", selector: str = "") -> str:
    selector_line = f"\n  selector: {{matchLabels: {selector}}}" if selector else ""
    return f"""
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {{name: {name}, namespace: {namespace}}}
spec:{selector_line}
  mtls: {{mode: {mode}}}
"""


def test_strict_namespace_mtls_against_a_destination_rule_disabling_tls_is_an_error(validate_yaml):
    [finding] = validate_yaml(SERVICE + DISABLING_RULE + peer_authentication("default", "STRICT"))
    assert (finding.code, finding.object.kind, finding.json_path) == ("MSH301", "DestinationRule", ".spec.trafficPolicy.tls.mode")
    assert "PeerAuthentication bookinfo/default" in finding.message


def test_mesh_wide_strict_mtls_applies_to_every_namespace(validate_yaml):
    text = SERVICE + DISABLING_RULE + peer_authentication("default", "STRICT", namespace="istio-system")
    assert [f.code for f in validate_yaml(text)] == ["MSH301"]


def test_workload_permissive_mode_overrides_the_namespace_strict_mode(validate_yaml):
    text = (
        SERVICE + DISABLING_RULE
        + peer_authentication("default", "STRICT")
        + peer_authentication("reviews", "PERMISSIVE", selector="{app: reviews}")
    )
    assert validate_yaml(text) == []


def test_permissive_mtls_with_tls_disabled_is_quiet(validate_yaml):
    assert validate_yaml(SERVICE + DISABLING_RULE + peer_authentication("default", "PERMISSIVE")) == []


def test_rendered_strict_policy_against_a_live_disabling_rule_is_reported_on_the_policy(validate_yaml):
    live = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "reviews", "namespace": "bookinfo"}, "spec": {"selector": {"app": "reviews"}}},
        {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": {"name": "reviews", "namespace": "bookinfo"},
         "spec": {"host": "reviews", "subsets": [{"name": "v1", "trafficPolicy": {"tls": {"mode": "DISABLE"}}}]}},
    ]
    [finding] = validate_yaml(peer_authentication("default", "STRICT"), live=live)
    assert (finding.code, finding.object.kind, finding.json_path) == ("MSH301", "PeerAuthentication", ".spec.mtls.mode")


def authorization_policy(rules: str, *, action: str = "ALLOW") -> str:
    return f"""
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: policy, namespace: bookinfo}}
spec:
  selector: {{matchLabels: {{app: httpbin}}}}
  action: {action}
  rules:
{rules}"""


SPLIT_RULES = """  - from: [{source: {principals: [cluster.local/ns/bookinfo/sa/sleep]}}]
  - to: [{operation: {methods: [GET]}}]
"""


def test_allow_policy_with_from_and_to_in_separate_rules_is_a_warning(validate_yaml):
    [finding] = validate_yaml(authorization_policy(SPLIT_RULES))
    assert (finding.code, finding.severity.value, finding.json_path) == ("MSH302", "warning", ".spec.rules[1]")
    assert "any caller" in finding.message


def test_allow_policy_with_from_and_to_in_one_rule_is_quiet(validate_yaml):
    rules = """  - from: [{source: {principals: [cluster.local/ns/bookinfo/sa/sleep]}}]
    to: [{operation: {methods: [GET]}}]
"""
    assert validate_yaml(authorization_policy(rules)) == []


def test_deny_policy_with_separate_rules_is_quiet(validate_yaml):
    assert validate_yaml(authorization_policy(SPLIT_RULES, action="DENY")) == []


def seed_policies(*names: str) -> str:
    text = next(SEED_DIR.glob("*.txt")).read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "kind: AuthorizationPolicy" in b]
    documents = [d for block in blocks for d in block.split("\n---\n")]
    return "\n---\n".join(d for d in documents if any(f"name: {name}\n" in d for name in names))


@pytest.mark.skipif(not SEED_DIR.is_dir(), reason="the seed article (../shared/seed) is not on this machine")
def test_seed_articles_split_authorization_policies_are_warnings(validate_yaml):
    findings = validate_yaml(seed_policies("allow-read", "admin-access", "user-access", "deny-delete"))
    flagged = sorted((f.object.name, f.json_path) for f in findings if f.code == "MSH302")
    assert flagged == [
        ("admin-access", ".spec.rules[1]"),
        ("allow-read", ".spec.rules[1]"),
        ("allow-read", ".spec.rules[2]"),
        ("user-access", ".spec.rules[1]"),
    ]
    assert all(f.severity.value != "error" for f in findings)


@pytest.mark.parametrize("principal", [
    "cluster.local/ns/default/sa/sleep", "*", "cluster.local/ns/default/*", "*/ns/default/sa/sleep", "*/sa/sleep",
    "example.org/ns/bookinfo/sa/*",
])
def test_principals_in_spiffe_form_are_accepted(principal):
    assert principal_form_ok(principal)


@pytest.mark.parametrize("principal", [
    "sleep", "default/sleep", "ns/default/sa/sleep", "spiffe://cluster.local/ns/default/sa/sleep",
    "cluster.local/namespace/default/sa/sleep", "cluster.local/ns/default/serviceaccount/*",
])
def test_principals_in_other_forms_are_rejected(principal):
    assert not principal_form_ok(principal)


def test_principal_in_the_wrong_form_is_a_warning_at_its_list_item(validate_yaml):
    rules = """  - from: [{source: {principals: [cluster.local/ns/bookinfo/sa/a, spiffe://cluster.local/ns/bookinfo/sa/b]}}]
    to: [{operation: {methods: [GET]}}]
"""
    [finding] = validate_yaml(authorization_policy(rules))
    assert (finding.code, finding.json_path) == ("MSH303", ".spec.rules[0].from[0].source.principals[1]")
    assert "drop the spiffe:// prefix" in finding.message


def request_authentication(jwks_uri: str = "https://issuer.example.com/jwks.json") -> str:
    return f"""
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {{name: httpbin-jwt, namespace: bookinfo}}
spec:
  selector: {{matchLabels: {{app: httpbin, version: v1}}}}
  jwtRules: [{{issuer: issuer.example.com, jwksUri: "{jwks_uri}"}}]
"""


def test_request_authentication_without_a_policy_requiring_tokens_is_a_warning(validate_yaml):
    [finding] = validate_yaml(request_authentication())
    assert (finding.code, finding.json_path) == ("MSH304", ".spec.selector")
    assert "requests with no token still reach app=httpbin, version=v1" in finding.message


def test_deny_without_request_principal_for_the_same_workload_requires_tokens(validate_yaml):
    deny = authorization_policy("  - from: [{source: {notRequestPrincipals: ['*']}}]\n", action="DENY")
    assert validate_yaml(request_authentication() + "---\n" + deny) == []


def test_namespace_wide_allow_on_request_principals_requires_tokens(validate_yaml):
    allow = """
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: require-jwt, namespace: bookinfo}
spec:
  rules: [{from: [{source: {requestPrincipals: ["issuer.example.com/*"]}}]}]
"""
    assert validate_yaml(request_authentication() + allow) == []


def test_policy_for_another_workload_does_not_count(validate_yaml):
    deny = authorization_policy("  - from: [{source: {notRequestPrincipals: ['*']}}]\n", action="DENY")
    other = deny.replace("app: httpbin", "app: ratings")
    assert [f.code for f in validate_yaml(request_authentication() + "---\n" + other)] == ["MSH304"]


def test_jwks_over_plain_http_is_a_warning(validate_yaml):
    findings = validate_yaml(request_authentication("http://issuer.example.com/jwks.json"))
    assert [(f.code, f.json_path) for f in findings if f.code == "MSH305"] == [("MSH305", ".spec.jwtRules[0].jwksUri")]


def gateway_server(server: str) -> str:
    return f"""
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: public, namespace: bookinfo}}
spec:
  selector: {{istio: ingressgateway}}
  servers:
  - hosts: [bookinfo.example.com]
{server}"""


@pytest.mark.parametrize("server, path", [
    ("    port: {number: 443, name: https, protocol: HTTPS}\n", ".spec.servers[0].port.protocol"),
    ("    port: {number: 443, name: https, protocol: HTTPS}\n    tls: {mode: SIMPLE}\n", ".spec.servers[0].tls"),
    ("    port: {number: 443, name: https, protocol: HTTPS}\n"
     "    tls: {mode: MUTUAL, serverCertificate: /etc/certs/tls.crt, privateKey: /etc/certs/tls.key}\n", ".spec.servers[0].tls"),
])
def test_tls_server_without_certificate_is_an_error(validate_yaml, server, path):
    [finding] = validate_yaml(gateway_server(server))
    assert (finding.code, finding.severity.value, finding.json_path) == ("MSH306", "error", path)


@pytest.mark.parametrize("server", [
    "    port: {number: 443, name: https, protocol: HTTPS}\n    tls: {mode: SIMPLE, credentialName: bookinfo-secret}\n",
    "    port: {number: 443, name: tls, protocol: TLS}\n    tls: {mode: PASSTHROUGH}\n",
    "    port: {number: 80, name: http, protocol: HTTP}\n    tls: {httpsRedirect: true}\n",
])
def test_tls_server_with_certificate_or_without_termination_is_quiet(validate_yaml, server):
    assert validate_yaml(gateway_server(server)) == []
