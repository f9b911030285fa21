"""Rollout policy: how a canary of one service in one environment walks its weights and is judged.

The rollout stage reads the `rollout:` section of an environment's `meshops.yaml` (already checked
against `config.ROLLOUT_POLICY_SCHEMA`), lays `rollout.services.<name>` over it and hands a frozen
`RolloutPolicy` to the analysis (`analysis.analyze`) and to the engine that moves weights. Every
mistake the schema cannot see (weights that do not increase, a custom check that can never fail, an
unknown template variable) is a `ConfigError` at the meshops.yaml line to edit.

The vocabulary (every key optional; defaults below, each with its reason):

    rollout:
      steps: [5, 10, 25, 50]        # canary weights to walk; or stepWeight: 20 + maxWeight: 50 -> 20, 40, 50
                                    # an item {approve: true} waits for `meshops rollout approve` there
      confirmPromotion: false       # true: a person approves the promotion after the last step
      interval: 1m                  # between steps (Go duration)
      window: 1m                    # metrics each analysis judges (default: the interval)
      threshold: 1                  # failed analyses that roll back
      minRequests: 20               # fewer canary requests per window: not judged ...
      onLowTraffic: hold            # ... but held (or failed)
      successRate: {min: 99}        # percent of non-5xx responses
      latency: {percentile: 99, max: 500}               # milliseconds
      compareToStable: {maxErrorRateIncrease: 1, maxLatencyIncrease: 100}   # points, ms
      checks:                       # custom PromQL, one number each, judged against min/max
        - {name: cpu, query: 'max(rate(cpu{pod=~"$canary_workload-.*"}[$window]))', max: 0.8, onNoData: hold}
      workload: "{service}-{version}"   # Deployment name = Istio's destination_workload
      canaryReadiness: true         # the canary Deployment needs ready pods before each step
      reporter: destination         # whose metrics: destination | source | waypoint (ambient mode)
      progressDeadline: 10m         # no step for this long (holds, inconclusive, not ready) ...
      onTimeout: rollback           # ... rolls back (or: hold, and say so once)
      webhooks:                     # HTTP checks that must answer 2xx within their timeout
        - {name: smoke, type: pre-rollout, url: http://tester/smoke, timeout: 30s}
      mirror: {percent: 50, analyses: 2, then: steps}   # first copy requests to the canary (no user traffic)
      abTest:                       # then only matching requests go to the canary, for N analyses
        analyses: 3
        match:                      # any of these; each lists headers that must all match (exact or regex)
          - headers: {x-canary: {exact: insider}}
          - headers: {cookie: {regex: "^(.*?;)?(canary=always)(;.*)?$"}}
        then: steps                 # continue with the weight steps (or: promote)
      stableService: reviews-stable # VirtualService host-level split: the Services routed between
      canaryService: reviews-canary #   (instead of subsets; metrics select destination_service_name)
      services:
        reviews: {steps: [2, 5, 10]}    # per-service overrides: maps merge key by key, lists replace

Custom check queries use `$service $namespace $canary $stable $canary_workload $stable_workload
$canary_service $stable_service $window` (or `${name}`; `$$` is a literal `$`), never `{...}`, which PromQL needs for labels.
"""
from __future__ import annotations

import re
import string
import threading
from dataclasses import dataclass
from typing import Any, Callable

import urllib.parse

from ..source.envconfig import EnvConfig
from ..model.durations import parse_duration
from ..model.errors import ConfigError, Location
from ..model.masking import has_userinfo, mask_url
from ..model.steering import BY_SUBSET
from .queries import DEFAULT_REPORTER
from .stages import AB, MIRROR, WEIGHT, Walk

# --- Defaults, each with the reason it is what it is ----------------------------------------------

# Small first steps bound the blast radius of a bad release; stopping at 50 % keeps the stable
# version serving at least half the traffic until promotion (Flagger's documented shape).
DEFAULT_STEPS: tuple[int, ...] = (5, 10, 25, 50)
# With `stepWeight` alone: walk up to half the traffic, for the same reason as DEFAULT_STEPS.
DEFAULT_MAX_WEIGHT = 50
# One minute per step is Flagger's default: long enough for a minute of metrics at the usual 15 s
# scrape interval, short enough that a four-step rollout finishes in minutes.
DEFAULT_INTERVAL = 60.0
# One failed analysis rolls back. Failing safe is the default; environments with noisy metrics
# raise it knowingly (Flagger's default is 1 too).
DEFAULT_THRESHOLD = 1
# Below 20 requests one error moves the success rate by 5 points, so a 99 % bound would be judged
# on noise; 20 is still reached within a minute by a 5 % step of a service doing 10 requests/s.
DEFAULT_MIN_REQUESTS = 20.0
# An idle canary is the most reported Flagger/Argo Rollouts problem: wait for traffic rather than
# roll back a release nobody has called yet.
DEFAULT_ON_LOW_TRAFFIC = "hold"
# Flagger's defaults for its built-in checks: 99 % non-5xx, p99 under 500 ms.
DEFAULT_SUCCESS_RATE_MIN = 99.0
DEFAULT_LATENCY_PERCENTILE = 99.0
DEFAULT_LATENCY_MAX_MS = 500.0
# Missing data is never a pass: a custom check without data fails unless it says `onNoData: hold`.
DEFAULT_ON_NO_DATA = "fail"
# Istio's Bookinfo names Deployments `<service>-<version>` (reviews-v2), which is also what Istio
# reports as `destination_workload`.
DEFAULT_WORKLOAD = "{service}-{version}"
# Without ready pods a canary's share of traffic fails while the destination-side metrics are
# simply empty, so readiness is checked by default (workloads that are not Deployments turn it off).
DEFAULT_CANARY_READINESS = True
# A rollout that has not moved for this long (Prometheus away, no traffic, no ready pods) is stuck:
# Flagger's and Argo Rollouts' default progress deadline is 10 minutes too.
DEFAULT_PROGRESS_DEADLINE = 600.0
# A stuck canary is rolled back: the stable version is the one known to work (Flagger does the same).
DEFAULT_ON_TIMEOUT = "rollback"
TIMEOUT_ACTIONS = ("rollback", "hold")
# One analysis per A/B or mirror stage unless the policy says more: a stage that passes once moves on.
DEFAULT_STAGE_ANALYSES = 1
# Mirror every request by default: the canary sees the full load while no user depends on it.
DEFAULT_MIRROR_PERCENT = 100
# Header names as Istio and the Gateway API accept them in a match: an HTTP token, lower case (Istio
# lower-cases header names and rejects upper-case ones in VirtualService header matches).
HEADER_NAME = re.compile(r"^[a-z0-9!#$%&'*+\-.^_`|~]+$")
# When a webhook check is called, as Flagger names the same hooks.
WEBHOOK_TYPES = ("pre-rollout", "rollout", "pre-promotion")
# A webhook that takes longer than this is treated as not answering (Flagger's default is 60 s; a
# smoke test should answer in seconds, and the wait holds the rollout's thread, not others).
DEFAULT_WEBHOOK_TIMEOUT = 30.0

LOW_TRAFFIC_ACTIONS = ("hold", "fail")
WORKLOAD_FIELDS = ("service", "version", "namespace")
# Variables a custom check's PromQL may use, written `$name` or `${name}` (as in Grafana
# dashboards): `$` never occurs in PromQL, so they cannot be confused with label braces.
CHECK_VARIABLES = ("service", "namespace", "canary", "stable", "canary_workload", "stable_workload",
                   "canary_service", "stable_service", "window")
# Names of the checks `analysis` always runs; custom checks may not reuse them.
BUILTIN_CHECK_NAMES = ("request-count", "success-rate", "latency", "error-rate-vs-stable", "latency-vs-stable")

_STEP_KEYS = ("steps", "stepWeight", "maxWeight")
_SECTION = "rollout"


# --- Durations -------------------------------------------------------------------------------------


def promql_duration(seconds: float) -> str:
    """A PromQL range literal for `seconds`, in the largest whole unit (`1m`, `90s`, `1500ms`)."""
    milliseconds = round(seconds * 1000)
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        if milliseconds % size == 0:
            return f"{milliseconds // size}{unit}"
    raise AssertionError("unreachable: every whole number of milliseconds divides by 1")


# --- The policy ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomCheck:
    """A user PromQL check: one number, judged against `min`/`max`."""

    name: str
    query: str  # template with $service, $namespace, $canary, $stable, $canary_workload, $stable_workload, $window
    min: float | None
    max: float | None
    on_no_data: str  # "fail" or "hold"
    location: Location | None = None

    def render(self, variables: dict[str, str]) -> str:
        """The PromQL to send, with every `$variable` replaced."""
        return string.Template(self.query).substitute(variables)


@dataclass(frozen=True)
class Webhook:
    """An HTTP check: POSTed the rollout's facts, it must answer 2xx within `timeout`."""

    name: str
    type: str  # pre-rollout (before the first traffic), rollout (every analysis), pre-promotion (before promoting)
    url: str
    timeout: float
    metadata: tuple[tuple[str, str], ...] = ()
    location: Location | None = None


@dataclass(frozen=True)
class StableComparison:
    """How much worse than the stable version, over the same window, the canary may be."""

    max_error_rate_increase: float | None  # percentage points of 5xx share
    max_latency_increase: float | None  # milliseconds at the policy's percentile


@dataclass(frozen=True)
class StageSettings:
    """An A/B or mirror stage of the policy: how many analyses it lasts and what follows it."""

    analyses: int
    then: str  # "steps" (the weight steps follow) or "promote"
    match: tuple[dict[str, Any], ...] = ()  # A/B: [{headers: {name: {exact|regex: value}}}]
    percent: int = 0  # mirror: share of requests copied


@dataclass(frozen=True)
class RolloutPolicy:
    """Everything the analysis and the engine need to walk and judge one service's canary."""

    environment: str
    service: str | None  # None: the environment's default policy
    weights: tuple[int, ...]  # canary weights to walk, strictly increasing; promotion follows the last
    interval: float  # seconds between steps
    window: float  # seconds of metrics each analysis judges
    threshold: int  # failed analyses that roll back
    min_requests: float  # canary requests per window below which nothing is judged
    on_low_traffic: str  # "hold" or "fail"
    success_rate_min: float | None  # percent of non-5xx responses
    success_rate_max: float | None
    latency_percentile: float  # e.g. 99 for p99
    latency_max_ms: float
    compare_to_stable: StableComparison | None
    checks: tuple[CustomCheck, ...]
    workload: str  # Deployment name template with {service}, {version}, {namespace}
    location: Location | None = None  # where this policy is written (the rollout section)
    gates: frozenset[int] = frozenset()  # steps after which a person approves (len(weights): the promotion)
    canary_readiness: bool = DEFAULT_CANARY_READINESS
    reporter: str = DEFAULT_REPORTER
    progress_deadline: float = DEFAULT_PROGRESS_DEADLINE  # seconds without a step before `on_timeout`
    on_timeout: str = DEFAULT_ON_TIMEOUT  # "rollback" or "hold"
    webhooks: tuple[Webhook, ...] = ()
    ab_test: StageSettings | None = None
    mirror: StageSettings | None = None
    stable_service: str | None = None  # VirtualService host-level split: both set, or neither
    canary_service: str | None = None

    def walk(self, *, split_by: str = BY_SUBSET) -> tuple[tuple[int, ...], frozenset[int], Walk]:
        """The steps a new rollout walks (0 for mirror and A/B steps, then the weights), its gates, and its Walk."""
        prefix = ((MIRROR,) * self.mirror.analyses if self.mirror else ()) + ((AB,) * self.ab_test.analyses if self.ab_test else ())
        last = self.ab_test or self.mirror
        weights = () if last is not None and last.then == "promote" else self.weights
        gates = {gate + len(prefix) for gate in self.gates if gate < len(self.weights) and weights}
        if len(self.weights) in self.gates:
            gates.add(len(prefix) + len(weights))
        walk = Walk(stages=prefix + (WEIGHT,) * len(weights), match=self.ab_test.match if self.ab_test else (),
                    mirror_percent=self.mirror.percent if self.mirror else 0, split_by=split_by)
        return (0,) * len(prefix) + weights, frozenset(gates), walk

    def webhooks_of(self, kind: str) -> tuple[Webhook, ...]:
        return tuple(hook for hook in self.webhooks if hook.type == kind)

    @property
    def window_text(self) -> str:
        """The window as a PromQL range literal (`1m`, `10s`)."""
        return promql_duration(self.window)

    def workload_name(self, *, service: str, version: str, namespace: str) -> str:
        """The Deployment (Istio `destination_workload`) that runs `version` of `service`."""
        return self.workload.format(service=service, version=version, namespace=namespace)


# --- Reading meshops.yaml --------------------------------------------------------------------------


class _Layers:
    """The environment's rollout section with one service's overrides on top, remembering paths."""

    def __init__(self, config: EnvConfig, service: str | None) -> None:
        self.config = config
        section = config.section(_SECTION) or {}
        self.prefixes: list[tuple[tuple[str, ...], dict[str, Any]]] = []
        overrides = (section.get("services") or {}).get(service) if service else None
        if overrides is not None:
            self.prefixes.append(((_SECTION, "services", service), overrides))
        self.prefixes.append(((_SECTION,), section))
        # A service that picks its own step style drops the environment's other style.
        self.step_layers = self.prefixes[:1] if overrides and any(k in overrides for k in _STEP_KEYS) else self.prefixes

    def get(self, *path: str, layers: list | None = None) -> tuple[Any, tuple]:
        """The value at `path` from the most specific layer that sets it, and its full path."""
        for prefix, data in layers or self.prefixes:
            node: Any = data
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None:
                return node, prefix + path
        return None, (_SECTION,) + path

    def step(self, key: str) -> tuple[Any, tuple]:
        return self.get(key, layers=self.step_layers)

    def error(self, message: str, path: tuple, hint: str) -> ConfigError:
        return ConfigError(message, location=self.config.location(*path), hint=hint)


def _steps_and_gates(layers: _Layers) -> tuple[tuple[int, ...], frozenset[int]]:
    """The canary weights and the approval gates (`{approve: true}` items, `confirmPromotion`)."""
    steps, steps_path = layers.step("steps")
    gates: set[int] = set()
    if steps is not None:
        weights: list[int] = []
        for item in steps:
            if isinstance(item, dict):
                gates.add(len(weights))  # the schema allows only {approve: true}
            else:
                weights.append(item)
        if not weights:
            raise layers.error("steps has no canary weight, only approvals", steps_path,
                               "list weights too, e.g. [10, 25, {approve: true}, 50]")
        layers = _WithSteps(layers, weights)
    confirm, _ = layers.get("confirmPromotion")
    walked = _weights(layers)
    if confirm:
        gates.add(len(walked))
    return walked, frozenset(gates)


class _WithSteps:
    """`layers` with the `steps` list stripped of its approval items (for `_weights`)."""

    def __init__(self, layers: _Layers, weights: list[int]) -> None:
        self._layers, self._weights = layers, weights

    def step(self, key: str) -> tuple[Any, tuple]:
        value, path = self._layers.step(key)
        return (self._weights, path) if key == "steps" else (value, path)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._layers, name)


def _weights(layers: _Layers) -> tuple[int, ...]:
    steps, steps_path = layers.step("steps")
    step_weight, step_path = layers.step("stepWeight")
    max_weight, max_path = layers.step("maxWeight")
    if steps is not None and (step_weight is not None or max_weight is not None):
        raise layers.error(
            "both steps and stepWeight/maxWeight are set",
            step_path if step_weight is not None else max_path,
            "use either an explicit list (steps: [5, 10, 25, 50]) or stepWeight with maxWeight",
        )
    if steps is not None:
        for index in range(1, len(steps)):
            if steps[index] <= steps[index - 1]:
                raise layers.error(
                    f"steps must increase, but {steps[index]} follows {steps[index - 1]}",
                    steps_path + (index,),
                    "list canary weights in the order they are reached, e.g. [5, 10, 25, 50]",
                )
        return tuple(steps)
    if step_weight is None:
        if max_weight is not None:
            raise layers.error("maxWeight needs stepWeight", max_path, "add stepWeight, e.g. stepWeight: 10")
        return DEFAULT_STEPS
    ceiling = DEFAULT_MAX_WEIGHT if max_weight is None else max_weight
    if step_weight > ceiling:
        raise layers.error(
            f"stepWeight {step_weight} is above maxWeight {ceiling}",
            step_path,
            "make stepWeight at most maxWeight",
        )
    # No overshoot: 20/50 walks 20, 40, 50 (Flagger would go to 60).
    walked = list(range(step_weight, ceiling + 1, step_weight))
    if walked[-1] != ceiling:
        walked.append(ceiling)
    return tuple(walked)


def _duration(layers: _Layers, key: str, default: float) -> tuple[float, tuple]:
    text, path = layers.get(key)
    if text is None:
        return default, path
    seconds = parse_duration(str(text))  # the schema pattern already guarantees the shape
    if seconds <= 0:
        raise layers.error(f"{key} must be longer than 0", path, "use e.g. 30s or 1m")
    return seconds, path


def _success_rate_bounds(layers: _Layers) -> tuple[float | None, float | None]:
    low, low_path = layers.get("successRate", "min")
    high, high_path = layers.get("successRate", "max")
    for value, path in ((low, low_path), (high, high_path)):
        if value is not None and not 0 <= value <= 100:
            raise layers.error(
                f"successRate bounds are percentages, got {value}", path, "use a number from 0 to 100, e.g. 99.5"
            )
    if low is None and high is None:
        low = DEFAULT_SUCCESS_RATE_MIN
    return low, high


def _comparison(layers: _Layers) -> StableComparison | None:
    errors, _ = layers.get("compareToStable", "maxErrorRateIncrease")
    latency, _ = layers.get("compareToStable", "maxLatencyIncrease")
    if errors is None and latency is None:
        return None
    return StableComparison(max_error_rate_increase=errors, max_latency_increase=latency)


def _template_problem(template: str, allowed: tuple[str, ...], render: Callable[[dict[str, str]], Any]) -> str | None:
    """What is wrong with a template, rendering it once with placeholder values (None if fine)."""
    try:
        render({name: name for name in allowed})
    except KeyError as error:
        return f"unknown variable {error.args[0]!r}"
    except (ValueError, IndexError) as error:
        return str(error)
    return None


def _checks(layers: _Layers) -> tuple[CustomCheck, ...]:
    entries, path = layers.get("checks")
    checks: list[CustomCheck] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries or []):
        where = path + (index,)
        name = entry["name"]
        if name in BUILTIN_CHECK_NAMES or name in seen:
            raise layers.error(
                f"check name {name!r} is already used" + (" by a built-in check" if name in BUILTIN_CHECK_NAMES else ""),
                where + ("name",),
                "give every check its own name; built-in: " + ", ".join(BUILTIN_CHECK_NAMES),
            )
        seen[name] = index
        low, high = entry.get("min"), entry.get("max")
        if low is None and high is None:
            raise layers.error(
                f"check {name!r} has neither min nor max, so it could never fail",
                where,
                "add min: and/or max: bounds for the query's value",
            )
        if low is not None and high is not None and low > high:
            raise layers.error(f"check {name!r} has min {low} above max {high}", where + ("min",), "swap them")
        check = CustomCheck(
            name=name,
            query=entry["query"],
            min=low,
            max=high,
            on_no_data=entry.get("onNoData", DEFAULT_ON_NO_DATA),
            location=layers.config.location(*where, "query"),
        )
        problem = _template_problem(check.query, CHECK_VARIABLES, check.render)
        if problem:
            raise layers.error(
                f"check {name!r} query: {problem}",
                where + ("query",),
                "variables are " + ", ".join("$" + v for v in CHECK_VARIABLES) + "; write $$ for a literal $",
            )
        checks.append(check)
    return tuple(checks)


def _workload(layers: _Layers) -> str:
    template, path = layers.get("workload")
    if template is None:
        return DEFAULT_WORKLOAD
    problem = _template_problem(template, WORKLOAD_FIELDS, lambda values: template.format(**values))
    if problem is None and "{version}" not in template:
        problem = "does not contain {version}, so canary and stable would be the same workload"
    if problem:
        raise layers.error(
            f"workload template {template!r}: {problem}",
            path,
            "use {service}, {version} and {namespace}, e.g. '{service}-{version}'",
        )
    return template


def _webhooks(layers: _Layers) -> tuple[Webhook, ...]:
    entries, path = layers.get("webhooks")
    hooks: list[Webhook] = []
    names: set[str] = set()
    for index, entry in enumerate(entries or []):
        where = path + (index,)
        name, url = entry["name"], entry["url"]
        if name in names:
            raise layers.error(f"webhook name {name!r} is used twice", where + ("name",), "give every webhook its own name")
        names.add(name)
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise layers.error(f"webhook {name!r}: url {mask_url(url)!r} is not an http(s) URL", where + ("url",),
                               "write it as http://host/path or https://host/path")
        if has_userinfo(url):
            raise layers.error(f"webhook {name!r}: url {mask_url(url)!r} carries credentials, which never belong in the repo",
                               where + ("url",), "remove user:password@ (a webhook check sends no secret)")
        timeout = parse_duration(entry["timeout"]) if entry.get("timeout") else DEFAULT_WEBHOOK_TIMEOUT
        if timeout <= 0:
            raise layers.error(f"webhook {name!r}: timeout must be longer than 0", where + ("timeout",), "e.g. 30s")
        metadata = tuple(sorted((str(k), str(v)) for k, v in (entry.get("metadata") or {}).items()))
        hooks.append(Webhook(name=name, type=entry.get("type", "rollout"), url=url, timeout=timeout, metadata=metadata,
                             location=layers.config.location(*where)))
    return tuple(hooks)


def _ab_test(layers: _Layers) -> StageSettings | None:
    section, path = layers.get("abTest")
    if section is None:
        return None
    for index, alternative in enumerate(section["match"]):
        for name, condition in alternative["headers"].items():
            where = path + ("match", index, "headers", name)
            if len(condition) != 1:
                given = ", ".join(sorted(condition)) or "neither"
                raise layers.error(f"abTest header {name!r} needs exactly one of exact or regex, got {given}", where,
                                   "write {exact: value} or {regex: expression}")
            if not HEADER_NAME.match(name):
                raise layers.error(f"abTest header {name!r} is not a lower-case HTTP header name", where,
                                   "write header names in lower case, e.g. x-canary (Istio matches them lower-cased)")
            if "regex" in condition:
                try:
                    re.compile(condition["regex"])
                except re.error as error:
                    raise layers.error(f"abTest header {name!r}: regex {condition['regex']!r} does not compile: {error}",
                                       where + ("regex",), "fix the regular expression (RE2 syntax, as Envoy reads it)")
    return StageSettings(analyses=section.get("analyses", DEFAULT_STAGE_ANALYSES), then=section.get("then", "steps"),
                         match=tuple(section["match"]))


def _mirror(layers: _Layers, ab_test: StageSettings | None) -> StageSettings | None:
    section, path = layers.get("mirror")
    if section is None:
        return None
    if ab_test is not None and section.get("then") == "promote":
        raise layers.error("mirror says then: promote, which would skip the abTest stage that follows it",
                           path + ("then",), "remove `then: promote` from mirror (abTest runs after mirror), or drop abTest")
    return StageSettings(analyses=section.get("analyses", DEFAULT_STAGE_ANALYSES), then=section.get("then", "steps"),
                         percent=section.get("percent", DEFAULT_MIRROR_PERCENT))


def _services(layers: _Layers) -> tuple[str | None, str | None]:
    stable, stable_path = layers.get("stableService")
    canary, canary_path = layers.get("canaryService")
    if (stable is None) != (canary is None):
        missing, path = ("canaryService", stable_path) if canary is None else ("stableService", canary_path)
        raise layers.error(f"{missing} is missing: a host-level split names both Services", path,
                           "set stableService and canaryService together (or neither, to split by subsets)")
    if stable is not None and stable == canary:
        raise layers.error(f"stableService and canaryService are both {stable!r}", canary_path,
                           "name two different Services, e.g. reviews-stable and reviews-canary")
    return stable, canary


def load_policy(config: EnvConfig, service: str | None = None) -> RolloutPolicy:
    """The rollout policy of `service` in this environment (its overrides over the defaults)."""
    layers = _Layers(config, service)
    interval, _ = _duration(layers, "interval", DEFAULT_INTERVAL)
    # The window defaults to the interval, so each analysis judges exactly the traffic since the last step.
    window, _ = _duration(layers, "window", interval)
    percentile, _ = layers.get("latency", "percentile")
    latency_max, _ = layers.get("latency", "max")
    success_min, success_max = _success_rate_bounds(layers)
    threshold, _ = layers.get("threshold")
    min_requests, _ = layers.get("minRequests")
    on_low_traffic, _ = layers.get("onLowTraffic")
    deadline, deadline_path = _duration(layers, "progressDeadline", DEFAULT_PROGRESS_DEADLINE)
    if deadline <= interval:
        raise layers.error(f"progressDeadline ({promql_duration(deadline)}) must be longer than the interval "
                           f"({promql_duration(interval)})", deadline_path,
                           "give each step several intervals, e.g. progressDeadline: 10m with interval: 1m")
    readiness, _ = layers.get("canaryReadiness")
    reporter, _ = layers.get("reporter")
    on_timeout, _ = layers.get("onTimeout")
    weights, gates = _steps_and_gates(layers)
    ab_test = _ab_test(layers)
    stable_service, canary_service = _services(layers)
    section_path = layers.prefixes[0][0]
    return RolloutPolicy(
        environment=config.name,
        service=service,
        weights=weights,
        interval=interval,
        window=window,
        threshold=DEFAULT_THRESHOLD if threshold is None else int(threshold),
        min_requests=DEFAULT_MIN_REQUESTS if min_requests is None else float(min_requests),
        on_low_traffic=on_low_traffic or DEFAULT_ON_LOW_TRAFFIC,
        success_rate_min=success_min,
        success_rate_max=success_max,
        latency_percentile=DEFAULT_LATENCY_PERCENTILE if percentile is None else float(percentile),
        latency_max_ms=DEFAULT_LATENCY_MAX_MS if latency_max is None else float(latency_max),
        compare_to_stable=_comparison(layers),
        checks=_checks(layers),
        workload=_workload(layers),
        location=config.location(*section_path) if config.section(_SECTION) is not None else Location(config.file),
        gates=gates,
        canary_readiness=DEFAULT_CANARY_READINESS if readiness is None else bool(readiness),
        reporter=reporter or DEFAULT_REPORTER,
        progress_deadline=deadline,
        on_timeout=on_timeout or DEFAULT_ON_TIMEOUT,
        webhooks=_webhooks(layers),
        ab_test=ab_test,
        mirror=_mirror(layers, ab_test),
        stable_service=stable_service,
        canary_service=canary_service,
    )


class Policies:
    """An environment's policies, each read from meshops.yaml once, on first use, whoever asks."""

    def __init__(self, config: EnvConfig) -> None:
        self.config = config
        self._read: dict[str | None, RolloutPolicy] = {}
        self._lock = threading.Lock()

    def of(self, service: str | None) -> RolloutPolicy:
        """The policy of `service` (None: the environment's default)."""
        with self._lock:
            if service not in self._read:
                self._read[service] = load_policy(self.config, service)
            return self._read[service]


def services_split(config: EnvConfig) -> Callable[[str], bool]:
    """Whether a service's policy names stableService/canaryService (its routes split by host), without
    reading every service's policy: the diff overlay asks for every VirtualService of a plan."""
    section = config.section(_SECTION) or {}
    everyone = section.get("canaryService") is not None
    named = {name for name, override in (section.get("services") or {}).items()
             if isinstance(override, dict) and override.get("canaryService") is not None}
    return lambda service: everyone or service in named


_POLICIES_LOCK = threading.Lock()


def policies(config: EnvConfig) -> Policies:
    """The policies of `config`'s environment, one `Policies` per config object: diff's overlay,
    apply and the rollout driver share its reads."""
    with _POLICIES_LOCK:
        return config.derived.setdefault("rollout.policies", Policies(config))


def check_policies(config: EnvConfig) -> dict[str | None, RolloutPolicy]:
    """Every policy the environment defines (default and per service), so mistakes surface early."""
    services = ((config.section(_SECTION) or {}).get("services") or {}).keys()
    book = policies(config)
    return {service: book.of(service) for service in [None, *sorted(services)]}
