"""The PromQL behind the built-in rollout checks, as a table a reader can paste into Prometheus.

Each measure is one number for one workload over the analysis window, from Istio's standard
metrics as one reporter sees them: by default the *destination* proxy (the canary's own sidecar sees
every request that reached it); in ambient mode the *waypoint* proxy (`reporter="waypoint"`), or
the *source* proxies when the destination runs without a sidecar — the policy's `reporter`. `analysis` sends all measures of one analysis in a single query — each tagged with a
`meshops_check` label and joined with `or` — so a step costs one query for the built-ins however
many there are. Templates use `$name` (string.Template) because PromQL is full of `{}`.
"""
from __future__ import annotations

import string

REQUESTS_METRIC = "istio_requests_total"
DURATION_BUCKETS_METRIC = "istio_request_duration_milliseconds_bucket"
# The label `analysis` adds to tell the measures of one combined query apart.
MEASURE_LABEL = "meshops_check"

# Who reports a request in Istio's standard metrics: the server-side sidecar, the client-side one,
# or (ambient mode) the waypoint proxy in front of the workload.
REPORTERS = ("destination", "source", "waypoint")
DEFAULT_REPORTER = "destination"

SELECTOR = 'reporter="$reporter",destination_workload_namespace="$namespace",destination_workload="$workload"'
# A version that is a Service of its own (an HTTPRoute backend, a VirtualService host-level split) is
# selected by the Service its requests were sent to, as Istio reports it.
SERVICE_SELECTOR = 'reporter="$reporter",destination_service_namespace="$namespace",destination_service_name="$service"'

# measure -> PromQL. `$selector` picks one workload, `$window` is the range, `$quantile` 0..1.
MEASURES: dict[str, str] = {
    # Requests the workload received in the window (increase() of a counter: resets are handled).
    "requests": f"sum(increase({REQUESTS_METRIC}{{$selector}}[$window]))",
    # Percent of non-5xx responses. `or vector(0)`: a healthy workload has no 5xx series at all,
    # and without it the division would be empty, i.e. "no data" for the best possible canary.
    # 0 requests in the window gives 0/0 = NaN, which is never a pass.
    "success_rate": (
        f'100 * (1 - ((sum(rate({REQUESTS_METRIC}{{$selector,response_code=~"5.."}}[$window])) or vector(0))'
        f" / sum(rate({REQUESTS_METRIC}{{$selector}}[$window]))))"
    ),
    # Latency percentile in milliseconds, interpolated within Istio's histogram buckets.
    "latency": f"histogram_quantile($quantile, sum by (le) (rate({DURATION_BUCKETS_METRIC}{{$selector}}[$window])))",
}


def label_value(text: str) -> str:
    """`text` escaped for use inside a PromQL double-quoted string."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def measure(name: str, *, namespace: str, workload: str, window: str, quantile: float = 0.99,
            reporter: str = DEFAULT_REPORTER, service: str | None = None) -> str:
    """The standalone PromQL of one built-in measure for one workload (or, given `service`, for the
    requests sent to that Service), as `reporter` reports it."""
    selector = string.Template(SELECTOR if service is None else SERVICE_SELECTOR).substitute(
        reporter=label_value(reporter), namespace=label_value(namespace), workload=label_value(workload),
        service=label_value(service or ""))
    return string.Template(MEASURES[name]).substitute(selector=selector, window=window, quantile=f"{quantile:g}")


def combined(measures: dict[str, str]) -> str:
    """One query answering every measure, each series tagged `meshops_check="<key>"`."""
    return " or ".join(
        f'label_replace({expression}, "{MEASURE_LABEL}", "{label_value(key)}", "", "")'
        for key, expression in measures.items()
    )
