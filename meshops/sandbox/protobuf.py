"""Protobuf request bodies, for the kubectl commands that send them (`kubectl create namespace`,
`create configmap`, `create secret`, `create serviceaccount`, `create service`, `create token`,
`auth can-i`, `auth whoami`).

kubectl's typed commands POST `application/vnd.kubernetes.protobuf`: the magic `k8s\\0`, then a
`runtime.Unknown` message (TypeMeta, and the object's own protobuf in `raw`). This module reads
the wire format and turns the object into the JSON dict the rest of the sandbox works with, for
the kinds listed in `MESSAGES` (field numbers from the Kubernetes `generated.proto` files). Zero
values are left out, as JSON `omitempty` would. A field the tables do not know is a 415, never a
silent loss; answers are always JSON, which kubectl accepts.
"""
from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Any

from .status import ApiError

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"

# message -> field number -> (JSON name, type). Types: string, int, bool, bytes, time,
# intorstring, map (string values), bytemap (bytes values, base64 in JSON), a message name;
# a leading "*" means repeated.
MESSAGES: dict[str, dict[int, tuple[str, str]]] = {
    "Unknown": {1: ("typeMeta", "TypeMeta"), 2: ("raw", "bytes"), 3: ("contentEncoding", "string"),
                4: ("contentType", "string")},
    "TypeMeta": {1: ("apiVersion", "string"), 2: ("kind", "string")},
    "ObjectMeta": {1: ("name", "string"), 2: ("generateName", "string"), 3: ("namespace", "string"),
                   4: ("selfLink", "string"), 5: ("uid", "string"), 6: ("resourceVersion", "string"),
                   7: ("generation", "int"), 8: ("creationTimestamp", "time"), 9: ("deletionTimestamp", "time"),
                   10: ("deletionGracePeriodSeconds", "int"), 11: ("labels", "map"), 12: ("annotations", "map"),
                   13: ("ownerReferences", "*OwnerReference"), 14: ("finalizers", "*string")},
    "OwnerReference": {1: ("kind", "string"), 3: ("name", "string"), 4: ("uid", "string"), 5: ("apiVersion", "string"),
                       6: ("controller", "bool"), 7: ("blockOwnerDeletion", "bool")},
    "Time": {1: ("seconds", "int"), 2: ("nanos", "int")},
    "IntOrString": {1: ("type", "int"), 2: ("intVal", "int"), 3: ("strVal", "string")},
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec"), 3: ("status", "NamespaceStatus")},
    "NamespaceSpec": {1: ("finalizers", "*string")},
    "NamespaceStatus": {1: ("phase", "string")},
    "ConfigMap": {1: ("metadata", "ObjectMeta"), 2: ("data", "map"), 3: ("binaryData", "bytemap"),
                  4: ("immutable", "bool")},
    "Secret": {1: ("metadata", "ObjectMeta"), 2: ("data", "bytemap"), 3: ("type", "string"),
               4: ("stringData", "map"), 5: ("immutable", "bool")},
    "ServiceAccount": {1: ("metadata", "ObjectMeta"), 2: ("secrets", "*ObjectReference"),
                       3: ("imagePullSecrets", "*LocalObjectReference"), 4: ("automountServiceAccountToken", "bool")},
    "ObjectReference": {1: ("kind", "string"), 2: ("namespace", "string"), 3: ("name", "string"), 4: ("uid", "string"),
                        5: ("apiVersion", "string"), 6: ("resourceVersion", "string"), 7: ("fieldPath", "string")},
    "LocalObjectReference": {1: ("name", "string")},
    "Service": {1: ("metadata", "ObjectMeta"), 2: ("spec", "ServiceSpec"), 3: ("status", "ServiceStatus")},
    "ServiceSpec": {1: ("ports", "*ServicePort"), 2: ("selector", "map"), 3: ("clusterIP", "string"),
                    4: ("type", "string"), 5: ("externalIPs", "*string"), 7: ("sessionAffinity", "string"),
                    8: ("loadBalancerIP", "string"), 9: ("loadBalancerSourceRanges", "*string"),
                    10: ("externalName", "string"), 11: ("externalTrafficPolicy", "string"),
                    12: ("healthCheckNodePort", "int"), 13: ("publishNotReadyAddresses", "bool"),
                    18: ("clusterIPs", "*string"), 19: ("ipFamilies", "*string"), 20: ("ipFamilyPolicy", "string"),
                    21: ("allocateLoadBalancerNodePorts", "bool"), 22: ("loadBalancerClass", "string"),
                    23: ("internalTrafficPolicy", "string")},
    "ServicePort": {1: ("name", "string"), 2: ("protocol", "string"), 3: ("port", "int"), 4: ("targetPort", "intorstring"),
                    5: ("nodePort", "int"), 6: ("appProtocol", "string")},
    "ServiceStatus": {1: ("loadBalancer", "LoadBalancerStatus"), 2: ("conditions", "*Condition")},
    "LoadBalancerStatus": {1: ("ingress", "*LoadBalancerIngress")},
    "LoadBalancerIngress": {1: ("ip", "string"), 2: ("hostname", "string")},
    "Condition": {1: ("type", "string"), 2: ("status", "string"), 6: ("message", "string"), 5: ("reason", "string")},
    # authorization.k8s.io/v1 and authentication.k8s.io/v1 (`kubectl auth can-i`, `auth whoami`, `create token`)
    "SelfSubjectAccessReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "SelfSubjectAccessReviewSpec"),
                                3: ("status", "SubjectAccessReviewStatus")},
    "SelfSubjectAccessReviewSpec": {1: ("resourceAttributes", "ResourceAttributes"),
                                    2: ("nonResourceAttributes", "NonResourceAttributes")},
    "ResourceAttributes": {1: ("namespace", "string"), 2: ("verb", "string"), 3: ("group", "string"),
                           4: ("version", "string"), 5: ("resource", "string"), 6: ("subresource", "string"),
                           7: ("name", "string")},
    "NonResourceAttributes": {1: ("path", "string"), 2: ("verb", "string")},
    "SubjectAccessReviewStatus": {1: ("allowed", "bool"), 2: ("reason", "string"), 3: ("evaluationError", "string"),
                                  4: ("denied", "bool")},
    "SelfSubjectRulesReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "SelfSubjectRulesReviewSpec"),
                               3: ("status", "SubjectRulesReviewStatus")},
    "SubjectRulesReviewStatus": {3: ("incomplete", "bool"), 4: ("evaluationError", "string")},
    "SelfSubjectRulesReviewSpec": {1: ("namespace", "string")},
    "SelfSubjectReview": {1: ("metadata", "ObjectMeta"), 2: ("status", "SelfSubjectReviewStatus")},
    "SelfSubjectReviewStatus": {1: ("userInfo", "UserInfo")},
    "UserInfo": {1: ("username", "string"), 2: ("uid", "string"), 3: ("groups", "*string")},
    "TokenRequest": {1: ("metadata", "ObjectMeta"), 2: ("spec", "TokenRequestSpec"), 3: ("status", "TokenRequestStatus")},
    "TokenRequestSpec": {1: ("audiences", "*string"), 3: ("boundObjectRef", "BoundObjectReference"),
                         4: ("expirationSeconds", "int")},
    "BoundObjectReference": {1: ("kind", "string"), 2: ("apiVersion", "string"), 3: ("name", "string"),
                             4: ("uid", "string")},
    "TokenRequestStatus": {1: ("token", "string"), 2: ("expirationTimestamp", "time")},
}


def _unsupported(detail: str) -> ApiError:
    return ApiError(415, f"the sandbox cannot read this protobuf body ({detail}); send application/json instead")


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        if position >= len(data):
            raise _unsupported("truncated varint")
        byte = data[position]
        result |= (byte & 0x7F) << shift
        position += 1
        if not byte & 0x80:
            return result, position
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs: ints for varints, bytes for length-delimited fields."""
    fields, position = [], 0
    while position < len(data):
        tag, position = _varint(data, position)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, position = _varint(data, position)
            fields.append((number, value))
        elif wire == 2:
            length, position = _varint(data, position)
            fields.append((number, data[position:position + length]))
            position += length
        else:
            raise _unsupported(f"wire type {wire}")
    return fields


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _scalar(kind: str, value: int | bytes) -> Any:
    if kind == "string":
        return bytes(value).decode() if isinstance(value, bytes) else str(value)
    if kind == "int":
        return _signed(value) if isinstance(value, int) else 0
    if kind == "bool":
        return bool(value)
    if kind == "bytes":
        return bytes(value)
    if kind == "time":
        seconds = decode_message("Time", bytes(value)).get("seconds", 0)
        if not seconds:  # the zero time is how Go writes "unset"
            return None
        return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "intorstring":
        parsed = decode_message("IntOrString", bytes(value))
        return parsed.get("strVal", "") if parsed.get("type") == 1 else parsed.get("intVal", 0)
    return decode_message(kind, bytes(value))


def decode_message(name: str, data: bytes) -> dict[str, Any]:
    """One message as a JSON-style dict, zero values left out."""
    table = MESSAGES[name]
    result: dict[str, Any] = {}
    for number, value in _fields(data):
        if number not in table:
            raise _unsupported(f"field {number} of {name}")
        json_name, kind = table[number]
        if kind in ("map", "bytemap"):
            entry = dict(_fields(bytes(value)))
            raw = entry.get(2, b"")
            text = base64.b64encode(raw).decode() if kind == "bytemap" else bytes(raw).decode()
            result.setdefault(json_name, {})[bytes(entry.get(1, b"")).decode()] = text
        elif kind.startswith("*"):
            result.setdefault(json_name, []).append(_scalar(kind[1:], value))
        else:
            result[json_name] = _scalar(kind, value)
    return {k: v for k, v in result.items() if v not in ("", 0, False, {}, [], None)}


def decode(body: bytes) -> dict[str, Any]:
    """A `k8s\\0`-framed protobuf object -> its JSON dict (apiVersion and kind included)."""
    if not body.startswith(MAGIC):
        raise _unsupported("no k8s protobuf magic")
    envelope = decode_message("Unknown", body[len(MAGIC):])
    type_meta = envelope.get("typeMeta") or {}
    kind = type_meta.get("kind", "")
    if kind not in MESSAGES or "metadata" not in {n for n, _ in MESSAGES[kind].values()}:
        raise _unsupported(f"kind {kind or '(none)'}")
    obj = decode_message(kind, envelope.get("raw", b""))
    return {"apiVersion": type_meta.get("apiVersion", "v1"), "kind": kind, **obj}
