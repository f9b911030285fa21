"""SchemaSet: shipped, from CRD documents/files (multi-doc, List), from a cluster's CRD dicts; versions
and deprecations; overlays; a repo's crds/ directory."""
from __future__ import annotations

import pytest

from meshops.model.errors import ConfigError
from meshops.source.repo import WorkTree
from meshops.validate.schemas import SchemaSet, shipped_crds
from meshops.validate.schemas.repo import istio_crds, load_repo_crds, repo_crds_path
from meshops.yamlio.documents import dump, dump_all

WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "names": {"kind": "Widget", "plural": "widgets"},
        "scope": "Namespaced",
        "versions": [
            {"name": "v1", "served": True, "storage": True,
             "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}},
            {"name": "v1beta1", "served": True, "storage": False, "deprecated": True, "deprecationWarning": "use example.com/v1",
             "schema": {"openAPIV3Schema": {"type": "object"}}},
            {"name": "v1alpha1", "served": False, "storage": False, "schema": {"openAPIV3Schema": {"type": "object"}}},
        ],
    },
}


def test_shipped_set_serves_the_istio_kinds_at_their_versions():
    shipped = SchemaSet.shipped()
    assert shipped.served_versions("networking.istio.io", "VirtualService") == ("v1", "v1beta1", "v1alpha3")
    assert shipped.served_versions("security.istio.io", "AuthorizationPolicy") == ("v1", "v1beta1")
    assert shipped.served_versions("telemetry.istio.io", "Telemetry") == ("v1", "v1alpha1")
    assert shipped.schema_for("networking.istio.io/v1", "Sidecar") is not None
    assert shipped.schema_for("networking.istio.io/v1", "EnvoyFilter") is None
    assert shipped.served_versions("", "Service") == ()


def test_older_istio_versions_are_deprecated_when_v1_exists_and_v1_is_not():
    shipped = SchemaSet.shipped()
    assert "networking.istio.io/v1" in shipped.deprecation("networking.istio.io/v1alpha3", "Gateway")
    assert "telemetry.istio.io/v1" in shipped.deprecation("telemetry.istio.io/v1alpha1", "Telemetry")
    assert shipped.deprecation("networking.istio.io/v1", "Gateway") is None


def test_crd_documents_with_lists_and_other_kinds_mixed_in():
    documents = [{"apiVersion": "v1", "kind": "ConfigMap"}, {"apiVersion": "v1", "kind": "List", "items": [WIDGET_CRD]}]
    schemas = SchemaSet.from_crd_documents(documents, source="widgets.yaml")
    assert schemas.served_versions("example.com", "Widget") == ("v1", "v1beta1")  # v1alpha1 is not served
    assert schemas.deprecation("example.com/v1beta1", "Widget") == "use example.com/v1"
    assert schemas.schema_for("example.com/v1", "Widget")["properties"]["spec"]["properties"]["size"] == {"type": "integer"}


def test_cluster_crd_dicts_and_overlay_fall_back_to_shipped_for_missing_kinds():
    cluster = SchemaSet.from_crds([WIDGET_CRD])
    combined = cluster.overlay(SchemaSet.shipped())
    assert combined.schema_for("example.com/v1", "Widget") is cluster.schema_for("example.com/v1", "Widget")
    assert combined.schema_for("networking.istio.io/v1", "VirtualService") is not None
    assert cluster.schema_for("networking.istio.io/v1", "VirtualService") is None


def test_crd_files_multi_document(tmp_path):
    path = tmp_path / "crds.yaml"
    path.write_text(dump_all([WIDGET_CRD] + shipped_crds("security.istio.io")))
    schemas = SchemaSet.from_crd_files([str(path)])
    assert schemas.kinds_in_group("security.istio.io") == ["AuthorizationPolicy", "PeerAuthentication", "RequestAuthentication"]
    assert schemas.serves_group("example.com")


def test_crd_files_without_crds_or_with_a_broken_crd_are_config_errors(tmp_path):
    empty = tmp_path / "none.yaml"
    empty.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    with pytest.raises(ConfigError, match="no CustomResourceDefinition"):
        SchemaSet.from_crd_files([str(empty)])
    broken = tmp_path / "broken.yaml"
    broken.write_text(dump({**WIDGET_CRD, "spec": {"names": {"kind": "Widget"}}}))
    with pytest.raises(ConfigError, match="spec.group"):
        SchemaSet.from_crd_files([str(broken)])


def test_repo_crds_prefer_the_environment_file_then_the_shared_one(tmp_path):
    (tmp_path / "crds").mkdir()
    assert load_repo_crds(WorkTree(tmp_path), "prod") is None
    (tmp_path / repo_crds_path()).write_text(dump_all(shipped_crds("telemetry.istio.io")))
    shared = load_repo_crds(WorkTree(tmp_path), "prod")
    assert shared.kinds_in_group("telemetry.istio.io") == ["Telemetry"]
    (tmp_path / repo_crds_path("prod")).write_text(dump_all([WIDGET_CRD]))
    assert load_repo_crds(WorkTree(tmp_path), "prod").serves_group("example.com")
    assert not load_repo_crds(WorkTree(tmp_path), "dev").serves_group("example.com")


def test_pulled_crds_keep_istio_groups_and_drop_server_fields():
    live = dict(WIDGET_CRD)
    istio = shipped_crds("networking.istio.io")[0]
    istio["metadata"].update(resourceVersion="7", uid="u", managedFields=[{}], annotations={"kubectl.kubernetes.io/last-applied-configuration": "{}"})
    istio["status"] = {"acceptedNames": {}}
    [kept] = istio_crds([live, istio])
    assert kept["metadata"] == {"name": istio["metadata"]["name"], "labels": istio["metadata"]["labels"]}
    assert "status" not in kept
