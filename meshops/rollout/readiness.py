"""Canary readiness: the canary's Deployment must exist and have ready pods before it gets traffic.

Without ready pods, the canary's share of requests fails at the caller while the canary's own
(destination-side) metrics stay empty: the analysis would hold on "no requests" forever with users
seeing errors. So before the first step and before each step the engine reads the Deployment the
policy's `workload:` pattern names (`apps/v1`, one GET) and holds with the reason when it is
missing, scaled to zero or has no ready replica; the progress deadline then bounds the wait. A
cluster that cannot be asked (forbidden, unreachable) makes the assessment inconclusive.
"""
from __future__ import annotations

from ..cluster.api import ApiError, KubeApi
from ..metrics.source import QueryStatus
from ..model.errors import MeshopsError
from .analysis import CheckResult, Outcome
from .decide import READINESS_CHECK

DEPLOYMENT_PATH = "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"


def _check(outcome: Outcome, reason: str, *, path: str, ready: int | None = None, wanted: int | None = None,
           status: QueryStatus = QueryStatus.OK) -> CheckResult:
    return CheckResult(name=READINESS_CHECK, outcome=outcome, value=ready, min=1 if wanted else None, max=wanted,
                       unit="ready replicas", query=f"GET {path}", reason=reason, status=status)


def canary_readiness(api: KubeApi, *, namespace: str, workload: str) -> CheckResult:
    """Whether Deployment `namespace/workload` has at least one ready replica, as a check."""
    path = DEPLOYMENT_PATH.format(namespace=namespace, name=workload)
    who = f"Deployment {namespace}/{workload}"
    try:
        deployment = api.request("GET", path)
    except ApiError as error:
        if error.not_found:
            return _check(Outcome.HOLD, f"{who} does not exist (the canary workload the policy's `workload:` names)",
                          path=path, status=QueryStatus.NO_DATA)
        if error.status in (401, 403):
            return _check(Outcome.INCONCLUSIVE, f"cannot read {who}: {error.status} {error.reason} "
                          "(grant meshops `get` on deployments.apps)", path=path, status=QueryStatus.UNREACHABLE)
        return _check(Outcome.INCONCLUSIVE, f"cannot read {who}: {error.status} {error.reason}", path=path,
                      status=QueryStatus.UNREACHABLE)
    except MeshopsError as error:
        return _check(Outcome.INCONCLUSIVE, f"cannot read {who}: {error.message}", path=path, status=QueryStatus.UNREACHABLE)
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    wanted = spec.get("replicas", 1)
    ready = int(status.get("readyReplicas") or 0)
    if not wanted:
        return _check(Outcome.HOLD, f"{who} is scaled to 0 replicas", path=path, ready=ready, wanted=0)
    if ready < 1:
        return _check(Outcome.HOLD, f"{who} has 0/{wanted} replicas ready", path=path, ready=0, wanted=wanted)
    return _check(Outcome.PASS, f"{who} has {ready}/{wanted} replicas ready", path=path, ready=ready, wanted=wanted)
