"""Webhook checks: HTTP endpoints a rollout asks before it moves (Flagger's load-test/acceptance pattern).

A policy's `webhooks:` are called at three moments: `pre-rollout` before the canary gets its first
traffic, `rollout` with every analysis, `pre-promotion` with the analysis that would promote. Each
gets a JSON POST describing the rollout and must answer 2xx within its timeout. The answer becomes
a check of the assessment: 2xx passes; any other status fails it (with the start of the body in the
reason: what the test runner said); no answer at all (refused, timed out) is inconclusive — the
canary is not to blame, the progress deadline bounds the wait.
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping

from ..metrics.source import QueryStatus
from ..model.masking import mask_url
from .analysis import AnalysisTarget, CheckResult, Outcome
from .policy import Webhook
from .posting import post_json
from .state import RolloutState

CHECK_PREFIX = "webhook/"


def payload(hook: Webhook, *, environment: str, target: AnalysisTarget, state: RolloutState) -> dict[str, Any]:
    """What a webhook receives (documented in the README)."""
    return {
        "name": hook.name,
        "type": hook.type,
        "environment": environment,
        "namespace": target.namespace,
        "service": target.service,
        "stable": target.stable,
        "canary": target.canary,
        "canaryWorkload": target.canary_workload,
        "step": state.step,
        "steps": len(state.weights),
        "weights": dict(state.current),
        "metadata": dict(hook.metadata),
    }


def call(hook: Webhook, body: Mapping[str, Any]) -> CheckResult:
    """POST `body` to `hook` and judge the answer (see the module docstring)."""
    posted = post_json(hook.url, json.dumps(body, sort_keys=True).encode(), timeout=hook.timeout)
    if posted.ok:
        outcome, status = Outcome.PASS, QueryStatus.OK
    elif posted.status is None:
        outcome, status = Outcome.INCONCLUSIVE, QueryStatus.UNREACHABLE
    else:
        outcome, status = Outcome.FAIL, QueryStatus.OK
    return CheckResult(name=CHECK_PREFIX + hook.name, outcome=outcome, value=posted.status, min=None, max=None, unit="",
                       query=f"POST {mask_url(hook.url)}", reason=f"{hook.type} webhook {posted.describe()}", status=status)


def call_all(hooks: tuple[Webhook, ...], *, environment: str, target: AnalysisTarget, state: RolloutState) -> list[CheckResult]:
    """Every hook's check, called concurrently (a slow load test does not delay a quick smoke test)."""
    if not hooks:
        return []
    bodies = [payload(hook, environment=environment, target=target, state=state) for hook in hooks]
    if len(hooks) == 1:
        return [call(hooks[0], bodies[0])]
    with ThreadPoolExecutor(max_workers=len(hooks), thread_name_prefix="webhook") as pool:
        return list(pool.map(call, hooks, bodies))
