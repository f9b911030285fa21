"""istioctl analyze parity: selectors, gateway workloads and credentials, conflicting Sidecars and
Telemetries, ServiceEntry addresses, server certificate verification and deprecated fields — each
check fires on its mistake, stays quiet on the fix, and reports an absence only where it was read."""
from __future__ import annotations

from meshops.model.manifest import FileSource, Manifest
from meshops.model.readscope import EVERY_POD, OFFLINE, LiveScope
from meshops.validate import validate
from meshops.validate.catalogue import catalogue
from meshops.yamlio.documents import load_documents


def check(text: str, *, live: list[dict] | None = None, scope: LiveScope = EVERY_POD) -> list:
    manifests = [Manifest(obj=d.data, source=FileSource("mesh.yaml", d)) for d in load_documents(text, filename="mesh.yaml")]
    return validate(manifests, live=[] if live is None else live, read_scope=scope)


def codes(findings, prefix: str = "MSH2") -> list[tuple[str, str]]:
    return [(f.code, f.json_path) for f in findings if f.code.startswith(prefix) and f.code != "MSH204"]


def pod(name: str, namespace: str, **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": labels}}


def service(name: str, namespace: str, selector: dict, ports: list[int]) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": selector, "ports": [{"port": p} for p in ports]}}


def secret(name: str, namespace: str, *keys: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
            "data": {key: "" for key in keys}}


REVIEWS_POD = pod("reviews-v1-abc", "bookinfo", app="reviews", version="v1")
GATEWAY_POD = pod("istio-ingressgateway-abc", "istio-system", istio="ingressgateway")
GATEWAY_SERVICE = service("istio-ingressgateway", "istio-system", {"istio": "ingressgateway"}, [80, 443])

POLICY = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews, namespace: bookinfo}
spec:
  selector: {matchLabels: {app: APP}}
  rules: [{from: [{source: {principals: [cluster.local/ns/bookinfo/sa/productpage]}}], to: [{operation: {methods: [GET]}}]}]
"""


# --- MSH224 selectors that match no workload -------------------------------------------------------


def test_a_policy_selector_that_matches_no_pod_applies_to_nothing():
    [finding] = codes(check(POLICY.replace("APP", "reveiws"), live=[REVIEWS_POD]))
    assert finding == ("MSH224", ".spec.selector.matchLabels")


def test_a_policy_selector_that_matches_a_pod_is_quiet():
    assert codes(check(POLICY.replace("APP", "reviews"), live=[REVIEWS_POD])) == []


def test_a_rendered_deployment_counts_as_the_workload_a_selector_matches():
    deployment = """
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v2, namespace: bookinfo}
spec: {selector: {matchLabels: {app: reviews2}}, template: {metadata: {labels: {app: reviews2}}}}
"""
    assert codes(check(POLICY.replace("APP", "reviews2") + deployment, live=[REVIEWS_POD])) == []


def test_selectors_are_not_judged_where_pods_were_not_read():
    assert codes(check(POLICY.replace("APP", "reveiws"), live=None, scope=OFFLINE)) == []
    elsewhere = LiveScope(pod_namespaces=frozenset({"shop"}))
    assert codes(check(POLICY.replace("APP", "reveiws"), live=[REVIEWS_POD], scope=elsewhere)) == []


def test_a_root_namespace_selector_looks_for_workloads_in_every_namespace():
    root = POLICY.replace("namespace: bookinfo", "namespace: istio-system")
    assert codes(check(root.replace("APP", "reviews"), live=[REVIEWS_POD])) == []
    assert codes(check(root.replace("APP", "ratings"), live=[REVIEWS_POD])) == [("MSH224", ".spec.selector.matchLabels")]


def test_a_namespace_wide_policy_in_a_namespace_without_workloads_applies_to_nothing():
    policy = POLICY.replace("  selector: {matchLabels: {app: APP}}\n", "")
    assert codes(check(policy, live=[pod("x", "shop", app="x")])) == [("MSH224", ".metadata.namespace")]
    assert codes(check(policy, live=[REVIEWS_POD])) == []


def test_a_sidecar_envoy_filter_and_service_entry_selector_are_checked_too():
    text = """
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: s, namespace: bookinfo}
spec: {workloadSelector: {labels: {app: ratings}}}
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: e, namespace: bookinfo}
spec: {workloadSelector: {labels: {app: reviews}}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: vm, namespace: bookinfo}
spec: {hosts: [vm.internal], ports: [{number: 80, name: http, protocol: HTTP}], workloadSelector: {labels: {app: vm}}}
"""
    assert codes(check(text, live=[REVIEWS_POD])) == [
        ("MSH224", ".spec.workloadSelector.labels"), ("MSH224", ".spec.workloadSelector.labels")]
    workload_entry = {"apiVersion": "networking.istio.io/v1", "kind": "WorkloadEntry",
                      "metadata": {"name": "vm-1", "namespace": "bookinfo"}, "spec": {"address": "10.0.0.9", "labels": {"app": "vm"}}}
    found = check(text, live=[REVIEWS_POD, workload_entry])
    assert [f.object.kind for f in found if f.code == "MSH224"] == ["Sidecar"]


# --- gateways ----------------------------------------------------------------------------------------

GATEWAY = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: bookinfo}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [bookinfo.example.com]
    tls: {mode: MODE, credentialName: bookinfo-cert}
"""
WITH_SECRETS = LiveScope(pods_everywhere=True, secret_namespaces=frozenset({"istio-system"}))


def test_a_gateway_selector_that_matches_no_pod_is_an_error():
    [finding] = codes(check(GATEWAY.replace("MODE", "SIMPLE"), live=[REVIEWS_POD]))
    assert finding == ("MSH222", ".spec.selector")


def test_a_gateway_with_its_pods_and_certificate_is_quiet():
    live = [GATEWAY_POD, GATEWAY_SERVICE, secret("bookinfo-cert", "istio-system", "tls.crt", "tls.key")]
    assert codes(check(GATEWAY.replace("MODE", "SIMPLE"), live=live, scope=WITH_SECRETS)) == []


def test_a_credential_missing_from_the_gateway_pods_namespace_is_an_error():
    live = [GATEWAY_POD, GATEWAY_SERVICE, secret("bookinfo-cert", "bookinfo", "tls.crt", "tls.key")]
    [finding] = check(GATEWAY.replace("MODE", "SIMPLE"), live=live, scope=WITH_SECRETS)
    assert (finding.code, finding.json_path) == ("MSH220", ".spec.servers[0].tls.credentialName")
    assert "namespace 'istio-system'" in finding.message


def test_a_credential_is_not_judged_where_secrets_were_not_read():
    assert codes(check(GATEWAY.replace("MODE", "SIMPLE"), live=[GATEWAY_POD, GATEWAY_SERVICE])) == []


def test_a_credential_without_certificate_and_key_is_invalid():
    live = [GATEWAY_POD, GATEWAY_SERVICE, secret("bookinfo-cert", "istio-system", "password")]
    assert codes(check(GATEWAY.replace("MODE", "SIMPLE"), live=live, scope=WITH_SECRETS)) == [
        ("MSH221", ".spec.servers[0].tls.credentialName")]


def test_mutual_tls_needs_a_ca_in_the_secret_or_a_cacert_secret():
    live = [GATEWAY_POD, GATEWAY_SERVICE, secret("bookinfo-cert", "istio-system", "tls.crt", "tls.key")]
    assert [c for c, _ in codes(check(GATEWAY.replace("MODE", "MUTUAL"), live=live, scope=WITH_SECRETS))] == ["MSH221"]
    live.append(secret("bookinfo-cert-cacert", "istio-system", "ca.crt"))
    assert codes(check(GATEWAY.replace("MODE", "MUTUAL"), live=live, scope=WITH_SECRETS)) == []


def test_a_gateway_port_the_gateway_service_does_not_expose_is_reported():
    text = GATEWAY.replace("MODE", "SIMPLE").replace("number: 443", "number: 8443")
    live = [GATEWAY_POD, GATEWAY_SERVICE, secret("bookinfo-cert", "istio-system", "tls.crt", "tls.key")]
    [finding] = check(text, live=live, scope=WITH_SECRETS)
    assert (finding.code, finding.json_path) == ("MSH223", ".spec.servers[0].port.number")
    assert "exposes 80, 443" in finding.message


# --- competing Sidecars and Telemetries --------------------------------------------------------------

SIDECAR = """
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: NAME, namespace: bookinfo}
spec: SPEC
"""


def sidecar(name: str, spec: str) -> str:
    return SIDECAR.replace("NAME", name).replace("SPEC", spec)


def test_two_sidecars_selecting_the_same_pod_conflict():
    text = sidecar("by-app", "{workloadSelector: {labels: {app: reviews}}}") + sidecar(
        "by-version", "{workloadSelector: {labels: {version: v1}}}")
    found = [f for f in check(text, live=[REVIEWS_POD]) if f.code == "MSH225"]
    assert len(found) == 2 and "workload bookinfo/reviews-v1-abc" in found[0].message


def test_two_sidecars_selecting_different_pods_are_quiet():
    text = sidecar("reviews", "{workloadSelector: {labels: {app: reviews}}}") + sidecar(
        "ratings", "{workloadSelector: {labels: {app: ratings}}}")
    live = [REVIEWS_POD, pod("ratings-abc", "bookinfo", app="ratings")]
    assert codes(check(text, live=live)) == []


def test_two_sidecars_with_the_same_selector_conflict_even_offline():
    text = sidecar("a", "{workloadSelector: {labels: {app: reviews}}}") + sidecar("b", "{workloadSelector: {labels: {app: reviews}}}")
    assert [c for c, _ in codes(check(text, live=None, scope=OFFLINE))] == ["MSH225", "MSH225"]


def test_two_sidecars_without_a_selector_in_one_namespace_conflict():
    text = sidecar("a", "{egress: [{hosts: ['./*']}]}") + sidecar("b", "{egress: [{hosts: ['istio-system/*']}]}")
    assert [c for c, _ in codes(check(text, live=None, scope=OFFLINE))] == ["MSH226", "MSH226"]
    assert codes(check(sidecar("a", "{egress: [{hosts: ['./*']}]}"), live=None, scope=OFFLINE)) == []


def test_two_telemetries_selecting_the_same_pod_conflict():
    telemetry = """
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: NAME, namespace: bookinfo}
spec: {selector: {matchLabels: LABELS}, tracing: [{randomSamplingPercentage: 5}]}
"""
    text = telemetry.replace("NAME", "a").replace("LABELS", "{app: reviews}") + telemetry.replace(
        "NAME", "b").replace("LABELS", "{version: v1}")
    assert [c for c, _ in codes(check(text, live=[REVIEWS_POD]))] == ["MSH227", "MSH227"]
    other = text.replace("{version: v1}", "{version: v2}")
    assert codes(check(other, live=[REVIEWS_POD, pod("reviews-v2", "bookinfo", app="x", version="v2")])) == []


# --- ServiceEntry addresses, server verification, deprecated fields -----------------------------------

SERVICE_ENTRY = """
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: bookinfo}
spec:
  hosts: [db.example.com]
  ADDRESSES
  ports: [{number: 5432, name: pg, protocol: PROTOCOL}]
  resolution: DNS
"""


def test_a_tcp_service_entry_without_addresses_is_reported():
    text = SERVICE_ENTRY.replace("ADDRESSES", "location: MESH_EXTERNAL").replace("PROTOCOL", "TCP")
    assert codes(check(text, scope=OFFLINE)) == [("MSH228", ".spec.ports[0]")]


def test_a_service_entry_with_addresses_or_a_routable_protocol_is_quiet():
    with_address = SERVICE_ENTRY.replace("ADDRESSES", "addresses: [240.0.0.10]").replace("PROTOCOL", "TCP")
    tls = SERVICE_ENTRY.replace("ADDRESSES", "location: MESH_EXTERNAL").replace("PROTOCOL", "TLS")
    assert codes(check(with_address, scope=OFFLINE)) == [] and codes(check(tls, scope=OFFLINE)) == []


def test_dns_auto_allocation_in_the_mesh_config_makes_addresses_unnecessary():
    mesh = """
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    defaultConfig:
      proxyMetadata: {ISTIO_META_DNS_CAPTURE: "true", ISTIO_META_DNS_AUTO_ALLOCATE: "true"}
"""
    text = SERVICE_ENTRY.replace("ADDRESSES", "location: MESH_EXTERNAL").replace("PROTOCOL", "TCP") + mesh
    assert codes(check(text, scope=OFFLINE)) == []


TLS_RULE = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db, namespace: bookinfo}
spec:
  host: db.example.com
  trafficPolicy:
    tls: TLS
    portLevelSettings: [{port: {number: 5432}, tls: PORT_TLS}]
"""


def test_tls_origination_without_a_ca_is_reported_at_destination_and_port_level():
    text = TLS_RULE.replace("PORT_TLS", "{mode: MUTUAL, clientCertificate: c, privateKey: k}").replace("TLS", "{mode: SIMPLE}")
    assert codes(check(text, scope=OFFLINE), "MSH3") == [
        ("MSH307", ".spec.trafficPolicy.tls.mode"), ("MSH307", ".spec.trafficPolicy.portLevelSettings[0].tls.mode")]


def test_tls_origination_with_a_ca_or_a_credential_is_quiet():
    text = TLS_RULE.replace("PORT_TLS", "{mode: SIMPLE, credentialName: db-client}").replace(
        "TLS", "{mode: SIMPLE, caCertificates: /etc/certs/ca.pem}")
    assert codes(check(text, scope=OFFLINE), "MSH3") == []


def test_deprecated_fields_are_reported_with_their_replacement():
    text = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: bookinfo}
spec:
  host: reviews
  trafficPolicy:
    outlierDetection: {consecutiveErrors: 5}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x, minimumRingSize: 1024}}}
"""
    found = [f for f in check(text, scope=OFFLINE) if f.code == "MSH405"]
    assert [f.json_path for f in found] == [".spec.trafficPolicy.outlierDetection.consecutiveErrors",
                                           ".spec.subsets[0].trafficPolicy.loadBalancer.consistentHash.minimumRingSize"]
    assert "consecutive5xxErrors" in found[0].message
    fixed = text.replace("consecutiveErrors", "consecutive5xxErrors").replace(
        "minimumRingSize: 1024", "ringHash: {minimumRingSize: 1024}")
    assert [f for f in check(fixed, scope=OFFLINE) if f.code == "MSH405"] == []


def test_every_istioctl_parity_check_names_the_istioctl_message_in_the_catalogue():
    rows = catalogue()
    for code in ("MSH220", "MSH221", "MSH222", "MSH223", "MSH224", "MSH225", "MSH226", "MSH227", "MSH228",
                 "MSH307", "MSH405"):
        assert rows[code].istioctl.startswith("IST0"), code


def test_a_rendered_cert_manager_certificate_counts_as_the_credential_it_will_issue():
    certificate = """
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: bookinfo, namespace: istio-system}
spec: {secretName: bookinfo-cert, dnsNames: [bookinfo.example.com], issuerRef: {name: letsencrypt}}
"""
    live = [GATEWAY_POD, GATEWAY_SERVICE]
    assert codes(check(GATEWAY.replace("MODE", "SIMPLE") + certificate, live=live, scope=WITH_SECRETS)) == []


# --- reading the cluster for these checks ----------------------------------------------------------


def _gateway_world(mesh) -> None:
    core = mesh.core_v1()
    core.create_namespace({"metadata": {"name": "bookinfo"}})
    for namespace, name, labels in (("bookinfo", "reviews-v1-abc", {"app": "reviews", "version": "v1"}),
                                    ("istio-system", "istio-ingressgateway-abc", {"istio": "ingressgateway"})):
        core.create_namespaced_pod(namespace, {"metadata": {"name": name, "labels": labels},
                                               "spec": {"containers": [{"name": "c", "image": "x"}]}})
    core.create_namespaced_service("istio-system", {"metadata": {"name": "istio-ingressgateway"}, "spec": {
        "selector": {"istio": "ingressgateway"}, "ports": [{"name": "http2", "port": 80}, {"name": "https", "port": 443}]}})
    core.create_namespaced_secret("istio-system", {"metadata": {"name": "istio-ca"}, "stringData": {"key": "TOPSECRET"}})


def _write(root, files: dict[str, str]):
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


WORLD_REPO = {
    "environments/dev/meshops.yaml": "namespace: bookinfo\n",
    "environments/dev/values.yaml": "{}\n",
    "templates/gateway.yaml": GATEWAY.replace("MODE", "SIMPLE"),
    "templates/policy.yaml": POLICY.replace("APP", "reveiws"),
}


def test_a_plan_reads_the_pods_and_secrets_the_workload_checks_need_and_keeps_no_secret_value(tmp_path, mesh_sandbox):
    from meshops.pipeline.plan import plan_environment
    from meshops.pipeline.operator import Operator

    _gateway_world(mesh_sandbox)
    repo = _write(tmp_path, WORLD_REPO)
    mesh_sandbox.server.log.clear()
    operator = Operator(kubeconfig=str(mesh_sandbox.kubeconfig), context="sandbox", owner_id="workloads-test")
    planned = plan_environment(repo=str(repo), ref=None, environment="dev", operator=operator)
    assert {("MSH220", ".spec.servers[0].tls.credentialName"), ("MSH224", ".spec.selector.matchLabels")} <= set(
        codes(planned.findings))
    reads = [(entry.path, entry.query) for entry in mesh_sandbox.server.log.entries() if entry.verb == "list"]
    assert any(path == "/api/v1/namespaces/istio-system/secrets" for path, _ in reads)
    assert any(path == "/api/v1/pods" and query.get("labelSelector") == "istio=ingressgateway" for path, query in reads)
    assert "TOPSECRET" not in repr(planned.live.lookup_objects())


def test_validate_with_a_cluster_reports_a_missing_gateway_credential(tmp_path, meshops, mesh_sandbox):
    import json

    _gateway_world(mesh_sandbox)
    repo = _write(tmp_path, WORLD_REPO)
    result = meshops("validate", "--env", "dev", "--repo", str(repo), "-o", "json", "--kubeconfig",
                     str(mesh_sandbox.kubeconfig), "--context", "sandbox")
    found = {(f["code"], f["path"]) for f in json.loads(result.stdout)["findings"]}
    assert ("MSH220", ".spec.servers[0].tls.credentialName") in found and ("MSH224", ".spec.selector.matchLabels") in found
