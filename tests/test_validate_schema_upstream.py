"""The shipped schemas agree with the upstream Istio CRDs (`../shared/istio/`, test data only).

Agreement is checked three ways: on documents (the example repo's rendered objects, the seed
article's blocks, a table of broken documents), each validated with both schema sets through the
same code, must get the same findings, unknown-field paths included, except where a shipped rule is
deliberately stricter than the CRD (`RuleCheck.stricter`, what istiod's webhook rejects); the
declared fields must be the same; and every CEL rule upstream has on these kinds has a Python check
at the same place in ours.
"""
from __future__ import annotations

import pytest

from helpers import ISTIO_CRDS, SEED_DIR
from meshops.model.kinds import GATEWAY_API_GROUP
from meshops.render import render
from meshops.source.repo import open_source
from meshops.validate.manifest_files import load_manifest_paths
from meshops.validate.schema_checks import check_schemas, rule_violations
from meshops.validate.schemas import SHIPPED_KINDS, SchemaSet, cel_rules as checks
from seedyaml import write_seed_blocks
from test_validate_schema_checks import BROKEN, GOOD_DR, GOOD_PA, GOOD_SE, GOOD_TELEMETRY, GOOD_VS, manifest, set_path

pytestmark = pytest.mark.skipif(not ISTIO_CRDS.is_file(), reason=f"upstream Istio CRDs not found at {ISTIO_CRDS}")

SHIPPED = SchemaSet.shipped()
# The Istio kinds (the Gateway API kinds agree with their own upstream: test_validate_schema_upstream_gatewayapi).
ISTIO_KINDS = [kind for kind in SHIPPED_KINDS if kind.group.endswith("istio.io")]


def istio_objects(items):
    return [item for item in items if item.key.group != GATEWAY_API_GROUP]


@pytest.fixture(scope="module")
def upstream() -> SchemaSet:
    return SchemaSet.from_crd_files([str(ISTIO_CRDS)])


def stricter_paths(item) -> set[tuple]:
    schema = SHIPPED.schema_for(item.api_version, item.kind)
    if schema is None:
        return set()
    return {path for path, check, _ in rule_violations(item.obj, schema) if check.stricter}


def assert_agree(items, upstream: SchemaSet) -> int:
    """Same (code, path) findings with both schema sets, bar deliberately stricter rules; returns how many differed."""
    stricter_seen = 0
    for item in items:
        ours = {(f.code, f.path) for f in check_schemas([item], SHIPPED)}
        theirs = {(f.code, f.path) for f in check_schemas([item], upstream)}
        extra = {("MSH111", path) for path in stricter_paths(item)}
        stricter_seen += len(extra & ours)
        assert ours - extra == theirs, f"{item.key}: shipped {sorted(ours)} vs upstream {sorted(theirs)}"
    return stricter_seen


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_rendered_example_environments_agree(example_repo, upstream, environment):
    manifests = render(open_source(example_repo.working_dir), environment).manifests
    assert_agree(istio_objects(manifests), upstream)


def test_seed_article_blocks_agree(tmp_path, upstream):
    if not SEED_DIR.is_dir():
        pytest.skip(f"seed article not found at {SEED_DIR}")
    write_seed_blocks(tmp_path)
    manifests, _ = load_manifest_paths([str(tmp_path)])
    assert len(manifests) > 20
    assert_agree(manifests, upstream)
    unknown = {(f.object.name, f.path) for f in check_schemas(manifests, upstream) if f.code == "MSH105"}
    assert len(unknown) == 7  # 4 misplaced outlier fields, keepAlive, 2 access-log formats: upstream sees them too


GOOD_GATEWAY = """\
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: edge}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [bookinfo.example.com]
    tls: {mode: SIMPLE, credentialName: bookinfo-secret}
"""

GOOD_RA = """\
apiVersion: security.istio.io/v1beta1
kind: RequestAuthentication
metadata: {name: jwt}
spec:
  selector: {matchLabels: {app: httpbin}}
  jwtRules:
  - issuer: testing@secure.istio.io
    jwksUri: https://example.com/jwks.json
"""

GOOD_AP = """\
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow}
spec:
  selector: {matchLabels: {app: httpbin}}
  action: ALLOW
  rules:
  - from: [{source: {principals: [cluster.local/ns/default/sa/sleep]}}]
    to: [{operation: {methods: [GET]}}]
"""

GOOD_WE = """\
apiVersion: networking.istio.io/v1beta1
kind: WorkloadEntry
metadata: {name: vm}
spec: {address: 10.0.0.7, ports: {http: 8080}, labels: {app: legacy}}
"""

GOOD_SIDECAR = """\
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default}
spec:
  egress: [{hosts: ["./*", "istio-system/*"]}]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
"""

GOOD_ENVOY_FILTER = """\
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: lua, namespace: istio-system}
spec:
  workloadSelector: {labels: {istio: ingressgateway}}
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: GATEWAY
      listener:
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager
            subFilter: {name: envoy.filters.http.router}
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.lua
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
          inlineCode: "function envoy_on_request(h) end"
"""

GOOD_WASM_PLUGIN = """\
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: basic-auth, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  url: oci://ghcr.io/istio-ecosystem/wasm-extensions/basic_auth:1.12.0
  phase: AUTHN
  pluginConfig:
    basic_auth_rules: [{prefix: /productpage, request_methods: [GET], credentials: ["ok:test"]}]
  vmConfig:
    env: [{name: POD_NAME, valueFrom: HOST}, {name: TRUST_DOMAIN, value: cluster.local}]
  match: [{mode: SERVER, ports: [{number: 9080}]}]
"""

GOOD_WORKLOAD_GROUP = """\
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: reviews, namespace: bookinfo}
spec:
  metadata: {labels: {app: reviews.vm}}
  template: {ports: {http: 9080}, serviceAccount: default}
  probe:
    initialDelaySeconds: 5
    httpGet: {path: /ready, port: 9080, scheme: HTTP}
"""

GOOD_PROXY_CONFIG = """\
apiVersion: networking.istio.io/v1beta1
kind: ProxyConfig
metadata: {name: threads, namespace: bookinfo}
spec:
  selector: {matchLabels: {app: productpage}}
  concurrency: 0
  environmentVariables: {ISTIO_META_DNS_CAPTURE: "true"}
  image: {imageType: distroless}
"""

GOOD_TRAFFIC_EXTENSION = """\
apiVersion: extensions.istio.io/v1alpha1
kind: TrafficExtension
metadata: {name: header, namespace: bookinfo}
spec:
  selector: {matchLabels: {app: productpage}}
  phase: STATS
  lua: {inlineCode: "function envoy_on_response(h) h:headers():add('x-lua', '1') end"}
"""

MORE_BROKEN = [
    (GOOD_ENVOY_FILTER, lambda o: set_path(o, "spec.targetRefs", [{"kind": "Gateway", "name": "edge"}])),
    (GOOD_ENVOY_FILTER, lambda o: set_path(o, "spec.configPatches[0].match.waypoint", {"portNumber": 80})),
    (GOOD_ENVOY_FILTER, lambda o: set_path(o, "spec.configPatches[0].patch.operation", "PREPEND")),
    (GOOD_ENVOY_FILTER, lambda o: set_path(o, "spec.configPatches[0].match.cluster", {"service": "x"})),
    (GOOD_ENVOY_FILTER, lambda o: set_path(o, "spec.workloadSelector.labels", {"istio": "ingress*"})),
    (GOOD_WASM_PLUGIN, lambda o: set_path(o, "spec.url", "ftp://example.com/plugin.wasm")),
    (GOOD_WASM_PLUGIN, lambda o: set_path(o, "spec.vmConfig.env[0].value", "x")),
    (GOOD_WASM_PLUGIN, lambda o: set_path(o, "spec.targetRefs", [{"kind": "Gateway", "name": "edge"}])),
    (GOOD_WASM_PLUGIN, lambda o: set_path(o, "spec.sha256", "abc")),
    (GOOD_WASM_PLUGIN, lambda o: o["spec"].pop("url")),
    (GOOD_WASM_PLUGIN, lambda o: set_path(o, "spec.phase", "UNSPECIFIED")),
    (GOOD_WORKLOAD_GROUP, lambda o: set_path(o, "spec.probe.httpGet.scheme", "TCP")),
    (GOOD_WORKLOAD_GROUP, lambda o: set_path(o, "spec.probe.tcpSocket", {"port": 9080})),
    (GOOD_WORKLOAD_GROUP, lambda o: set_path(o, "spec.template.address", "unix:///var/run/app.sock")),
    (GOOD_WORKLOAD_GROUP, lambda o: o["spec"].pop("template")),
    (GOOD_PROXY_CONFIG, lambda o: set_path(o, "spec.concurrency", -1)),
    (GOOD_PROXY_CONFIG, lambda o: set_path(o, "spec.image.type", "distroless")),
    (GOOD_TRAFFIC_EXTENSION, lambda o: set_path(o, "spec.wasm", {"url": "oci://ghcr.io/a/b:1"})),
    (GOOD_TRAFFIC_EXTENSION, lambda o: o["spec"].pop("lua")),
    (GOOD_TRAFFIC_EXTENSION, lambda o: set_path(o, "spec.targetRefs", [{"kind": "Service", "name": "productpage"}])),
    (GOOD_GATEWAY, lambda o: set_path(o, "spec.servers[0].tls.credentialNames", ["a", "b"])),
    (GOOD_GATEWAY, lambda o: set_path(o, "spec.servers[0].tls.mode", "STRICT")),
    (GOOD_GATEWAY, lambda o: o["spec"]["servers"][0].pop("hosts")),
    (GOOD_GATEWAY, lambda o: set_path(o, "spec.servers[0].port.protocl", "HTTPS")),
    (GOOD_RA, lambda o: set_path(o, "spec.jwtRules[0].jwks", "{}")),
    (GOOD_RA, lambda o: set_path(o, "spec.jwtRules[0].jwksUri", "ftp://example.com/jwks")),
    (GOOD_RA, lambda o: set_path(o, "spec.targetRef", {"kind": "Gateway", "name": "edge"})),
    (GOOD_AP, lambda o: set_path(o, "spec.rules[0].from[0].source.serviceAccounts", ["default/sleep"])),
    (GOOD_AP, lambda o: set_path(o, "spec.action", "PERMIT")),
    (GOOD_AP, lambda o: set_path(o, "spec.rules[0].when", [{"values": ["x"]}])),
    (GOOD_SE, lambda o: o["spec"].update(addresses=["10.0.0.0/24"])),
    (GOOD_SE, lambda o: o["spec"].update(resolution="DNS_ROUND_ROBIN", endpoints=[{"address": "a"}, {"address": "b"}])),
    (GOOD_SE, lambda o: o["spec"].update(ports=[{"number": 443, "name": "a"}, {"number": 443, "name": "b"}])),
    (GOOD_SE, lambda o: o.pop("spec")),
    (GOOD_WE, lambda o: set_path(o, "spec.address", "unix://relative/socket")),
    (GOOD_WE, lambda o: set_path(o, "spec.ports", {"bad name!": 80})),
    (GOOD_WE, lambda o: o["spec"].pop("address")),
    (GOOD_SIDECAR, lambda o: set_path(o, "spec.outboundTrafficPolicy.mode", "ALLOW_ALL")),
    (GOOD_SIDECAR, lambda o: set_path(o, "spec.workloadSelector.labels", {"app": "*"})),
    (GOOD_DR, lambda o: set_path(o, "spec.trafficPolicy.loadBalancer.consistentHash", {"useSourceIp": True})),
    (GOOD_DR, lambda o: set_path(o, "spec.trafficPolicy.outlierDetection.consecutive5xxErrors", -1)),
    (GOOD_DR, lambda o: set_path(o, "spec.subsets[0].trafficPolicy", {"tls": {"mode": "STRICT"}})),
    (GOOD_DR, lambda o: set_path(o, "spec.trafficPolicy.tunnel", {"protocol": "CONNECT"})),
    (GOOD_VS, lambda o: set_path(o, "spec.http[0].redirect", {"port": 8080, "derivePort": "FROM_REQUEST_PORT"})),
    (GOOD_VS, lambda o: set_path(o, "spec.http[0].retries", {"attempts": 3, "perTryTimeout": "2"})),
    (GOOD_VS, lambda o: set_path(o, "spec.tcp", [{"route": [{"destination": {}}]}])),
    (GOOD_PA, lambda o: set_path(o, "spec.mtls.mode", "strict")),
    (GOOD_TELEMETRY, lambda o: set_path(o, "spec.metrics[0].overrides[0].tagOverrides.request_host",
                                        {"operation": "REMOVE", "value": "x"})),
    (GOOD_TELEMETRY, lambda o: set_path(o, "spec.selector", {"matchLabels": {"": "x"}})),
    (GOOD_TELEMETRY, lambda o: set_path(o, "spec.tracing[0].customTags", {"t": {"literal": {"value": "a"}, "header": {"name": "h"}}})),
]


def test_broken_documents_agree_and_are_invalid_with_both(upstream):
    items = [manifest(text, edit) for _, text, edit, *_ in BROKEN] + [manifest(text, edit) for text, edit in MORE_BROKEN]
    stricter = assert_agree(items, upstream)
    assert stricter >= 3  # weight, percentage and destination port rows: only shipped rejects them
    for item in items:
        if not stricter_paths(item):
            assert check_schemas([item], upstream), f"{item.key} should be invalid upstream too"


def test_good_documents_agree(upstream):
    items = [manifest(text) for text in (GOOD_VS, GOOD_DR, GOOD_PA, GOOD_SE, GOOD_TELEMETRY, GOOD_GATEWAY, GOOD_RA,
                                         GOOD_AP, GOOD_WE, GOOD_SIDECAR, GOOD_ENVOY_FILTER, GOOD_WASM_PLUGIN,
                                         GOOD_WORKLOAD_GROUP, GOOD_PROXY_CONFIG, GOOD_TRAFFIC_EXTENSION)]
    older = {"networking.istio.io": ("v1beta1", "v1alpha3"), "security.istio.io": ("v1beta1",), "telemetry.istio.io": ("v1alpha1",)}
    for item in list(items):
        group = item.api_version.split("/")[0]
        for version in older.get(group, ()):
            if version not in upstream.served_versions(group, item.kind):
                continue  # EnvoyFilter (v1alpha3) and ProxyConfig (v1beta1) are served in one version
            items.append(manifest(item_text(item), lambda o, v=f"{group}/{version}": o.update(apiVersion=v)))
    assert_agree(items, upstream)
    assert check_schemas(items, upstream) == []


def item_text(item) -> str:
    from meshops.yamlio.documents import dump

    return dump(item.obj)


def _nodes(schema, path=""):
    yield path, schema
    for name, sub in (schema.get("properties") or {}).items():
        yield from _nodes(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from _nodes(schema["items"], path + "[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _nodes(schema["additionalProperties"], path + "{}")


def _spec_nodes(schemas: SchemaSet, kind) -> dict[str, dict]:
    schema = schemas.schema_for(f"{kind.group}/{kind.versions[0]}", kind.kind)
    return {path: node for path, node in _nodes(schema) if not path.startswith(".status")}


@pytest.mark.parametrize("kind", ISTIO_KINDS, ids=[k.kind for k in ISTIO_KINDS])
def test_shipped_kind_declares_the_same_fields_and_constraints_as_upstream(upstream, kind):
    assert set(upstream.served_versions(kind.group, kind.kind)) == set(kind.versions)
    ours, theirs = _spec_nodes(SHIPPED, kind), _spec_nodes(upstream, kind)
    assert sorted(set(theirs) - set(ours)) == [], "fields upstream declares and we do not"
    assert sorted(set(ours) - set(theirs)) == [], "fields we declare and upstream does not"
    for path, node in theirs.items():
        for keyword in ("type", "required", "minimum", "maximum", "nullable", "maxLength", "minLength", "pattern",
                        "maxItems", "minItems", "maxProperties", "minProperties", "oneOf", "allOf"):
            assert ours[path].get(keyword) == node.get(keyword), f"{path}: {keyword}"
        assert sorted(ours[path].get("enum") or []) == sorted(node.get("enum") or []), f"{path}: enum"


@pytest.mark.parametrize("kind", ISTIO_KINDS, ids=[k.kind for k in ISTIO_KINDS])
def test_every_upstream_rule_has_a_python_check_at_the_same_place(upstream, kind):
    ours, theirs = _spec_nodes(SHIPPED, kind), _spec_nodes(upstream, kind)
    for path, node in theirs.items():
        for rule in node.get("x-kubernetes-validations") or ():
            assert rule["message"] in {r["message"] for r in ours[path].get("x-kubernetes-validations") or ()}, path
    for path, node in ours.items():
        upstream_messages = {r["message"] for r in theirs[path].get("x-kubernetes-validations") or ()}
        for rule in node.get("x-kubernetes-validations") or ():
            if rule["message"] not in upstream_messages:
                assert any(c.stricter for c in checks.CHECKS if c.message == rule["message"] and c.cel == rule["rule"]), \
                    f"{path}: {rule['message']} is not in upstream and not marked stricter"
