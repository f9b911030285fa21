"""The built-in kinds the sandbox serves, as a table, with the few server-side behaviours they need.

Core kinds get light treatment on purpose: the sandbox exists to test Istio config and the
pipeline around it, not to re-implement every apiserver strategy. Each kind has a small structural
schema (closed at the top so `fieldValidation=Strict` catches `datas:`, open below where the full
type would be long) that also tells server-side apply which lists are keyed (Service ports by
port+protocol, Pod containers by name). `Behaviour` rows hold the defaults and checks a real server
applies and clients visibly rely on (Service clusterIP and port defaults, Secret stringData, the
namespace name label).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any, Callable

from . import goformat
from .resources import ResourceType, builtin
from .status import cause

OPEN: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
STRING_MAP: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "string"}}


def _closed(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def _open(**properties: Any) -> dict[str, Any]:
    return {**OPEN, "properties": properties}


def _keyed_list(*keys: str, item: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": list(keys),
            "items": item or OPEN}


_SERVICE_PORT = _open(
    port={"type": "integer"},
    # A key of the ports list: SSA needs the default to build the key of an item that omits it.
    protocol={"type": "string", "default": "TCP"},
    name={"type": "string"},
    targetPort={"x-kubernetes-int-or-string": True},
    nodePort={"type": "integer"},
)

_SCHEMAS: dict[str, dict[str, Any]] = {
    "namespaces": _closed(spec=_open(finalizers={"type": "array", "x-kubernetes-list-type": "set",
                                                  "items": {"type": "string"}}), status=OPEN),
    "configmaps": _closed(data=STRING_MAP, binaryData=STRING_MAP, immutable={"type": "boolean"}),
    "secrets": _closed(data=STRING_MAP, stringData=STRING_MAP, type={"type": "string"}, immutable={"type": "boolean"}),
    "services": _closed(spec=_open(ports=_keyed_list("port", "protocol", item=_SERVICE_PORT), selector=STRING_MAP,
                                   type={"type": "string"}), status=OPEN),
    "pods": _closed(spec=_open(containers=_keyed_list("name"), initContainers=_keyed_list("name"),
                               volumes=_keyed_list("name")), status=OPEN),
    "serviceaccounts": _closed(secrets={"type": "array", "items": OPEN}, imagePullSecrets={"type": "array", "items": OPEN},
                               automountServiceAccountToken={"type": "boolean"}),
    "events": _closed(**{name: OPEN for name in ("involvedObject", "source", "series", "related")},
                      **{name: {"type": "string"} for name in ("reason", "message", "type", "action", "reportingComponent",
                                                               "reportingInstance", "firstTimestamp", "lastTimestamp")},
                      count={"type": "integer"}, eventTime={"type": "string", "nullable": True}),
    "leases": _closed(spec=_open(holderIdentity={"type": "string", "nullable": True},
                                 leaseDurationSeconds={"type": "integer", "nullable": True})),
    "customresourcedefinitions": _closed(spec=OPEN, status=OPEN),
    "nodes": _closed(spec=OPEN, status=OPEN),
    "apiservices": _closed(spec=_open(group={"type": "string"}, version={"type": "string"},
                                      groupPriorityMinimum={"type": "integer"}, versionPriority={"type": "integer"}),
                           status=OPEN),
}


# The token subresource of ServiceAccounts (the TokenRequest API; `kubectl create token` looks for it).
TOKEN_SUBRESOURCE = ("token", "TokenRequest", "authentication.k8s.io", "v1", ("create",))


def _core(plural: str, kind: str, **options: Any) -> ResourceType:
    return builtin(plural, kind, schema=_SCHEMAS[plural], **options)


CORE_TYPES: tuple[ResourceType, ...] = (
    _core("namespaces", "Namespace", namespaced=False, short=("ns",), status=True, fields=("status.phase",),
          name_rule="label", verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    _core("configmaps", "ConfigMap", short=("cm",)),
    _core("secrets", "Secret", fields=("type",)),
    _core("services", "Service", short=("svc",), status=True, fields=("spec.clusterIP", "spec.type"),
          name_rule="dns1035", categories=("all",)),
    _core("pods", "Pod", short=("po",), status=True, categories=("all",),
          fields=("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                  "status.phase", "status.podIP")),
    _core("serviceaccounts", "ServiceAccount", short=("sa",), subresources=(TOKEN_SUBRESOURCE,)),
    _core("events", "Event", short=("ev",), name_rule="any",
          fields=("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                  "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                  "reason", "reportingComponent", "source", "type")),
    _core("leases", "Lease", group="coordination.k8s.io"),
    _core("customresourcedefinitions", "CustomResourceDefinition", group="apiextensions.k8s.io", namespaced=False,
          short=("crd", "crds"), status=True, generation=True, categories=("api-extensions",)),
    _core("nodes", "Node", namespaced=False, short=("no",), status=True, fields=("spec.unschedulable",)),
    _core("apiservices", "APIService", group="apiregistration.k8s.io", namespaced=False, status=True,
          categories=("api-extensions",)),
)

# Namespaces every cluster starts with.
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

Causes = list[dict[str, str]]


def _namespace_defaults(obj: dict, old: dict | None) -> None:
    obj["metadata"].setdefault("labels", {})[NAMESPACE_NAME_LABEL] = obj["metadata"]["name"]
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj["status"] = (old or {}).get("status") or {"phase": "Active"}


def _cluster_ip(obj: dict) -> str:
    """A stable address in 10.96.0.0/12 (the default service CIDR) derived from namespace/name."""
    digest = hashlib.sha256(f"{obj['metadata'].get('namespace')}/{obj['metadata']['name']}".encode()).digest()
    number = int.from_bytes(digest[:4], "big") % ((1 << 20) - 2) + 2
    return f"10.{96 + (number >> 16)}.{(number >> 8) & 255}.{number & 255}"


def _normalize_cluster_ips(spec: dict, old_spec: dict) -> None:
    """Keep clusterIP and clusterIPs in step the way the service strategy does (normalizeClusterIPs)."""
    if not old_spec:
        if spec.get("clusterIP") and not spec.get("clusterIPs"):
            spec["clusterIPs"] = [spec["clusterIP"]]
        return
    if spec.get("clusterIP") is None and old_spec.get("clusterIP"):
        spec["clusterIP"] = old_spec["clusterIP"]  # omitted by the writer: the allocated address stays
    if not spec.get("clusterIPs") and old_spec.get("clusterIPs") and spec.get("clusterIP") == old_spec.get("clusterIP"):
        spec["clusterIPs"] = list(old_spec["clusterIPs"])
    if spec.get("clusterIP") != old_spec.get("clusterIP") and spec.get("clusterIPs") == old_spec.get("clusterIPs"):
        spec["clusterIPs"] = [spec["clusterIP"]] if spec.get("clusterIP") else []


def _service_defaults(obj: dict, old: dict | None) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if "port" in port:
                port.setdefault("targetPort", port["port"])
    if spec["type"] != "ExternalName":
        _normalize_cluster_ips(spec, ((old or {}).get("spec") or {}) if old else {})
        spec.setdefault("clusterIP", _cluster_ip(obj))
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    obj.setdefault("status", {"loadBalancer": {}})


def _secret_defaults(obj: dict, old: dict | None) -> None:
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _pod_defaults(obj: dict, old: dict | None) -> None:
    if old is None:
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}


_PORT_RANGE = range(1, 65536)
SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def _port_causes(ports: list) -> Causes:
    causes: Causes = []
    names: set[str] = set()
    for index, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        if not isinstance(port.get("port"), int) or port["port"] not in _PORT_RANGE:
            causes.append(cause(f"spec.ports[{index}].port", "FieldValueInvalid",
                                f"Invalid value: {port.get('port')}: must be between 1 and 65535, inclusive"))
        name = port.get("name")
        if len(ports) > 1 and not name:
            causes.append(cause(f"spec.ports[{index}].name", "FieldValueRequired", "Required value"))
        elif name and name in names:
            causes.append(cause(f"spec.ports[{index}].name", "FieldValueDuplicate", f'Duplicate value: "{name}"'))
        if name:
            names.add(name)
    return causes


def _service_checks(obj: dict) -> Causes:
    spec = obj.get("spec") or {}
    ports = spec.get("ports") or []
    causes: Causes = []
    service_type = spec.get("type", "ClusterIP")
    if service_type not in SERVICE_TYPES:
        supported = ", ".join(f'"{t}"' for t in SERVICE_TYPES)
        causes.append(cause("spec.type", "FieldValueNotSupported",
                            f'Unsupported value: "{service_type}": supported values: {supported}'))
    if not ports and service_type != "ExternalName" and spec.get("clusterIP") != "None":
        causes.append(cause("spec.ports", "FieldValueRequired", "Required value"))
    return causes + _port_causes(ports)


def _service_update_checks(new: dict, old: dict) -> Causes:
    """A Service's cluster IPs may not change once set (validateUpgradeDowngradeClusterIPs)."""
    new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    if "ExternalName" in (new_spec.get("type"), old_spec.get("type")):
        return []
    old_ips, new_ips = old_spec.get("clusterIPs") or [], new_spec.get("clusterIPs") or []
    if old_spec.get("clusterIP") == "None" and new_spec.get("clusterIP") == "None":
        return []
    for index, address in enumerate(old_ips):
        if index >= len(new_ips) or new_ips[index] != address:
            return [cause(f"spec.clusterIPs[{index}]", "FieldValueInvalid",
                          f"Invalid value: {goformat.string_slice(new_ips)}: may not change once set")]
    return []


_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def _data_key_checks(obj: dict) -> Causes:
    causes: Causes = []
    for field_name in ("data", "binaryData"):
        for key in obj.get(field_name) or {}:
            if not _CONFIG_KEY.match(key) or len(key) > 253:
                causes.append(cause(f"{field_name}[{key}]", "FieldValueInvalid",
                                    f'Invalid value: "{key}": a valid config key must consist of alphanumeric '
                                    "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                                    "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"))
    return causes


# The most data one ConfigMap or Secret may hold (core.MaxSecretSize).
MAX_DATA_BYTES = 1024 * 1024


def _config_map_checks(obj: dict) -> Causes:
    size = sum(len(k) + len(str(v).encode()) for k, v in (obj.get("data") or {}).items())
    size += sum(len(k) + len(base64.b64decode(str(v) + "==")) for k, v in (obj.get("binaryData") or {}).items())
    causes = _data_key_checks(obj)
    if size > MAX_DATA_BYTES:  # the whole object: the field path is the empty one, printed "[]"
        causes.append(cause("[]", "FieldValueTooLong", f"Too long: may not be more than {MAX_DATA_BYTES} bytes"))
    return causes


def _secret_checks(obj: dict) -> Causes:
    causes = _data_key_checks(obj)
    size = 0
    for key, value in (obj.get("data") or {}).items():
        try:
            size += len(key) + len(base64.b64decode(str(value), validate=True))
        except (binascii.Error, ValueError):
            causes.append(cause(f"data[{key}]", "FieldValueInvalid",
                                'Invalid value: "<secret contents redacted>": illegal base64 data'))
    if size > MAX_DATA_BYTES:
        causes.append(cause("data", "FieldValueTooLong", f"Too long: may not be more than {MAX_DATA_BYTES} bytes"))
    return causes


_IMMUTABLE = "field is immutable when `immutable` is set"


def _immutable_data_checks(new: dict, old: dict) -> Causes:
    """An immutable ConfigMap or Secret keeps its data and stays immutable (ValidateConfigMapUpdate)."""
    causes: Causes = []
    if old.get("kind") == "Secret" and new.get("type") != old.get("type"):
        causes.append(cause("type", "FieldValueInvalid", f"Invalid value: {json.dumps(new.get('type'))}: field is immutable"))
    if not old.get("immutable"):
        return causes
    if not new.get("immutable"):
        causes.append(cause("immutable", "FieldValueForbidden", f"Forbidden: {_IMMUTABLE}"))
    for field_name in ("data", "binaryData"):
        if (new.get(field_name) or {}) != (old.get(field_name) or {}):
            causes.append(cause(field_name, "FieldValueForbidden", f"Forbidden: {_IMMUTABLE}"))
    return causes


def _pod_checks(obj: dict) -> Causes:
    if not (obj.get("spec") or {}).get("containers"):
        return [cause("spec.containers", "FieldValueRequired", "Required value")]
    return []


Defaulter = Callable[[dict, "dict | None"], None]
Checker = Callable[[dict], Causes]

# (group, plural) -> defaults applied on every write, and checks that make a write Invalid.
DEFAULTS: dict[tuple[str, str], Defaulter] = {
    ("", "namespaces"): _namespace_defaults,
    ("", "services"): _service_defaults,
    ("", "secrets"): _secret_defaults,
    ("", "pods"): _pod_defaults,
}
CHECKS: dict[tuple[str, str], Checker] = {
    ("", "services"): _service_checks,
    ("", "configmaps"): _config_map_checks,
    ("", "secrets"): _secret_checks,
    ("", "pods"): _pod_checks,
}
UPDATE_CHECKS: dict[tuple[str, str], Callable[[dict, dict], Causes]] = {
    ("", "services"): _service_update_checks,
    ("", "configmaps"): _immutable_data_checks,
    ("", "secrets"): _immutable_data_checks,
}
