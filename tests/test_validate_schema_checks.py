"""MSH1xx: every schema check fires on a broken object and stays quiet on a good one."""
from __future__ import annotations

import copy

import pytest

from meshops.model.manifest import Manifest
from meshops.render import render
from meshops.source.repo import open_source
from meshops.validate.manifest_files import load_manifest_paths
from meshops.validate.findings import Severity
from meshops.validate.schema_checks import RULES, check_schemas
from meshops.validate.schemas import SchemaSet
from meshops.yamlio.documents import load_one
from seedyaml import write_seed_blocks
from helpers import SEED_DIR

SHIPPED = SchemaSet.shipped()

GOOD_VS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
  http:
  - match:
    - uri: {prefix: /api}
    timeout: 7s
    fault:
      delay: {percentage: {value: 10}, fixedDelay: 5s}
    route:
    - destination: {host: reviews, subset: v1, port: {number: 9080}}
      weight: 90
    - destination: {host: reviews, subset: v2}
      weight: 10
"""

GOOD_DR = """\
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST}
    connectionPool:
      tcp: {maxConnections: 10, connectTimeout: 30ms, tcpKeepalive: {time: 7200s, interval: 75s}}
      http: {http1MaxPendingRequests: 10, maxRetries: 3}
    outlierDetection: {consecutive5xxErrors: 5, interval: 30s, baseEjectionTime: 1m, maxEjectionPercent: 50}
  subsets:
  - {name: v1, labels: {version: v1}}
"""

GOOD_PA = """\
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: reviews, namespace: bookinfo}
spec:
  selector: {matchLabels: {app: reviews}}
  mtls: {mode: STRICT}
  portLevelMtls:
    "9080": {mode: PERMISSIVE}
"""

GOOD_SE = """\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api}
spec:
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{number: 443, name: https, protocol: TLS}]
"""

GOOD_TELEMETRY = """\
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh, namespace: istio-system}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_COUNT, mode: CLIENT_AND_SERVER}
      tagOverrides:
        request_host: {operation: UPSERT, value: request.host}
        destination_canonical_revision: {operation: REMOVE}
  tracing:
  - randomSamplingPercentage: 1.0
"""

GOOD_SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: 9080}]
"""


def manifest(text: str, edit=None) -> Manifest:
    from meshops.model.manifest import FileSource

    document = load_one(text, filename="object.yaml")
    obj = copy.deepcopy(document.data)
    if edit:
        edit(obj)
    return Manifest(obj=obj, source=FileSource("object.yaml", document))


def codes(findings) -> list[tuple[str, str]]:
    return [(f.code, f.json_path) for f in findings]


def set_path(obj, path: str, value):
    """Edit `obj` at a dotted path with [i] indexes, creating mappings on the way."""
    parts = path.replace("[", ".[").split(".")
    node = obj
    for part, following in zip(parts, parts[1:] + [None]):
        key = int(part[1:-1]) if part.startswith("[") else part
        if following is None:
            node[key] = value
        else:
            if isinstance(key, str) and key not in node:
                node[key] = {}
            node = node[key]


def delete_path(obj, path: str):
    parts = path.split(".")
    node = obj
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    del node[parts[-1]]


@pytest.mark.parametrize("text", [GOOD_VS, GOOD_DR, GOOD_PA, GOOD_SE, GOOD_TELEMETRY, GOOD_SERVICE])
def test_correct_objects_give_no_finding(text):
    assert check_schemas([manifest(text)], SHIPPED) == []


# (base object, edit, expected code, expected path, text the message must contain)
BROKEN = [
    ("missing_name", GOOD_VS, lambda o: o["metadata"].pop("name"), "MSH102", "", "metadata.name missing"),
    ("version_not_served", GOOD_VS, lambda o: o.update(apiVersion="networking.istio.io/v2"), "MSH103", ".apiVersion",
     "served versions: v1, v1beta1, v1alpha3"),
    ("kind_typo", GOOD_VS, lambda o: o.update(kind="VirtualServce"), "MSH103", ".kind", "did you mean 'VirtualService'"),
    ("unknown_field_typo", GOOD_DR, lambda o: set_path(o, "spec.trafficPolicy.connectionPool.tcp.keepAlive", {}),
     "MSH105", ".spec.trafficPolicy.connectionPool.tcp.keepAlive", "did you mean 'tcpKeepalive'"),
    ("misplaced_field", GOOD_DR, lambda o: set_path(o, "spec.trafficPolicy.connectionPool.http.baseEjectionTime", "30s"),
     "MSH105", ".spec.trafficPolicy.connectionPool.http.baseEjectionTime", "belongs under spec.trafficPolicy.outlierDetection"),
    ("wrong_type", GOOD_VS, lambda o: set_path(o, "spec.http[0].route[0].weight", "ninety"), "MSH106",
     ".spec.http[0].route[0].weight", "is not of type integer"),
    ("bad_enum", GOOD_DR, lambda o: set_path(o, "spec.trafficPolicy.loadBalancer.simple", "LEAST_CONNECTIONS"), "MSH107",
     ".spec.trafficPolicy.loadBalancer.simple", "LEAST_CONN"),
    ("missing_required", GOOD_VS, lambda o: o["spec"]["http"][0]["route"][0]["destination"].pop("host"), "MSH108",
     ".spec.http[0].route[0].destination", "'host' is required"),
    ("out_of_range", GOOD_TELEMETRY, lambda o: set_path(o, "spec.tracing[0].randomSamplingPercentage", 150), "MSH109",
     ".spec.tracing[0].randomSamplingPercentage", "maximum of 100"),
    ("exclusive", GOOD_VS, lambda o: set_path(o, "spec.http[0].match[0].uri.exact", "/api"), "MSH110",
     ".spec.http[0].match[0].uri", "only one of exact, prefix, regex"),
    ("bad_duration", GOOD_VS, lambda o: set_path(o, "spec.http[0].timeout", "7"), "MSH111", ".spec.http[0].timeout",
     "must be a valid duration greater than 1ms"),
    ("duration_too_short", GOOD_DR, lambda o: set_path(o, "spec.trafficPolicy.outlierDetection.interval", "0s"), "MSH111",
     ".spec.trafficPolicy.outlierDetection.interval", "valid duration"),
    ("weight_over_100", GOOD_VS, lambda o: set_path(o, "spec.http[0].route[0].weight", 150), "MSH111",
     ".spec.http[0].route[0].weight", "weight must be between 0 and 100"),
    ("percentage_over_100", GOOD_VS, lambda o: set_path(o, "spec.http[0].fault.delay.percentage.value", 101), "MSH111",
     ".spec.http[0].fault.delay.percentage.value", "percentage must be between 0 and 100"),
    ("destination_port_zero", GOOD_VS, lambda o: set_path(o, "spec.http[0].route[0].destination.port.number", 0), "MSH111",
     ".spec.http[0].route[0].destination.port.number", "port must be between 1-65535"),
    ("service_entry_port", GOOD_SE, lambda o: set_path(o, "spec.ports[0].number", 70000), "MSH111", ".spec.ports[0].number",
     "port must be between 1-65535"),
    ("port_level_mtls_without_selector", GOOD_PA, lambda o: o["spec"].pop("selector"), "MSH111", ".spec",
     "portLevelMtls requires selector"),
    ("port_level_mtls_bad_port", GOOD_PA, lambda o: set_path(o, "spec.portLevelMtls", {"http": {"mode": "STRICT"}}), "MSH111",
     ".spec.portLevelMtls", "port must be between 1-65535"),
    ("wildcard_host", GOOD_SE, lambda o: set_path(o, "spec.hosts", ["*"]), "MSH111", ".spec.hosts[0]", "hostname cannot be wildcard"),
    ("none_with_endpoints", GOOD_SE, lambda o: o["spec"].update(resolution="NONE", endpoints=[{"address": "10.0.0.1"}]),
     "MSH111", ".spec", "NONE mode cannot set endpoints"),
    ("upsert_without_value", GOOD_TELEMETRY,
     lambda o: set_path(o, "spec.metrics[0].overrides[0].tagOverrides.request_host", {"operation": "UPSERT"}),
     "MSH111", ".spec.metrics[0].overrides[0].tagOverrides.request_host", "value must be set when operation is UPSERT"),
    ("selector_wildcard", GOOD_PA, lambda o: set_path(o, "spec.selector.matchLabels.app", "review*"), "MSH111",
     ".spec.selector.matchLabels.app", "wildcard not allowed in label value match"),
    ("core_kind_wrong_type", GOOD_SERVICE, lambda o: set_path(o, "spec.ports[0].port", "http"), "MSH106",
     ".spec.ports[0].port", "is not of type"),
    ("name_not_dns_1123", GOOD_VS, lambda o: set_path(o, "metadata.name", "Reviews_V1"), "MSH109", ".metadata.name",
     "the API server refuses it: use e.g. 'reviews-v1'"),
    ("namespace_not_dns_label", GOOD_VS, lambda o: set_path(o, "metadata.namespace", "book.info"), "MSH109",
     ".metadata.namespace", "lowercase RFC 1123 label"),
    ("service_name_not_dns_1035", GOOD_SERVICE, lambda o: set_path(o, "metadata.name", "9reviews"), "MSH109",
     ".metadata.name", "DNS-1035 label"),
    ("core_kind_unknown_field", GOOD_SERVICE, lambda o: set_path(o, "spec.selectr", {}), "MSH105", ".spec.selectr",
     "did you mean 'selector'"),
]


@pytest.mark.parametrize("name,text,edit,code,path,words", BROKEN, ids=[row[0] for row in BROKEN])
def test_each_check_fires_with_its_code_path_and_fix(name, text, edit, code, path, words):
    findings = check_schemas([manifest(text, edit)], SHIPPED)
    assert (code, path) in codes(findings), codes(findings)
    finding = next(f for f in findings if (f.code, f.json_path) == (code, path))
    assert words in finding.message
    assert finding.locations and finding.locations[0].file == "object.yaml" and finding.locations[0].line


def test_every_code_in_the_catalogue_has_a_firing_test():
    # file-level codes: test_validate_schema_files, test_real_world_files and test_plain_manifests
    fired = {row[3] for row in BROKEN} | {"MSH100", "MSH101", "MSH104", "MSH112", "MSH113"}
    assert {rule.code for rule in RULES} == fired


def test_unknown_custom_kind_is_info_not_error():
    findings = check_schemas([manifest("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {anything: 1}\n")], SHIPPED)
    assert [(f.code, f.severity) for f in findings] == [("MSH104", Severity.INFO)]


def test_unknown_core_kind_is_info_like_schema_not_found():
    findings = check_schemas([manifest("apiVersion: v1\nkind: Gizmo\nmetadata: {name: g}\n")], SHIPPED)
    assert [(f.code, f.severity) for f in findings] == [("MSH104", Severity.INFO)]


def test_finding_points_at_the_line_of_the_unknown_key():
    findings = check_schemas([manifest(GOOD_DR, lambda o: set_path(o, "spec.trafficPolicy.connectionPool.tcp.keepAlive", {}))], SHIPPED)
    # edits made after parsing have no line of their own: the nearest parent that has one is used
    assert findings[0].locations[0].line == 9  # `tcp:` line in GOOD_DR


def test_telemetry_prometheus_metric_name_suggests_the_api_name():
    findings = check_schemas([manifest(GOOD_TELEMETRY, lambda o: set_path(o, "spec.metrics[0].overrides[0].match.metric", "istio_requests_total"))], SHIPPED)
    assert findings[0].code == "MSH107" and "did you mean 'REQUEST_COUNT'" in findings[0].message


@pytest.fixture(scope="module")
def seed_findings(tmp_path_factory):
    if not SEED_DIR.is_dir():
        pytest.skip(f"seed article not found at {SEED_DIR}")
    directory = tmp_path_factory.mktemp("seed")
    write_seed_blocks(directory)
    manifests, findings = load_manifest_paths([str(directory)])
    return findings + check_schemas(manifests, SHIPPED)


def test_seed_misplaced_connection_pool_fields_are_errors_pointing_at_outlier_detection(seed_findings):
    misplaced = {f.path[-1]: f for f in seed_findings if f.code == "MSH105" and "connectionPool" in f.path and "http" in f.path}
    assert set(misplaced) == {"consecutiveGatewayErrors", "interval", "baseEjectionTime", "maxEjectionPercent"}
    assert all("belongs under spec.trafficPolicy.outlierDetection" in f.message for f in misplaced.values())
    assert all(f.severity is Severity.ERROR and f.locations[0].line for f in misplaced.values())


def test_seed_keepalive_typo_suggests_tcp_keepalive(seed_findings):
    [typo] = [f for f in seed_findings if f.path and f.path[-1] == "keepAlive"]
    assert typo.code == "MSH105" and "did you mean 'tcpKeepalive'" in typo.message


def test_seed_telemetry_metric_names_that_do_not_exist_are_errors(seed_findings):
    values = {f.message.split(" is not one of")[0] for f in seed_findings if f.code == "MSH107"}
    assert values == {"'requests_total'", "'tcp_connections_opened_total'"}


def test_seed_access_log_format_inside_telemetry_is_an_error(seed_findings):
    formats = [f for f in seed_findings if f.code == "MSH105" and f.path[-1] == "format"]
    assert {f.object.name for f in formats} == {"access-logs", "structured-logs"}
    assert all("extensionProviders" in f.message for f in formats)


def test_seed_other_blocks_have_no_schema_errors(seed_findings):
    expected = {"DestinationRule productpage", "Telemetry default/custom-metrics", "Telemetry istio-system/access-logs",
                "Telemetry production/structured-logs"}
    errors = {str(f.object) for f in seed_findings if f.severity is Severity.ERROR}
    assert errors == expected
    infos = {f.object.kind for f in seed_findings if f.severity is Severity.INFO}
    assert infos == {"IstioOperator"}  # install.istio.io is not a group the shipped schemas serve


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_example_repo_environments_have_no_schema_findings(example_repo, environment):
    result = render(open_source(example_repo.working_dir), environment)
    assert result.manifests
    assert check_schemas(result.manifests, SHIPPED) == []


def test_rendered_object_finding_names_values_line_then_template_line(example_repo):
    from pathlib import Path

    values = Path(example_repo.working_dir) / "environments" / "base" / "values.yaml"
    text = values.read_text(encoding="utf-8")
    assert "simple: LEAST_CONN" in text
    values.write_text(text.replace("simple: LEAST_CONN", "simple: LEAST_CONNS", 1), encoding="utf-8")
    line = text.splitlines().index(next(l for l in text.splitlines() if "simple: LEAST_CONN" in l)) + 1
    result = render(open_source(example_repo.working_dir), "dev")
    findings = check_schemas(result.manifests, SHIPPED)
    [finding] = findings
    assert (finding.code, finding.json_path) == ("MSH107", ".spec.trafficPolicy.loadBalancer.simple")
    assert "did you mean 'LEAST_CONN'" in finding.message
    assert [str(location) for location in finding.locations][0] == f"environments/base/values.yaml:{line}"
    assert finding.locations[-1].file == "templates/destinationrules.yaml.j2"
