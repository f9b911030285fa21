"""Kubernetes Events for rollout decisions: one distinct reason per decision, on the route object steered.

`kubectl describe virtualservice reviews` and `kubectl get events --field-selector
involvedObject.name=reviews` then tell the story (Started, StepAdvanced, CheckFailed, RolledBack …)
— unlike Flagger, whose events all say `Synced`. Events are best effort: a cluster that refuses
them never stops a rollout; the recorder counts what it could not send. Messages go through
`model.masking.mask_text`: URL credentials never reach the event log.
"""
from __future__ import annotations

import socket
import threading
import time
from typing import Callable, Iterable

from ..cluster.api import ApiError, KubeApi
from ..model.errors import ClusterError
from ..model.identity import ROLLOUT_ANNOTATION
from ..model.masking import mask_text
from .router import ROUTERS_BY_KIND
from .state import Reason, format_time, state_of

COMPONENT = "meshops-rollout"
REPORTING_CONTROLLER = "meshops.dev/rollout"
# Decisions a person should look at: shown as Warning events.
WARNING_REASONS = frozenset({Reason.CHECK_FAILED, Reason.ROLLED_BACK, Reason.ABORTED})
# The API server accepts longer messages, but kubectl and dashboards show about this much.
MESSAGE_LIMIT = 1024
EVENTS_PATH = "/api/v1/namespaces/{namespace}/events"


def event_type(reason: str) -> str:
    return "Warning" if reason in WARNING_REASONS else "Normal"


class EventRecorder:
    """Posts core v1 Events about the route objects rollouts steer (VirtualServices, HTTPRoutes)."""

    def __init__(self, api: KubeApi, *, clock: Callable[[], float] = time.time, instance: str | None = None) -> None:
        self.api = api
        self.clock = clock
        self.instance = instance or socket.gethostname()
        self.sent = 0
        self.failed: list[str] = []
        self._lock = threading.Lock()

    def record(self, obj: dict, *, reason: str, message: str, warning: bool = False) -> bool:
        """One Event about `obj` (a Warning for the reasons in WARNING_REASONS, or when `warning`);
        False (and remembered in `failed`) when the cluster refused it."""
        metadata = obj.get("metadata") or {}
        namespace, name = metadata.get("namespace") or "default", metadata.get("name") or ""
        now = format_time(self.clock())
        message = mask_text(message)  # the last guard: no URL credentials in the cluster's event log
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{name}.", "namespace": namespace},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind") or "VirtualService",
                "name": name,
                "namespace": namespace,
                "uid": metadata.get("uid"),
                "resourceVersion": metadata.get("resourceVersion"),
            },
            "reason": reason,
            "message": message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 1] + "…",
            "type": "Warning" if warning else event_type(reason),
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "source": {"component": COMPONENT, "host": self.instance},
            "reportingComponent": REPORTING_CONTROLLER,
            "reportingInstance": self.instance,
        }
        try:
            self.api.request("POST", EVENTS_PATH.format(namespace=namespace), body=event)
        except (ApiError, ClusterError) as error:
            with self._lock:
                self.failed.append(f"{reason} on {namespace}/{name}: {error}")
            return False
        with self._lock:
            self.sent += 1
        return True


def announce_applied(recorder: EventRecorder, changes: Iterable[tuple[dict | None, dict | None]]) -> int:
    """Events for rollouts an apply started, restarted or cancelled, from (live before, written) pairs.

    The overlay records those decisions in the annotation it hands to apply; once apply has written
    them, the newest history entry becomes the Event (on the live object, which has the uid).
    Returns how many were sent.
    """
    sent = 0
    for live, written in changes:
        if not live or not written or written.get("kind") not in ROUTERS_BY_KIND:
            continue
        annotation = ((written.get("metadata") or {}).get("annotations") or {}).get(ROLLOUT_ANNOTATION)
        previous = ((live.get("metadata") or {}).get("annotations") or {}).get(ROLLOUT_ANNOTATION)
        state = state_of(written)
        if state is None or annotation == previous or not state.history:
            continue
        latest = state.history[-1]
        sent += recorder.record(live, reason=str(latest.get("reason")), message=str(latest.get("message") or ""))
    return sent
