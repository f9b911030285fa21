"""A config repo's own copy of its clusters' Istio (and Gateway API) CRDs (`crds/`), written by `meshops crds pull`.

Offline validation is only as good as its schemas: a repo that keeps the CRDs of the Istio version
its clusters run validates against exactly that version, in CI, without cluster access. Layout:
`crds/<env>.yaml` for one environment's cluster, `crds/istio.yaml` for all of them; validate uses
the environment's file when there is one, else the shared one, else the shipped schemas.
"""
from __future__ import annotations

from typing import Any, Iterable

from ...model import kinds as kind_table
from ...model.errors import ClusterError
from ...source.envconfig import CRDS_DIR
from ...source.repo import Tree
from ...yamlio.documents import dump_all, load_documents
from . import SchemaSet
from .crd import crd_documents

SHARED_CRDS_FILE = f"{CRDS_DIR}/istio.yaml"
# Groups whose CRDs `crds pull` keeps: everything Istio serves (networking, security, telemetry, extensions …)
# and the Kubernetes Gateway API, which Istio implements (its version is the cluster's, like Istio's).
ISTIO_GROUP_SUFFIX = ".istio.io"
MESH_GROUPS = frozenset({kind_table.GATEWAY_API_GROUP})
# Fields the API server fills in: they change on every read and mean nothing in git.
_SERVER_METADATA = ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink")
_CLIENT_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


def repo_crds_path(environment: str | None = None) -> str:
    """Where `crds pull` writes (repo-relative): `crds/<env>.yaml`, or `crds/istio.yaml` without an environment."""
    return f"{CRDS_DIR}/{environment}.yaml" if environment else SHARED_CRDS_FILE


def load_repo_crds(tree: Tree, environment: str | None = None) -> SchemaSet | None:
    """The CRDs the repo keeps for `environment` (its own file first, then the shared one), or None."""
    for path in dict.fromkeys([repo_crds_path(environment), SHARED_CRDS_FILE]):
        raw = tree.read(path)
        if raw is not None:
            documents = load_documents(raw, filename=path)
            return SchemaSet.from_crd_documents([document.data for document in documents], source=path)
    return None


def schemas_for(tree: Tree | None, environment: str | None, *, crd_files: Iterable[str] = (),
                cluster: SchemaSet | None = None) -> SchemaSet:
    """The schemas to validate with, by precedence: the cluster's CRDs, `--crds` files, the repo's `crds/`, shipped."""
    schemas = SchemaSet.shipped()
    crd_files = list(crd_files)
    repo_crds = load_repo_crds(tree, environment) if tree is not None else None
    for preferred in (repo_crds, SchemaSet.from_crd_files(crd_files) if crd_files else None, cluster):
        if preferred is not None:
            schemas = preferred.overlay(schemas)
    return schemas


def istio_crds(crds: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Istio and Gateway API CRDs among `crds`, without server-populated fields and status, sorted by name."""
    kept = []
    for crd in crd_documents(crds):
        group = str((crd.get("spec") or {}).get("group") or "")
        if not group.endswith(ISTIO_GROUP_SUFFIX) and group not in MESH_GROUPS:
            continue
        metadata = dict(crd.get("metadata") or {})
        for name in _SERVER_METADATA:
            metadata.pop(name, None)
        annotations = {k: v for k, v in (metadata.get("annotations") or {}).items() if k not in _CLIENT_ANNOTATIONS}
        if annotations:
            metadata["annotations"] = annotations
        else:
            metadata.pop("annotations", None)
        kept.append({"apiVersion": crd.get("apiVersion"), "kind": crd.get("kind"), "metadata": metadata, "spec": crd.get("spec")})
    return sorted(kept, key=lambda crd: str(crd["metadata"].get("name")))


def list_cluster_crds(api_client: Any, *, page_size: int = 100) -> list[dict[str, Any]]:
    """Every CRD of the cluster `api_client` talks to, as plain dicts (one LIST, paged)."""
    import json

    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    api = client.ApiextensionsV1Api(api_client)
    crds: list[dict[str, Any]] = []
    token: str | None = None
    host = api_client.configuration.host
    while True:
        try:
            response = api.list_custom_resource_definition(limit=page_size, _continue=token, _preload_content=False)
            page = json.loads(response.data)
        except ApiException as error:
            raise ClusterError(
                f"listing CustomResourceDefinitions failed: HTTP {error.status} {error.reason}",
                obj=host,
                hint="the credentials need `list` on customresourcedefinitions.apiextensions.k8s.io",
            ) from None
        except (HTTPError, OSError, ValueError) as error:
            raise ClusterError(f"cannot read CustomResourceDefinitions: {error}", obj=host,
                               hint="check the context and that the cluster is reachable") from None
        for item in page.get("items") or []:
            # LIST items omit apiVersion and kind, as the API server sends them; put them back.
            item.setdefault("apiVersion", "apiextensions.k8s.io/v1")
            item.setdefault("kind", "CustomResourceDefinition")
            crds.append(item)
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return crds


def crds_yaml(crds: list[dict[str, Any]], *, source: str) -> str:
    """The file `crds pull` writes: a header saying where it came from, then one document per CRD."""
    header = f"# Istio CRDs pulled by `meshops crds pull` from {source}; validate uses them offline.\n"
    return header + dump_all(crds)
