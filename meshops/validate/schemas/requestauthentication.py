"""RequestAuthentication (security.istio.io): which JWTs a workload accepts; a request with an
invalid token is rejected, one with no token passes unless an AuthorizationPolicy requires it
(istio.io .../security/request_authentication/)."""
from __future__ import annotations

from .common import TARGETING
from .dsl import KindSchema, array, boolean, duration, enum, obj, string

JWT_RULE = obj(
    {
        "issuer": string(min_length=1),
        "audiences": array(string(min_length=1)),
        "jwksUri": string(min_length=1, max_length=2048, checks=("http_url",)),
        "jwks_uri": string(min_length=1, max_length=2048, checks=("http_url",)),
        "jwks": string(),
        "fromHeaders": array(obj({"name": string(min_length=1), "prefix": string()}, required=["name"])),
        "fromParams": array(string(min_length=1)),
        "outputPayloadToHeader": string(),
        "fromCookies": array(string(min_length=1)),
        "forwardOriginalToken": boolean(),
        "outputClaimToHeaders": array(
            obj(
                {"header": string(min_length=1, pattern="^[-_A-Za-z0-9]+$"), "claim": string(min_length=1)},
                required=["header", "claim"],
            )
        ),
        "timeout": duration(),
        "spaceDelimitedClaims": array(string(min_length=1), max_items=64),
        "presence": enum("OPTIONAL", "REQUIRED", doc="Whether a request must carry this token."),
    },
    checks=("one_jwks_source",),
)

REQUEST_AUTHENTICATION = KindSchema(
    group="security.istio.io",
    kind="RequestAuthentication",
    plural="requestauthentications",
    short_names=("ra",),
    versions=("v1", "v1beta1"),
    doc="JWT validation for the selected workloads: issuers, key sets and where tokens are read from.",
    spec=obj(
        {**TARGETING, "jwtRules": array(JWT_RULE, max_items=4096)},
        checks=("target_or_selector",),
    ),
)
