"""Workload kinds: apps/v1 Deployments, ReplicaSets, DaemonSets, StatefulSets, v1 ReplicationControllers
and batch/v1 Jobs — stored, defaulted and checked like the apiserver, never run.

There is no controller manager and no kubelet: a Deployment stays at the status it is given. Tests
and the synthetic mesh set readiness through the status subresource (`SandboxServer.set_ready`),
which is how a rollout sees a canary become available. What is here is what a client can observe
on a real server at write time: the defaults the apps/batch strategies fill (replicas, strategy,
revision history, pod-template defaults), the validation that refuses a selector that does not
select its own template, a template without containers, negative replicas, and (apps/v1) a changed
selector.
"""
from __future__ import annotations

from typing import Any, Callable

from . import goformat
from .resources import ResourceType, builtin
from .status import cause

Causes = list[dict[str, str]]

_OPEN: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def _keyed(*keys: str, item: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": list(keys),
            "items": item or _OPEN}


_CONTAINER = {**_OPEN, "properties": {
    "name": {"type": "string"}, "image": {"type": "string"},
    "ports": _keyed("containerPort", "protocol", item={**_OPEN, "properties": {
        "containerPort": {"type": "integer"}, "protocol": {"type": "string", "default": "TCP"}}}),
    "env": _keyed("name"),
}}
_POD_TEMPLATE = {**_OPEN, "properties": {
    "metadata": _OPEN,
    "spec": {**_OPEN, "properties": {"containers": _keyed("name", item=_CONTAINER),
                                     "initContainers": _keyed("name", item=_CONTAINER),
                                     "volumes": _keyed("name")}},
}}


def _workload_schema(**spec_fields: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {
        "spec": {**_OPEN, "properties": {"template": _POD_TEMPLATE, "replicas": {"type": "integer"},
                                         "selector": _OPEN, **spec_fields}},
        "status": _OPEN,
    }}


def _apps(plural: str, kind: str, short: tuple[str, ...]) -> ResourceType:
    return builtin(plural, kind, group="apps", schema=_workload_schema(), short=short, status=True, generation=True,
                   categories=("all",))


WORKLOAD_TYPES: tuple[ResourceType, ...] = (
    _apps("deployments", "Deployment", ("deploy",)),
    _apps("replicasets", "ReplicaSet", ("rs",)),
    _apps("daemonsets", "DaemonSet", ("ds",)),
    _apps("statefulsets", "StatefulSet", ("sts",)),
    builtin("replicationcontrollers", "ReplicationController", schema=_workload_schema(), short=("rc",), status=True,
            generation=True, categories=("all",)),
    builtin("jobs", "Job", group="batch", schema=_workload_schema(), status=True, generation=True,
            categories=("all",)),
)


# -- defaults ---------------------------------------------------------------------------------------


def _image_pull_policy(image: str) -> str:
    """`Always` for an untagged or `:latest` image, else `IfNotPresent` (SetDefaults_Container)."""
    name = image.rsplit("/", 1)[-1]
    if "@" in name:
        return "IfNotPresent"
    tag = name.partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _pod_template_defaults(template: dict[str, Any], *, restart_policy: str = "Always") -> None:
    spec = template.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", restart_policy)
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if not isinstance(container, dict):
            continue
        container.setdefault("resources", {})
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("imagePullPolicy", _image_pull_policy(str(container.get("image") or "")))
        for port in container.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")


# The status a workload has before any controller reports: Go's zero value of its status struct, whose
# fields without `omitempty` (replicas, the DaemonSet counters) are serialized as 0.
_EMPTY_STATUS: dict[str, dict[str, int]] = {
    "Deployment": {}, "Job": {}, "ReplicaSet": {"replicas": 0}, "ReplicationController": {"replicas": 0},
    "StatefulSet": {"replicas": 0, "availableReplicas": 0},
    "DaemonSet": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0},
}


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    obj.setdefault("status", dict(_EMPTY_STATUS.get(obj.get("kind", ""), {})))
    spec = obj.setdefault("spec", {})
    return spec if isinstance(spec, dict) else {}


def _template(spec: dict[str, Any]) -> dict[str, Any]:
    template = spec.get("template")
    return template if isinstance(template, dict) else {}


def _deployment_defaults(obj: dict, old: dict | None) -> None:
    spec = _spec(obj)
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _pod_template_defaults(_template(spec))


def _replicaset_defaults(obj: dict, old: dict | None) -> None:
    spec = _spec(obj)
    spec.setdefault("replicas", 1)
    _pod_template_defaults(_template(spec))


def _daemonset_defaults(obj: dict, old: dict | None) -> None:
    spec = _spec(obj)
    strategy = spec.setdefault("updateStrategy", {})
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            strategy.setdefault("rollingUpdate", {"maxUnavailable": 1, "maxSurge": 0})
    spec.setdefault("revisionHistoryLimit", 10)
    _pod_template_defaults(_template(spec))


def _statefulset_defaults(obj: dict, old: dict | None) -> None:
    spec = _spec(obj)
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    _pod_template_defaults(_template(spec))


def _replication_controller_defaults(obj: dict, old: dict | None) -> None:
    spec = _spec(obj)
    spec.setdefault("replicas", 1)
    template_labels = (_template(spec).get("metadata") or {}).get("labels") or {}
    if template_labels:
        spec.setdefault("selector", dict(template_labels))
        obj["metadata"].setdefault("labels", dict(template_labels))
    _pod_template_defaults(_template(spec))


def _job_defaults(obj: dict, old: dict | None) -> None:
    spec = _spec(obj)
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    _pod_template_defaults(_template(spec), restart_policy="Never")


# -- checks -----------------------------------------------------------------------------------------


def _requirement_holds(requirement: dict[str, Any], labels: dict[str, str]) -> bool:
    key, operator = requirement.get("key"), requirement.get("operator")
    values = requirement.get("values") or []
    if operator == "In":
        return labels.get(key) in values
    if operator == "NotIn":
        return labels.get(key) not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False


def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a metav1.LabelSelector (matchLabels + matchExpressions) selects `labels`."""
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    return all(_requirement_holds(r, labels) for r in selector.get("matchExpressions") or [] if isinstance(r, dict))


def _container_causes(template: dict[str, Any]) -> Causes:
    where = "spec.template.spec.containers"
    containers = (template.get("spec") or {}).get("containers") or []
    if not containers:
        return [cause(where, "FieldValueRequired", "Required value")]
    causes: Causes = []
    for index, container in enumerate(containers):
        for field_name in ("name", "image"):
            if isinstance(container, dict) and not container.get(field_name):
                causes.append(cause(f"{where}[{index}].{field_name}", "FieldValueRequired", "Required value"))
    return causes


def _replica_causes(spec: dict[str, Any]) -> Causes:
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        return [cause("spec.replicas", "FieldValueInvalid",
                      f"Invalid value: {replicas}: must be greater than or equal to 0")]
    return []


def _selected_template_causes(spec: dict[str, Any], selector: dict[str, Any] | None) -> Causes:
    labels = ((_template(spec).get("metadata") or {}).get("labels")) or {}
    if selector is None:
        return [cause("spec.selector", "FieldValueRequired", "Required value")]
    if not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return [cause("spec.selector", "FieldValueInvalid",
                      f"Invalid value: {goformat.label_selector(selector)}: empty selector is invalid for deployment")]
    if not selector_matches(selector, labels):
        return [cause("spec.template.metadata.labels", "FieldValueInvalid",
                      f"Invalid value: {goformat.string_map(labels)}: `selector` does not match template `labels`")]
    return []


def _apps_checks(obj: dict) -> Causes:
    spec = obj.get("spec") or {}
    selector = spec.get("selector") if isinstance(spec.get("selector"), dict) else None
    return _replica_causes(spec) + _selected_template_causes(spec, selector) + _container_causes(_template(spec))


def _replication_controller_checks(obj: dict) -> Causes:
    spec = obj.get("spec") or {}
    labels = spec.get("selector") if isinstance(spec.get("selector"), dict) else None
    causes = _replica_causes(spec) + _container_causes(_template(spec))
    if labels is not None:
        causes += _selected_template_causes(spec, {"matchLabels": labels})
    return causes


def _job_checks(obj: dict) -> Causes:
    spec = obj.get("spec") or {}
    causes = _container_causes(_template(spec))
    policy = (_template(spec).get("spec") or {}).get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        causes.append(cause("spec.template.spec.restartPolicy", "FieldValueNotSupported",
                            f'Unsupported value: "{policy}": supported values: "OnFailure", "Never"'))
    return causes


def _selector_unchanged(new: dict, old: dict) -> Causes:
    """apps/v1 selectors are immutable (ValidateDeploymentUpdate and friends)."""
    selector = (new.get("spec") or {}).get("selector")
    if selector != (old.get("spec") or {}).get("selector"):
        return [cause("spec.selector", "FieldValueInvalid",
                      f"Invalid value: {goformat.label_selector(selector)}: field is immutable")]
    return []


Defaulter = Callable[[dict, "dict | None"], None]

WORKLOAD_DEFAULTS: dict[tuple[str, str], Defaulter] = {
    ("apps", "deployments"): _deployment_defaults,
    ("apps", "replicasets"): _replicaset_defaults,
    ("apps", "daemonsets"): _daemonset_defaults,
    ("apps", "statefulsets"): _statefulset_defaults,
    ("", "replicationcontrollers"): _replication_controller_defaults,
    ("batch", "jobs"): _job_defaults,
}
WORKLOAD_CHECKS: dict[tuple[str, str], Callable[[dict], Causes]] = {
    **{("apps", plural): _apps_checks for plural in ("deployments", "replicasets", "daemonsets", "statefulsets")},
    ("", "replicationcontrollers"): _replication_controller_checks,
    ("batch", "jobs"): _job_checks,
}
WORKLOAD_UPDATE_CHECKS: dict[tuple[str, str], Callable[[dict, dict], Causes]] = {
    ("apps", plural): _selector_unchanged for plural in ("deployments", "replicasets", "daemonsets", "statefulsets")
}


def ready_status(obj: dict[str, Any], *, ready: int | None, now: str) -> dict[str, Any]:
    """The status a deployment controller reports once `ready` replicas (default: all) are available."""
    spec = obj.get("spec") or {}
    wanted = int(spec.get("replicas", 1) or 0)
    ready = wanted if ready is None else ready
    available = ready >= wanted
    return {
        "observedGeneration": obj["metadata"].get("generation", 1),
        "replicas": wanted, "updatedReplicas": wanted, "readyReplicas": ready, "availableReplicas": ready,
        **({"unavailableReplicas": wanted - ready} if wanted > ready else {}),
        "conditions": [
            {"type": "Available", "status": "True" if available else "False",
             "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
             "message": "Deployment has minimum availability." if available
             else "Deployment does not have minimum availability.",
             "lastUpdateTime": now, "lastTransitionTime": now},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
             "message": f'ReplicaSet "{obj["metadata"]["name"]}" has successfully progressed.',
             "lastUpdateTime": now, "lastTransitionTime": now},
        ],
    }
