"""Rollout policy from meshops.yaml: weights, durations, defaults, overrides, and errors at file:line."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from helpers import REPO_ROOT
from meshops.source.envconfig import load_env_config
from meshops.model.errors import ConfigError
from meshops.rollout import policy as rollout_policy
from meshops.model.durations import parse_duration
from meshops.rollout.policy import check_policies, load_policy, promql_duration
from meshops.source.repo import WorkTree

CONFIG_FILE = "environments/test/meshops.yaml"


def config_with(tmp_path: Path, text: str):
    """An environment `test` whose meshops.yaml is `text` (read through the real loader)."""
    target = tmp_path / CONFIG_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(textwrap.dedent(text).lstrip())
    return load_env_config(WorkTree(tmp_path), "test")


def policy_of(tmp_path: Path, text: str, service: str | None = None):
    return load_policy(config_with(tmp_path, text), service)


def error_of(tmp_path: Path, text: str, service: str | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        policy_of(tmp_path, text, service)
    return caught.value.one_line()


def test_explicit_steps_are_walked_as_written(tmp_path):
    assert policy_of(tmp_path, "rollout: {steps: [5, 10, 25, 50]}").weights == (5, 10, 25, 50)


@pytest.mark.parametrize(
    ("step", "maximum", "weights"),
    [(20, 50, (20, 40, 50)), (10, 30, (10, 20, 30)), (50, 50, (50,)), (30, 100, (30, 60, 90, 100))],
)
def test_step_weight_walks_up_to_max_weight_without_overshooting(tmp_path, step, maximum, weights):
    text = f"rollout: {{stepWeight: {step}, maxWeight: {maximum}}}"
    assert policy_of(tmp_path, text).weights == weights


def test_step_weight_alone_stops_at_half_the_traffic(tmp_path):
    assert policy_of(tmp_path, "rollout: {stepWeight: 15}").weights == (15, 30, 45, 50)


def test_an_environment_without_a_rollout_section_gets_the_documented_defaults(tmp_path):
    policy = policy_of(tmp_path, "namespace: bookinfo")
    assert policy.weights == rollout_policy.DEFAULT_STEPS
    assert policy.interval == policy.window == rollout_policy.DEFAULT_INTERVAL
    assert policy.threshold == rollout_policy.DEFAULT_THRESHOLD
    assert policy.min_requests == rollout_policy.DEFAULT_MIN_REQUESTS
    assert policy.on_low_traffic == "hold"
    assert (policy.success_rate_min, policy.success_rate_max) == (99.0, None)
    assert (policy.latency_percentile, policy.latency_max_ms) == (99.0, 500.0)
    assert policy.compare_to_stable is None and policy.checks == ()
    assert policy.workload_name(service="reviews", version="v2", namespace="bookinfo") == "reviews-v2"


def test_the_window_defaults_to_the_interval_so_each_step_judges_the_traffic_since_the_last(tmp_path):
    policy = policy_of(tmp_path, "rollout: {interval: 1m30s}")
    assert policy.interval == policy.window == 90.0
    assert policy.window_text == "90s"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30.0), ("2m", 120.0), ("1m30s", 90.0), ("1.5h", 5400.0), ("250ms", 0.25), ("1h0m10s", 3610.0)],
)
def test_durations_are_read_the_go_way(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "m5", "5 m", "1d", "5s garbage"])
def test_malformed_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(("seconds", "literal"), [(60, "1m"), (90, "90s"), (3600, "1h"), (1.5, "1500ms"), (10, "10s")])
def test_windows_become_promql_range_literals_in_the_largest_whole_unit(seconds, literal):
    assert promql_duration(seconds) == literal


SERVICES = """
rollout:
  steps: [10, 25, 50]
  interval: 1m
  latency: {percentile: 95, max: 300}
  successRate: {min: 99}
  services:
    reviews:
      stepWeight: 20
      maxWeight: 60
      latency: {max: 800}
    ratings:
      interval: 5m
"""


def test_a_service_override_replaces_the_environment_step_style(tmp_path):
    assert policy_of(tmp_path, SERVICES, "reviews").weights == (20, 40, 60)
    assert policy_of(tmp_path, SERVICES, "details").weights == (10, 25, 50)


def test_service_overrides_merge_nested_settings_key_by_key(tmp_path):
    reviews = policy_of(tmp_path, SERVICES, "reviews")
    assert (reviews.latency_percentile, reviews.latency_max_ms) == (95.0, 800.0)
    assert reviews.success_rate_min == 99.0 and reviews.interval == 60.0


def test_a_service_interval_override_also_moves_its_default_window(tmp_path):
    ratings = policy_of(tmp_path, SERVICES, "ratings")
    assert ratings.interval == ratings.window == 300.0
    assert ratings.location is not None and ratings.location.line == 11  # "ratings:" under services


def test_checks_lists_every_policy_of_the_environment(tmp_path):
    policies = check_policies(config_with(tmp_path, SERVICES))
    assert sorted(policies, key=str) == [None, "ratings", "reviews"]


def test_every_example_environment_in_the_repository_has_a_valid_policy():
    tree = WorkTree(REPO_ROOT)
    for environment in ("dev", "staging", "prod"):
        policies = check_policies(load_env_config(tree, environment))
        assert all(policy.weights for policy in policies.values())
    prod_reviews = load_policy(load_env_config(tree, "prod"), "reviews")
    assert prod_reviews.weights == (2, 5, 10, 25, 50) and prod_reviews.interval == 180.0


def test_custom_checks_are_templated_with_dollar_variables_and_keep_promql_braces(tmp_path):
    policy = policy_of(
        tmp_path,
        """
        rollout:
          checks:
            - name: errors-per-second
              query: sum(rate(app_errors_total{namespace="$namespace",pod=~"${canary_workload}-.*"}[$window]))
              max: 0.5
              onNoData: hold
        """,
    )
    (check,) = policy.checks
    assert (check.min, check.max, check.on_no_data) == (None, 0.5, "hold")
    rendered = check.render(
        {"namespace": "bookinfo", "canary_workload": "reviews-v2", "window": "1m", "service": "reviews",
         "canary": "v2", "stable": "v1", "stable_workload": "reviews-v1"}
    )
    assert rendered == 'sum(rate(app_errors_total{namespace="bookinfo",pod=~"reviews-v2-.*"}[1m]))'


def test_a_custom_check_without_no_data_policy_fails_on_missing_data(tmp_path):
    policy = policy_of(tmp_path, "rollout: {checks: [{name: c, query: vector(1), min: 1}]}")
    assert policy.checks[0].on_no_data == "fail"


ERRORS = [
    (
        "rollout:\n  steps: [10, 50, 25]\n",
        f"error: {CONFIG_FILE}:2: steps must increase, but 25 follows 50",
    ),
    (
        "rollout:\n  steps: [10, 20]\n  stepWeight: 10\n",
        f"error: {CONFIG_FILE}:3: both steps and stepWeight/maxWeight are set",
    ),
    (
        "rollout:\n  maxWeight: 40\n",
        f"error: {CONFIG_FILE}:2: maxWeight needs stepWeight",
    ),
    (
        "rollout:\n  stepWeight: 60\n  maxWeight: 40\n",
        f"error: {CONFIG_FILE}:2: stepWeight 60 is above maxWeight 40",
    ),
    (
        "rollout:\n  interval: 0s\n",
        f"error: {CONFIG_FILE}:2: interval must be longer than 0",
    ),
    (
        "rollout:\n  successRate:\n    min: 995\n",
        f"error: {CONFIG_FILE}:3: successRate bounds are percentages, got 995",
    ),
    (
        "rollout:\n  checks:\n    - name: saturation\n      query: avg(cpu)\n",
        f"error: {CONFIG_FILE}:3: check 'saturation' has neither min nor max, so it could never fail",
    ),
    (
        "rollout:\n  checks:\n    - name: c\n      query: rate(x{pod=\"$canary_pod\"}[$window])\n      max: 1\n",
        f"error: {CONFIG_FILE}:4: check 'c' query: unknown variable 'canary_pod'",
    ),
    (
        "rollout:\n  checks:\n    - name: latency\n      query: vector(1)\n      max: 1\n",
        f"error: {CONFIG_FILE}:3: check name 'latency' is already used by a built-in check",
    ),
    (
        "rollout:\n  checks:\n    - {name: a, query: vector(1), max: 1}\n    - {name: a, query: vector(2), max: 1}\n",
        f"error: {CONFIG_FILE}:4: check name 'a' is already used",
    ),
    (
        "rollout:\n  checks:\n    - {name: a, query: vector(1), min: 5, max: 1}\n",
        f"error: {CONFIG_FILE}:3: check 'a' has min 5 above max 1",
    ),
    (
        "rollout:\n  workload: '{service}'\n",
        f"error: {CONFIG_FILE}:2: workload template '{{service}}': does not contain {{version}}",
    ),
    (
        "rollout:\n  workload: '{service}-{track}'\n",
        f"error: {CONFIG_FILE}:2: workload template '{{service}}-{{track}}': unknown variable 'track'",
    ),
    (
        "rollout:\n  abTest:\n    match:\n      - headers:\n          X-Canary: {exact: insider}\n",
        f"error: {CONFIG_FILE}:5: abTest header 'X-Canary' is not a lower-case HTTP header name (write header names",
    ),
    (
        "rollout:\n  abTest:\n    match:\n      - headers:\n          cookie: {regex: '(canary=always'}\n",
        f"error: {CONFIG_FILE}:5: abTest header 'cookie': regex '(canary=always' does not compile",
    ),
    (
        "rollout:\n  mirror: {percent: 20, then: promote}\n  abTest:\n    match: [{headers: {x-a: {exact: b}}}]\n",
        f"error: {CONFIG_FILE}:2: mirror says then: promote, which would skip the abTest stage that follows it",
    ),
    (
        "rollout:\n  canaryService: cart-canary\n",
        f"error: {CONFIG_FILE}:2: stableService is missing: a host-level split names both Services (set",
    ),
    (
        "rollout:\n  stableService: cart\n  canaryService: cart\n",
        f"error: {CONFIG_FILE}:3: stableService and canaryService are both 'cart'",
    ),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS, ids=[expected.split(": ", 2)[2][:40] for _, expected in ERRORS])
def test_policy_mistakes_name_the_meshops_yaml_line_to_edit(tmp_path, text, expected):
    assert error_of(tmp_path, text).startswith(expected)


def test_a_mistake_in_a_service_override_points_at_the_override(tmp_path):
    text = "rollout:\n  steps: [10, 20]\n  services:\n    reviews:\n      steps: [30, 20]\n"
    assert error_of(tmp_path, text, "reviews").startswith(f"error: {CONFIG_FILE}:5: steps must increase")


def test_unknown_keys_in_a_service_override_are_schema_errors_with_a_suggestion(tmp_path):
    with pytest.raises(ConfigError) as caught:
        config_with(tmp_path, "rollout:\n  services:\n    reviews:\n      stepWeigth: 10\n")
    assert caught.value.one_line().startswith(f"error: {CONFIG_FILE}:4: rollout.services.reviews.stepWeigth: unknown key")
    assert "stepWeight" in caught.value.one_line()


def test_a_custom_workload_template_names_canary_and_stable(tmp_path):
    policy = policy_of(tmp_path, "rollout: {workload: '{namespace}-{service}-{version}'}")
    assert policy.workload_name(service="reviews", version="v3", namespace="shop") == "shop-reviews-v3"


def test_mirror_and_ab_steps_come_before_the_weights_and_gates_move_with_them(tmp_path):
    policy = policy_of(tmp_path, """
        rollout:
          steps: [10, {approve: true}, 50]
          confirmPromotion: true
          mirror: {percent: 30, analyses: 2}
          abTest: {analyses: 1, match: [{headers: {x-canary: {exact: insider}}}]}
        """)
    weights, gates, walk = policy.walk()
    assert weights == (0, 0, 0, 10, 50) and walk.stages == ("mirror", "mirror", "ab", "weight", "weight")
    assert gates == {4, 5} and walk.mirror_percent == 30
    assert walk.match == ({"headers": {"x-canary": {"exact": "insider"}}},)


def test_an_ab_stage_that_says_then_promote_walks_no_weight_steps(tmp_path):
    policy = policy_of(tmp_path, "rollout: {confirmPromotion: true, abTest: {analyses: 3, then: promote, "
                                 "match: [{headers: {cookie: {regex: '^(.*?;)?(canary=always)(;.*)?$'}}}]}}")
    weights, gates, walk = policy.walk()
    assert weights == (0, 0, 0) and walk.stages == ("ab",) * 3 and gates == {3}


def test_a_header_condition_with_both_exact_and_regex_says_to_pick_one(tmp_path):
    text = "rollout:\n  abTest:\n    match: [{headers: {x-a: {exact: b, regex: c}}}]\n"
    assert error_of(tmp_path, text) == (f"error: {CONFIG_FILE}:3: abTest header 'x-a' needs exactly one of exact or "
                                        "regex, got exact, regex (write {exact: value} or {regex: expression})")
