"""Apply's guarantees, observed in the sandbox request log: make before break, nothing lost to a
concurrent writer, convergence under faults, zero writes when nothing changed."""
from __future__ import annotations

import copy

import pytest

from meshops.apply.applier import Applier
from meshops.apply.result import Outcome
from meshops.cluster.api import RetryPolicy
from meshops.cluster.connect import connect
from meshops.cluster.discovery import Discovery
from meshops.cluster.live import read_live
from meshops.diff.plan import make_plan
from meshops.model.identity import ENVIRONMENT_LABEL, MANAGED_BY_LABEL, Owner
from meshops.model.manifest import Manifest
from meshops.model.scope import Scope
from meshops.sandbox import Fault

LABELS = {MANAGED_BY_LABEL: "meshops", ENVIRONMENT_LABEL: "test"}
OWNER = Owner(repo="tests", environment="test")
SCOPE = Scope.of(["mesh"])
FAST_RETRY = RetryPolicy(attempts=8, base_delay=0.01, max_delay=0.05, max_retry_after=0.05)


class _NoSource:
    def locate(self, path):
        return []


def _manifest(obj: dict) -> Manifest:
    obj = copy.deepcopy(obj)
    obj.setdefault("metadata", {}).setdefault("labels", {}).update(LABELS)
    return Manifest(obj=obj, source=_NoSource())


def _dr(name: str, subsets: list[str]) -> dict:
    return {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": {"name": name, "namespace": "mesh"},
            "spec": {"host": name, "subsets": [{"name": s, "labels": {"version": s}} for s in subsets]}}


def _vs(name: str, subsets: list[str]) -> dict:
    weight = 100 // len(subsets)
    routes = [{"destination": {"host": name, "subset": s}, "weight": weight + (100 - weight * len(subsets) if i == 0 else 0)}
              for i, s in enumerate(subsets)]
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": name, "namespace": "mesh"},
            "spec": {"hosts": [name], "http": [{"name": "default", "route": routes}]}}


NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mesh"}}


@pytest.fixture
def cluster(mesh_sandbox):
    api = connect(kubeconfig=str(mesh_sandbox.kubeconfig), context="sandbox", retry=FAST_RETRY)
    return api


def _apply(api, objects: list[dict], *, runs: int = 1):
    desired = [_manifest(o) for o in objects]
    result = None
    for _ in range(runs):
        discovery = Discovery(api)
        live = read_live(api, discovery, desired=desired, environment="test", scope=SCOPE)
        plan = make_plan(desired, live.objects, owner=OWNER, scope=SCOPE, revision="r1")
        result = Applier(api, discovery, owner=OWNER, revision="r1").run(plan)
        if result.ok:
            break
    return result


def _write_order(mesh_sandbox) -> list[tuple[str, str, str]]:
    return [(e.verb, e.resource, e.name) for e in mesh_sandbox.writes()]


def test_a_new_subset_is_written_before_the_route_that_uses_it(cluster, mesh_sandbox):
    assert _apply(cluster, [NAMESPACE, _dr("reviews", ["v1"]), _vs("reviews", ["v1"])]).ok
    mesh_sandbox.server.log.clear()
    assert _apply(cluster, [NAMESPACE, _dr("reviews", ["v1", "v2"]), _vs("reviews", ["v1", "v2"])]).ok
    order = _write_order(mesh_sandbox)
    assert order.index(("patch", "destinationrules", "reviews")) < order.index(("patch", "virtualservices", "reviews"))


def test_a_subset_is_dropped_only_after_no_route_uses_it(cluster, mesh_sandbox):
    assert _apply(cluster, [NAMESPACE, _dr("reviews", ["v1", "v2"]), _vs("reviews", ["v1", "v2"])]).ok
    mesh_sandbox.server.log.clear()
    result = _apply(cluster, [NAMESPACE, _dr("reviews", ["v1"]), _vs("reviews", ["v1"])])
    assert result.ok
    order = _write_order(mesh_sandbox)
    dr_writes = [i for i, w in enumerate(order) if w == ("patch", "destinationrules", "reviews")]
    vs_write = order.index(("patch", "virtualservices", "reviews"))
    assert dr_writes and max(dr_writes) > vs_write
    live = mesh_sandbox.custom_objects().get_namespaced_custom_object("networking.istio.io", "v1", "mesh", "destinationrules", "reviews")
    assert [s["name"] for s in live["spec"]["subsets"]] == ["v1"]


def test_removal_order_is_routes_before_the_rules_they_use(cluster, mesh_sandbox):
    assert _apply(cluster, [NAMESPACE, _dr("ratings", ["v1"]), _vs("ratings", ["v1"])]).ok
    mesh_sandbox.server.log.clear()
    assert _apply(cluster, [NAMESPACE]).ok
    order = _write_order(mesh_sandbox)
    assert order.index(("delete", "virtualservices", "ratings")) < order.index(("delete", "destinationrules", "ratings"))


def test_a_concurrent_change_to_fields_meshops_does_not_own_is_kept(cluster, mesh_sandbox):
    assert _apply(cluster, [NAMESPACE, _vs("reviews", ["v1"])]).ok
    desired = [_manifest(NAMESPACE), _manifest(_vs("reviews", ["v1"]) | {"spec": {"hosts": ["reviews"], "http": [
        {"name": "default", "timeout": "3s", "route": [{"destination": {"host": "reviews", "subset": "v1"}}]}]}})]
    discovery = Discovery(cluster)
    plan = make_plan(desired, read_live(cluster, discovery, desired=desired, environment="test", scope=SCOPE).objects,
                     owner=OWNER, scope=SCOPE)
    # another client writes between meshops's read and its write
    mesh_sandbox.custom_objects().patch_namespaced_custom_object(
        "networking.istio.io", "v1", "mesh", "virtualservices", "reviews",
        {"metadata": {"labels": {"team": "books"}, "annotations": {"oncall": "ana"}}}, _content_type="application/merge-patch+json",
    )
    result = Applier(cluster, discovery, owner=OWNER, revision="r2").run(plan)
    assert result.ok, result.to_dict()
    live = mesh_sandbox.custom_objects().get_namespaced_custom_object("networking.istio.io", "v1", "mesh", "virtualservices", "reviews")
    assert live["metadata"]["labels"]["team"] == "books" and live["metadata"]["annotations"]["oncall"] == "ana"
    assert live["spec"]["http"][0]["timeout"] == "3s"
    assert mesh_sandbox.server.log.count(verb="patch", resource="virtualservices", status=409) == 1


def test_a_field_someone_else_took_over_is_a_conflict_not_an_overwrite(cluster, mesh_sandbox):
    assert _apply(cluster, [NAMESPACE, _vs("reviews", ["v1"])]).ok
    mesh_sandbox.custom_objects().patch_namespaced_custom_object(
        "networking.istio.io", "v1", "mesh", "virtualservices", "reviews",
        {"spec": {"hosts": ["reviews", "reviews.example.com"]}}, _content_type="application/merge-patch+json",
        field_manager="kubectl-edit",
    )
    changed = _vs("reviews", ["v1"])
    changed["spec"]["hosts"] = ["reviews", "reviews.internal"]
    result = _apply(cluster, [NAMESPACE, changed])
    assert not result.ok
    conflict = next(r for r in result.results if r.key.kind == "VirtualService")
    assert conflict.outcome is Outcome.CONFLICT and "another field manager" in conflict.message
    live = mesh_sandbox.custom_objects().get_namespaced_custom_object("networking.istio.io", "v1", "mesh", "virtualservices", "reviews")
    assert live["spec"]["hosts"] == ["reviews", "reviews.example.com"]


def test_two_hundred_objects_converge_under_twenty_percent_faults(cluster, mesh_sandbox):
    objects = [NAMESPACE] + [o for i in range(100) for o in (_dr(f"svc-{i:03d}", ["v1"]), _vs(f"svc-{i:03d}", ["v1"]))]
    mesh_sandbox.core_v1().create_namespace({"metadata": {"name": "mesh", "labels": LABELS}})
    for fault in (Fault(status=500, share=0.07, seed=1), Fault(status=429, share=0.07, retry_after=1, seed=2),
                  Fault(drop_connection=True, share=0.06, seed=3)):
        mesh_sandbox.server.faults.add(fault)
    result = _apply(cluster, objects, runs=3)
    assert result.ok, [r for r in result.results if not r.outcome.done]
    mesh_sandbox.server.faults.clear()
    custom = mesh_sandbox.custom_objects()
    for plural in ("destinationrules", "virtualservices"):
        names = sorted(i["metadata"]["name"] for i in custom.list_namespaced_custom_object("networking.istio.io", "v1", "mesh", plural)["items"])
        assert names == [f"svc-{i:03d}" for i in range(100)]
    created = [e for e in mesh_sandbox.server.log.entries(verb="create") if e.status == 201 and e.resource != "namespaces"]
    assert len(created) == 200  # every object created exactly once, never twice
    mesh_sandbox.server.log.clear()
    assert _apply(cluster, objects).writes == 0  # converged: nothing left to write


def test_second_apply_sends_no_write_requests(cluster, mesh_sandbox):
    objects = [NAMESPACE, _dr("a", ["v1"]), _vs("a", ["v1"])]
    assert _apply(cluster, objects).ok
    mesh_sandbox.server.log.clear()
    result = _apply(cluster, objects)
    assert result.writes == 0 and mesh_sandbox.writes() == []


def test_a_field_removed_from_git_is_removed_from_the_cluster(cluster, mesh_sandbox):
    with_gateway = _vs("reviews", ["v1"])
    with_gateway["spec"]["gateways"] = ["mesh", "bookinfo-gateway"]
    assert _apply(cluster, [NAMESPACE, with_gateway]).ok
    assert _apply(cluster, [NAMESPACE, _vs("reviews", ["v1"])]).ok
    live = mesh_sandbox.custom_objects().get_namespaced_custom_object("networking.istio.io", "v1", "mesh", "virtualservices", "reviews")
    assert "gateways" not in live["spec"]


def test_objects_without_meshops_labels_are_never_pruned(cluster, mesh_sandbox):
    assert _apply(cluster, [NAMESPACE, _vs("mine", ["v1"])]).ok
    mesh_sandbox.custom_objects().create_namespaced_custom_object(
        "networking.istio.io", "v1", "mesh", "virtualservices", {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                                                                "metadata": {"name": "theirs"}, "spec": {"hosts": ["theirs"], "http": [{"route": [{"destination": {"host": "theirs"}}]}]}})
    assert _apply(cluster, [NAMESPACE]).ok
    names = {i["metadata"]["name"] for i in mesh_sandbox.custom_objects().list_namespaced_custom_object(
        "networking.istio.io", "v1", "mesh", "virtualservices")["items"]}
    assert names == {"theirs"}


def _managers(mesh_sandbox, name: str) -> list[tuple[str, str]]:
    live = mesh_sandbox.custom_objects().get_namespaced_custom_object("networking.istio.io", "v1", "mesh", "virtualservices", name)
    return sorted((entry["manager"], entry["operation"]) for entry in live["metadata"].get("managedFields") or [])


def test_a_create_is_one_write(cluster, mesh_sandbox):
    objects = [NAMESPACE] + [o for i in range(20) for o in (_dr(f"svc-{i:02d}", ["v1"]), _vs(f"svc-{i:02d}", ["v1"]))]
    result = _apply(cluster, objects)
    assert result.ok and result.writes == 41
    assert [e.verb for e in mesh_sandbox.writes()] == ["create"] * 41
    assert _managers(mesh_sandbox, "svc-00") == [("meshops", "Update")]


def test_the_first_update_takes_the_create_time_fields_into_meshops_apply_entry_once(cluster, mesh_sandbox):
    assert _apply(cluster, [NAMESPACE, _vs("reviews", ["v1"])]).ok
    mesh_sandbox.server.log.clear()
    assert _apply(cluster, [NAMESPACE, _vs("reviews", ["v1", "v2"])]).ok
    assert [(e.verb, e.resource) for e in mesh_sandbox.writes()] == [("patch", "virtualservices")] * 2  # upgrade + apply
    assert _managers(mesh_sandbox, "reviews") == [("meshops", "Apply")]
    mesh_sandbox.server.log.clear()
    assert _apply(cluster, [NAMESPACE, _vs("reviews", ["v2"])]).ok
    assert [(e.verb, e.resource) for e in mesh_sandbox.writes()] == [("patch", "virtualservices")]


def test_an_object_someone_else_creates_after_the_plan_is_never_touched(cluster, mesh_sandbox):
    assert _apply(cluster, [NAMESPACE]).ok
    desired = [_manifest(NAMESPACE), _manifest(_vs("reviews", ["v1"]))]
    discovery = Discovery(cluster)
    plan = make_plan(desired, read_live(cluster, discovery, desired=desired, environment="test", scope=SCOPE).objects,
                     owner=OWNER, scope=SCOPE, revision="r1")
    theirs = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "reviews", "namespace": "mesh"},
              "spec": {"hosts": ["reviews"], "http": [{"route": [{"destination": {"host": "reviews", "subset": "v9"}}]}]}}
    mesh_sandbox.custom_objects().create_namespaced_custom_object("networking.istio.io", "v1", "mesh", "virtualservices", theirs)
    before = mesh_sandbox.custom_objects().get_namespaced_custom_object("networking.istio.io", "v1", "mesh", "virtualservices", "reviews")
    mesh_sandbox.server.log.clear()
    result = Applier(cluster, discovery, owner=OWNER, revision="r1").run(plan)
    [outcome] = [r for r in result.results if r.key.kind == "VirtualService"]
    assert outcome.outcome is Outcome.CONFLICT
    assert [(e.verb, e.status) for e in mesh_sandbox.writes()] == [("create", 409)]
    after = mesh_sandbox.custom_objects().get_namespaced_custom_object("networking.istio.io", "v1", "mesh", "virtualservices", "reviews")
    assert after == before
