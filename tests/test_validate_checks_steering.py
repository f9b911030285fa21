"""Which routes a version change steers (model.steering), and MSH250/MSH251 when it cannot be one rollout.

The check compares git's VirtualService with the live one, as `apply` validates against the cluster:
without live objects there is no change to judge and it is quiet.
"""
from __future__ import annotations

import textwrap

import yaml

from meshops.model.steering import AMBIGUOUS, BY_SERVICE, HTTP_ROUTE, NOT_STEPPED, plan_steering

HEAD = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
"""


def vs(body: str) -> str:
    return HEAD + textwrap.indent(textwrap.dedent(body).strip("\n"), "  ") + "\n"


def obj(body: str) -> dict:
    return yaml.safe_load(vs(body))


def route(version: str, host: str = "reviews") -> str:
    return f"[{{destination: {{host: {host}, subset: {version}}}}}]"


def two_rules(api: str, web: str, *, names: bool = True) -> str:
    first, second = ("- name: api\n  ", "- name: web\n  ") if names else ("- ", "- ")
    return (f"http:\n{first}match: [{{uri: {{prefix: /api}}}}]\n  route: {route(api)}\n"
            f"{second}route: {route(web)}\n")


def test_a_single_rule_with_any_name_or_none_is_steered():
    for rule in ("- name: main\n  ", "- "):
        steering, problems = plan_steering(obj(f"http:\n{rule}route: {route('v2')}"), obj(f"http:\n{rule}route: {route('v1')}"))
        assert problems == [] and (steering.stable, steering.target, steering.host) == ("v1", "v2", "reviews")
    assert steering.rules == ("#0",)


def test_every_rule_git_moves_from_the_stable_to_the_canary_is_steered_together():
    steering, problems = plan_steering(obj(two_rules("v2", "v2")), obj(two_rules("v1", "v1")))
    assert problems == [] and steering.rules == ("api", "web")


def test_a_header_route_pinned_to_another_version_is_left_to_git():
    pinned = "http:\n- name: testers\n  match: [{headers: {end-user: {exact: jason}}}]\n  route: ROUTE_T\n- name: main\n  route: ROUTE_M\n"
    desired = pinned.replace("ROUTE_T", route("v3")).replace("ROUTE_M", route("v2"))
    live = pinned.replace("ROUTE_T", route("v3")).replace("ROUTE_M", route("v1"))
    steering, problems = plan_steering(obj(desired), obj(live))
    assert problems == [] and steering.rules == ("main",)


def test_rules_moving_to_different_versions_at_once_are_ambiguous():
    steering, [problem] = plan_steering(obj(two_rules("v2", "v3")), obj(two_rules("v1", "v1")))
    assert steering is None and problem.kind == AMBIGUOUS
    assert "api (reviews: v1 -> v2), web (reviews: v1 -> v3)" in problem.message


def test_unnamed_rules_that_moved_while_a_new_version_appears_are_ambiguous():
    live = obj(f"http:\n- route: {route('v1')}")
    steering, [problem] = plan_steering(obj(two_rules("v1", "v2", names=False)), live)
    assert steering is None and problem.kind == AMBIGUOUS and "without names changed places" in problem.message


def test_a_tcp_version_change_is_reported_as_not_stepped():
    steering, [problem] = plan_steering(obj(f"tcp:\n- route: {route('v2')}"), obj(f"tcp:\n- route: {route('v1')}"))
    assert steering is None and problem.kind == NOT_STEPPED and problem.path == ("spec", "tcp", 0, "route")


def test_an_ambiguous_change_is_an_error_at_the_rule_when_validated_against_the_cluster(validate_yaml):
    live = [obj(two_rules("v1", "v1"))]
    findings = [f for f in validate_yaml(vs(two_rules("v2", "v3")), live=live) if f.code.startswith("MSH25")]
    assert [(f.code, f.severity.value, f.json_path) for f in findings] == [("MSH250", "error", ".spec.http[0]")]
    assert "change one service's version per commit" in findings[0].message


def test_a_consistent_change_and_an_offline_validation_are_quiet(validate_yaml):
    desired = vs(two_rules("v2", "v2"))
    assert [f for f in validate_yaml(desired, live=[obj(two_rules("v1", "v1"))]) if f.code.startswith("MSH25")] == []
    assert [f for f in validate_yaml(vs(two_rules("v2", "v3"))) if f.code.startswith("MSH25")] == []


def test_a_tcp_version_change_is_a_warning(validate_yaml):
    findings = validate_yaml(vs(f"tcp:\n- route: {route('v2')}"), live=[obj(f"tcp:\n- route: {route('v1')}")])
    assert [(f.code, f.severity.value) for f in findings if f.code.startswith("MSH25")] == [("MSH251", "warning")]


ROUTE_HEAD = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: bookinfo}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
"""


def http_route(api: str, web: str, *, api_canary: str | None = None) -> str:
    extra = f"\n    - {{name: {api_canary}, port: 9080, weight: 0}}" if api_canary else ""
    return ROUTE_HEAD + (f"  - name: api\n    matches: [{{path: {{type: PathPrefix, value: /api}}}}]\n"
                         f"    backendRefs:\n    - {{name: {api}, port: 9080, weight: 100}}{extra}\n"
                         f"  - name: web\n    backendRefs:\n    - {{name: {web}, port: 9080, weight: 100}}\n")


def test_an_http_route_moving_its_backends_to_another_service_is_one_rollout_by_service():
    steering, problems = plan_steering(yaml.safe_load(http_route("reviews-v1", "reviews-v2", api_canary="reviews-v2")),
                                       yaml.safe_load(http_route("reviews-v1", "reviews-v1")), HTTP_ROUTE)
    assert problems == [] and (steering.rules, steering.stable, steering.target) == (("api", "web"), "reviews-v1", "reviews-v2")
    assert steering.split == BY_SERVICE


def test_an_http_route_moving_rules_to_different_services_is_an_error_at_the_rule(validate_yaml):
    live = [yaml.safe_load(http_route("reviews-v1", "reviews-v1"))]
    findings = [f for f in validate_yaml(http_route("reviews-v2", "reviews-v3"), live=live) if f.code.startswith("MSH25")]
    assert [f.code for f in findings] == ["MSH250"] and "reviews-v1 -> reviews-v2" in findings[0].message
    assert [f for f in validate_yaml(http_route("reviews-v2", "reviews-v2"), live=live) if f.code.startswith("MSH25")] == []
