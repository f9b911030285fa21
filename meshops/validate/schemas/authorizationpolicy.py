"""AuthorizationPolicy (security.istio.io): who may do what to the selected workloads
(ALLOW/DENY/AUDIT/CUSTOM rules of from/to/when) (istio.io .../security/authorization-policy/)."""
from __future__ import annotations

from .common import TARGETING
from .dsl import KindSchema, array, enum, obj, string, strings

_IP_BLOCKS = array(string(checks=("ip_or_cidr",)))

SOURCE = obj(
    {
        "principals": strings(),
        "notPrincipals": strings(),
        "requestPrincipals": strings(),
        "notRequestPrincipals": strings(),
        "namespaces": strings(),
        "notNamespaces": strings(),
        "trustDomains": strings(),
        "notTrustDomains": strings(),
        "serviceAccounts": array(string(max_length=320), max_items=16),
        "notServiceAccounts": array(string(max_length=320), max_items=16),
        "ipBlocks": _IP_BLOCKS,
        "notIpBlocks": _IP_BLOCKS,
        "remoteIpBlocks": _IP_BLOCKS,
        "notRemoteIpBlocks": _IP_BLOCKS,
    },
    checks=("service_accounts_alone",),
)

OPERATION = obj(
    {
        "hosts": strings(),
        "notHosts": strings(),
        "ports": strings(),
        "notPorts": strings(),
        "methods": strings(),
        "notMethods": strings(),
        "paths": strings(),
        "notPaths": strings(),
    }
)

RULE = obj(
    {
        "from": array(obj({"source": SOURCE}), max_items=512),
        "to": array(obj({"operation": OPERATION})),
        "when": array(obj({"key": string(), "values": strings(), "notValues": strings()}, required=["key"])),
    },
    doc="A request matches a rule when it matches every one of from, to and when that the rule sets.",
)

AUTHORIZATION_POLICY = KindSchema(
    group="security.istio.io",
    kind="AuthorizationPolicy",
    plural="authorizationpolicies",
    short_names=("ap",),
    versions=("v1", "v1beta1"),
    doc="Access control for the selected workloads; an ALLOW policy with no rules matches nothing (denies all).",
    spec=obj(
        {
            **TARGETING,
            "rules": array(RULE, max_items=512),
            "action": enum("ALLOW", "DENY", "AUDIT", "CUSTOM"),
            "provider": obj({"name": string()}),
        },
        oneof=[("provider",)],
        checks=("target_or_selector",),
    ),
)
