"""Messages several Istio kinds share, written once (istio.io/latest/docs/reference/config/...).

StringMatch, PortSelector, Percent, Destination, Headers, the workload selectors and policy target
references, client and server TLS settings, and the DestinationRule traffic policy (which Sidecar
reuses for its connection pools).
"""
from __future__ import annotations

from .dsl import array, boolean, duration, enum, int32, integer, map_of, number, obj, string, strings, uint32, uint64

# networking: exactly one way to match a string (an empty StringMatch matches anything).
STRING_MATCH = obj(
    {"exact": string(), "prefix": string(), "regex": string()},
    oneof=[("exact", "prefix", "regex")],
    doc="Match a string exactly, by prefix, or by RE2 regex.",
)

PORT_NUMBER = uint32(checks=("webhook_port",))
PORT_SELECTOR = obj({"number": PORT_NUMBER}, doc="A port on the destination host.")

PERCENT = obj({"value": number(checks=("percentage",))}, doc="A percentage in the range 0.0-100.0.")

DESTINATION = obj(
    {"host": string(doc="Service registry name (short names are resolved in the rule's namespace)."),
     "subset": string(doc="A subset defined by a DestinationRule for this host."),
     "port": PORT_SELECTOR},
    required=["host"],
)

HEADER_OPERATIONS = obj({"set": map_of(string()), "add": map_of(string()), "remove": strings()})
HEADERS = obj({"request": HEADER_OPERATIONS, "response": HEADER_OPERATIONS})

# networking selectors: plain label maps whose values may not be wildcards.
NETWORKING_LABELS = map_of(string(max_length=63, checks=("selector_value_no_wildcard",)), max_properties=256)
LABELS = map_of(string())

# istio.type.v1beta1.WorkloadSelector (security, telemetry, DestinationRule.workloadSelector).
MATCH_LABELS = map_of(
    string(max_length=63, checks=("label_value_no_wildcard",)),
    max_properties=4096,
    checks=("label_keys_no_wildcard", "label_keys_not_empty"),
)
WORKLOAD_SELECTOR = obj({"matchLabels": MATCH_LABELS}, doc="Pods (and VMs) this policy applies to, by label.")

# istio.type.v1beta1.PolicyTargetReference: a Gateway API resource in the policy's own namespace.
POLICY_TARGET_REFERENCE = obj(
    {
        "group": string(max_length=253, pattern=r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"),
        "kind": string(min_length=1, max_length=63, pattern=r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"),
        "name": string(min_length=1, max_length=253),
        "namespace": string(checks=("same_namespace_ref",)),
    },
    required=["kind", "name"],
)

# The `selector` / `targetRef` / `targetRefs` trio of security and telemetry policies.
TARGETING = {
    "selector": WORKLOAD_SELECTOR,
    "targetRef": POLICY_TARGET_REFERENCE,
    "targetRefs": array(POLICY_TARGET_REFERENCE, max_items=16),
}

TLS_VERSION = enum("TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3")

SERVER_TLS_SETTINGS = obj(
    {
        "httpsRedirect": boolean(),
        "mode": enum("PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL"),
        "serverCertificate": string(),
        "privateKey": string(),
        "caCertificates": string(),
        "caCrl": string(),
        "credentialName": string(doc="Secret holding the certificate (SIMPLE/MUTUAL on gateways)."),
        "credentialNames": strings(max_items=2, min_items=1),
        "tlsCertificates": array(
            obj({"serverCertificate": string(), "privateKey": string(), "caCertificates": string()}),
            max_items=2, min_items=1,
        ),
        "subjectAltNames": strings(),
        "verifyCertificateSpki": strings(),
        "verifyCertificateHash": strings(),
        "caCertCredentialName": string(),
        "insecureSkipVerify": boolean(nullable=True),
        "ecdhCurves": strings(),
        "minProtocolVersion": TLS_VERSION,
        "maxProtocolVersion": TLS_VERSION,
        "cipherSuites": strings(),
    },
    checks=("one_credential_name", "credential_name_or_certificates", "credential_names_or_certificates"),
)

CLIENT_TLS_SETTINGS = obj(
    {
        "mode": enum("DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"),
        "clientCertificate": string(),
        "privateKey": string(),
        "caCertificates": string(),
        "credentialName": string(),
        "subjectAltNames": strings(),
        "sni": string(),
        "insecureSkipVerify": boolean(nullable=True),
        "caCrl": string(),
    }
)

# --- DestinationRule traffic policy -------------------------------------------------------------

_HTTP_COOKIE = obj(
    {
        "name": string(),
        "path": string(),
        "ttl": duration(zero=True),  # 0s: a session cookie
        "attributes": array(obj({"name": string(), "value": string()}, required=["name"])),
    },
    required=["name"],
)

CONSISTENT_HASH = obj(
    {
        "httpHeaderName": string(),
        "httpCookie": _HTTP_COOKIE,
        "useSourceIp": boolean(),
        "httpQueryParameterName": string(),
        "ringHash": obj({"minimumRingSize": uint64()}),
        "maglev": obj({"tableSize": uint64()}),
        "minimumRingSize": uint64(),
    },
    oneof=[("httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName"), ("ringHash", "maglev")],
)

_LOCALITY_LB = obj(
    {
        "distribute": array(obj({"from": string(), "to": map_of(uint32())})),
        "failover": array(obj({"from": string(), "to": string()})),
        "failoverPriority": strings(),
        "enabled": boolean(nullable=True),
    }
)

# Weighted round robin from the utilization endpoints report (ORCA).
_BACKEND_UTILIZATION = obj(
    {
        "errorUtilizationPenaltyPercent": uint32(),
        "metricNamesForComputingUtilization": strings(),
        "weightExpirationPeriod": duration(webhook=True),
        "weightStabilizationPeriod": duration(webhook=True),
        "weightUpdatePeriod": duration(webhook=True),
    }
)

_ZONE_AWARE_LB = obj(
    {
        "enabled": boolean(nullable=True),
        "failover": array(obj({"from": string(), "to": string()})),
        "failoverPriority": strings(),
        "minClusterSize": integer(minimum=1, maximum=4294967295, nullable=True),
    }
)

LOAD_BALANCER_SETTINGS = obj(
    {
        "simple": enum("UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST"),
        "consistentHash": CONSISTENT_HASH,
        "backendUtilization": _BACKEND_UTILIZATION,
        "localityLbSetting": _LOCALITY_LB,
        "zoneAwareLbSetting": _ZONE_AWARE_LB,
        "warmupDurationSecs": duration(),
        "warmup": obj(
            {
                "duration": duration(),
                "minimumPercent": number(minimum=0, maximum=100, nullable=True),
                "aggression": number(minimum=0, nullable=True),
            },
            required=["duration"],
        ),
    },
    oneof=[("simple", "consistentHash", "backendUtilization")],
)

_TCP_KEEPALIVE = obj({"probes": uint32(), "time": duration(), "interval": duration()})

CONNECTION_POOL_SETTINGS = obj(
    {
        "tcp": obj(
            {
                "maxConnections": int32(),
                "connectTimeout": duration(),
                "tcpKeepalive": _TCP_KEEPALIVE,
                "maxConnectionDuration": duration(),
                "idleTimeout": duration(webhook=True),
            }
        ),
        "http": obj(
            {
                "http1MaxPendingRequests": int32(),
                "http2MaxRequests": int32(),
                "maxRequestsPerConnection": int32(),
                "maxRetries": int32(),
                "idleTimeout": duration(),
                "h2UpgradePolicy": enum("DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"),
                "useClientProtocol": boolean(),
                "maxConcurrentStreams": int32(),
                "http2KeepAlive": obj({"interval": duration(), "timeout": duration()}),
            }
        ),
    },
    doc="Connection limits: tcp (all connections) and http (HTTP/1.1, HTTP/2, gRPC).",
)

OUTLIER_DETECTION = obj(
    {
        "splitExternalLocalOriginErrors": boolean(),
        "consecutiveLocalOriginFailures": uint32(nullable=True),
        "consecutiveGatewayErrors": uint32(nullable=True),
        "consecutive5xxErrors": uint32(nullable=True),
        "interval": duration(),
        "baseEjectionTime": duration(),
        "maxEjectionPercent": int32(),
        "minHealthPercent": int32(),
        "consecutiveErrors": int32(),
        "outlierDetectionHttpErrorCodes": array(integer(minimum=100, maximum=599)),
    },
    doc="Eject hosts that keep failing from the load balancing pool (a circuit breaker).",
)

_PORT_TRAFFIC_POLICY = obj(
    {
        "port": PORT_SELECTOR,
        "loadBalancer": LOAD_BALANCER_SETTINGS,
        "connectionPool": CONNECTION_POOL_SETTINGS,
        "outlierDetection": OUTLIER_DETECTION,
        "tls": CLIENT_TLS_SETTINGS,
    }
)

TRAFFIC_POLICY = obj(
    {
        "loadBalancer": LOAD_BALANCER_SETTINGS,
        "connectionPool": CONNECTION_POOL_SETTINGS,
        "outlierDetection": OUTLIER_DETECTION,
        "tls": CLIENT_TLS_SETTINGS,
        "portLevelSettings": array(_PORT_TRAFFIC_POLICY, max_items=4096),
        "tunnel": obj(
            {"protocol": string(), "targetHost": string(), "targetPort": uint32()},
            required=["targetHost", "targetPort"],
        ),
        "proxyProtocol": obj({"version": enum("V1", "V2")}),
        "retryBudget": obj(
            {
                "percent": number(minimum=0, maximum=100, nullable=True),
                "minRetryConcurrency": uint32(),
                "budgetInterval": duration(webhook=True),
            }
        ),
    }
)
