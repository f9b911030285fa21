"""The shipped Gateway API schemas as validate and the sandbox read them (no upstream data needed):
objects are checked as the API server admits them (defaults first), value-narrowing `oneOf`s close
nothing, IP formats are checked, and large runs keep working when the compiled fast path cannot
compile a pattern."""
from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from helpers import REPO_ROOT, run_meshops
from meshops.schema import structural
from meshops.schema.compiled import COMPILE_AFTER_USES
from meshops.validate.schema_checks import check_schemas
from meshops.validate.schemas import SchemaSet
from test_validate_schema_checks import manifest, set_path

SHIPPED = SchemaSet.shipped()
GATEWAY_API = "gateway.networking.k8s.io"

GATEWAY = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: bookinfo}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP}]
"""

ROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: bookinfo}
spec:
  parentRefs: [{name: edge}]
  rules:
  - matches: [{headers: [{name: x-canary, value: insider}]}]
    backendRefs: [{name: reviews-v2, port: 9080}]
"""


def findings(text: str, edit=None) -> list[tuple[str, str]]:
    return [(f.code, f.json_path) for f in check_schemas([manifest(text, edit)], SHIPPED)]


def test_a_hostname_address_is_valid_although_its_oneof_branch_names_properties():
    assert findings(GATEWAY, lambda o: set_path(o, "spec.addresses", [{"type": "Hostname", "value": "lb.example.com"}])) == []


def test_an_address_without_type_is_an_ip_address_as_the_api_server_defaults_it():
    assert findings(GATEWAY, lambda o: set_path(o, "spec.addresses", [{"value": "10.0.0.1"}, {"value": "fd00::1"}])) == []
    [finding] = check_schemas([manifest(GATEWAY, lambda o: set_path(o, "spec.addresses", [{"value": "lb.example.com"}]))],
                              SHIPPED)
    assert (finding.code, finding.json_path) == ("MSH109", ".spec.addresses[0].value")
    assert finding.message == "'lb.example.com' is not a valid ipv4 or ipv6"


def test_defaults_filled_for_checking_are_not_written_into_the_object():
    item = manifest(ROUTE)
    assert check_schemas([item], SHIPPED) == []
    assert "weight" not in item.obj["spec"]["rules"][0]["backendRefs"][0]
    assert structural.as_admitted(item.obj, SHIPPED.schema_for(f"{GATEWAY_API}/v1", "HTTPRoute"))["spec"]["rules"][0][
        "backendRefs"][0]["weight"] == 1


def test_more_routes_than_the_fast_path_threshold_are_all_checked():
    count = COMPILE_AFTER_USES + 20
    items = [manifest(ROUTE, lambda o, i=i: o["metadata"].update(name=f"route-{i}")) for i in range(count)]
    items.append(manifest(ROUTE, lambda o: set_path(o, "spec.rules[0].matches[0].headers[0].name", "x canary")))
    assert [(f.object.name, f.code) for f in check_schemas(items, SHIPPED)] == [("reviews", "MSH109")]


def test_sandbox_fills_route_defaults_and_rejects_an_address_that_is_not_an_ip(mesh_sandbox):
    client = mesh_sandbox.custom_objects()
    mesh_sandbox.core_v1().create_namespace({"metadata": {"name": "bookinfo"}})
    route = manifest(ROUTE).obj
    created = client.create_namespaced_custom_object(GATEWAY_API, "v1", "bookinfo", "httproutes", route)
    backend = created["spec"]["rules"][0]["backendRefs"][0]
    assert (backend["group"], backend["kind"], backend["weight"]) == ("", "Service", 1)
    assert created["spec"]["parentRefs"][0]["kind"] == "Gateway"
    hostname = manifest(GATEWAY, lambda o: set_path(o, "spec.addresses", [{"type": "Hostname", "value": "lb.example.com"}])).obj
    assert client.create_namespaced_custom_object(GATEWAY_API, "v1", "bookinfo", "gateways", hostname)["metadata"]["uid"]
    bad = manifest(GATEWAY, lambda o: o["metadata"].update(name="bad") or set_path(o, "spec.addresses", [{"value": "lb"}])).obj
    with pytest.raises(ApiException) as refused:
        client.create_namespaced_custom_object(GATEWAY_API, "v1", "bookinfo", "gateways", bad)
    assert refused.value.status == 422


def test_values_that_an_httproute_cannot_express_are_refused_with_the_schemas_reason():
    result = run_meshops("render", "--env", "dev", "--repo", str(REPO_ROOT), "--set", "services.details.retries={attempts: 3}")
    assert result.returncode == 2
    assert "retries need a VirtualService and DestinationRule: remove them, or drop `router: httproute`" in result.stderr
