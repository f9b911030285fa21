"""`SandboxServer`: the sandbox as an object to start, point clients at, poke, and stop.

Used in-process by tests (the `sandbox` fixtures), by benchmarks and by `meshops sandbox start` /
`meshops demo`. It owns the pieces: registry (served kinds), store (objects), API dispatch, the HTTP
server thread, faults, the request log and, with `state_file`, the state writer; authentication
(`mint_token`, `add_user`) and RBAC; the Istio validating webhook stand-in (`istio_webhook=False`
turns it off); the namespace controller; and `set_ready`, the deployment controller's part tests play.
"""
from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path
from typing import Any, Iterable

from . import istio_webhook
from . import kubeconfig as kubeconfig_file
from . import statefile
from .access import Access
from .api import Api
from .auth import Authenticator
from .core import INITIAL_NAMESPACES
from .deletes import CRD_RESOURCE
from .faults import Faults
from .namespaces import DEFAULT_DELAY, NamespaceController
from .objects import Clock, clone, timestamp, utc_now
from .rbac import Authorizer
from .rbac_kinds import BOOTSTRAP
from .reads import stored
from .registry import Registry
from .requestlog import RequestLog
from .resources import ResourceType
from .reviews import Reviews
from .store import HISTORY, Store
from .tls import ServingCertificate, serving_certificate
from .transport import HttpServer
from .workloads import ready_status
from .writes import WriteOptions, Writer

# The field manager recorded for objects created from Python (install_crds, create).
PYTHON_MANAGER = "meshops-sandbox"


class SandboxServer:
    """A local Kubernetes API server on 127.0.0.1 (see `meshops.sandbox`)."""

    def __init__(self, port: int = 0, *, host: str = "127.0.0.1", state_file: str | os.PathLike | None = None,
                 token: str | None = None, clock: Clock = utc_now, watch_history: int = HISTORY,
                 istio_webhook: bool = True, namespace_deletion_delay: float = DEFAULT_DELAY) -> None:
        self.host = host
        self.requested_port = port
        self.state_file = Path(state_file) if state_file else None
        self.token = token or secrets.token_urlsafe(24)
        self.clock = clock
        self.registry = Registry()
        self.store = Store(history=watch_history)
        self.faults = Faults()
        self.log = RequestLog()
        self.internal_errors: list[str] = []
        self.authenticator = Authenticator(admin_token=self.token, clock=clock,
                                           service_account_uid=self._service_account_uid)
        self.authorizer = Authorizer(self.store)
        self.writer = Writer(registry=self.registry, store=self.store, clock=clock,
                             admission=[_istio_admission] if istio_webhook else [])
        self.namespace_controller = NamespaceController(deleter=self.writer.deleter, delay=namespace_deletion_delay)
        self.writer.deleter.on_terminating = self.namespace_controller.terminate
        self.api = Api(registry=self.registry, store=self.store, clock=clock, server_address=lambda: f"{host}:{self.port}",
                       writer=self.writer, access=Access(authenticator=self.authenticator, authorizer=self.authorizer),
                       reviews=Reviews(authorizer=self.authorizer, authenticator=self.authenticator, store=self.store,
                                       clock=clock))
        self._http: HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._state_writer: statefile.StateWriter | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> "SandboxServer":
        """Load state (or create the initial namespaces), bind, serve; returns once requests are accepted."""
        saved = statefile.load(self.state_file) if self.state_file else None
        if saved is not None:
            self._restore(*saved)
        else:
            for namespace in INITIAL_NAMESPACES:
                self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
                            field_manager="kube-apiserver")
        for bootstrap in BOOTSTRAP:  # also into a state file written before RBAC was served
            if self.store.get(("rbac.authorization.k8s.io", bootstrap["kind"].lower() + "s"), "",
                              bootstrap["metadata"]["name"]) is None:
                self.create(clone(bootstrap), field_manager="kube-apiserver")
        self.namespace_controller.start()
        self._http = HttpServer((self.host, self.requested_port), self, tls=self.certificate.server_context())
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        if self.state_file:
            self._state_writer = statefile.StateWriter(self.state_file, self.store)
        return self

    def _restore(self, revision: int, objects: list[tuple[tuple[str, str], dict[str, Any]]]) -> None:
        self.store.restore(revision, objects)
        for group_resource, obj in objects:
            if group_resource == CRD_RESOURCE:
                self.registry.install(obj)

    def stop(self) -> None:
        """Stop serving, end watches and open connections, and save the state file."""
        if self._http is None:
            return
        self._http.shutdown()
        self.namespace_controller.stop()
        self.store.close()
        self._http.close_connections()
        self._http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._state_writer is not None:
            self._state_writer.close()
        self._http = None

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("the sandbox is not running (call start())")
        return self._http.server_address[1]

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    # -- clients ----------------------------------------------------------------------------------

    @property
    def certificate(self) -> ServingCertificate:
        """The self-signed serving certificate (its `client_context()` trusts it, for raw HTTPS clients)."""
        return serving_certificate(self.host)

    def kubeconfig(self, context: str = "sandbox", namespace: str = "default", *,
                   token: str | None = None) -> dict[str, Any]:
        return kubeconfig_file.kubeconfig(server=self.url, token=token or self.token, context=context,
                                          namespace=namespace, ca_pem=self.certificate.cert_pem)

    def write_kubeconfig(self, path: str | os.PathLike, context: str = "sandbox", namespace: str = "default", *,
                         token: str | None = None) -> Path:
        """A kubeconfig (token user, mode 0600) that kubectl and the official client accept; `token`
        (from `mint_token` or `add_user`) instead of the admin's makes it act as that user."""
        return kubeconfig_file.write(path, self.kubeconfig(context, namespace, token=token))

    # -- identities -------------------------------------------------------------------------------

    def _service_account_uid(self, namespace: str, name: str) -> str | None:
        account = self.store.get(("", "serviceaccounts"), namespace, name)
        return account["metadata"].get("uid") if account is not None else None

    def mint_token(self, namespace: str, service_account: str, *, expiration_seconds: int = 3600) -> str:
        """A bound token for a ServiceAccount, created (with its namespace) when missing; what
        `kubectl create token` returns. It stops working when the ServiceAccount is deleted."""
        if self.store.get(("", "namespaces"), "", namespace) is None:
            self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        if self._service_account_uid(namespace, service_account) is None:
            self.create({"apiVersion": "v1", "kind": "ServiceAccount",
                         "metadata": {"name": service_account, "namespace": namespace}})
        uid = self._service_account_uid(namespace, service_account) or ""
        token, _ = self.authenticator.mint(namespace=namespace, name=service_account, uid=uid,
                                           expiration_seconds=expiration_seconds)
        return token

    def add_user(self, name: str, groups: Iterable[str] = ()) -> str:
        """A token that authenticates as user `name` in `groups` (plus system:authenticated)."""
        return self.authenticator.add_user(name, tuple(groups))

    # -- controllers tests stand in for -------------------------------------------------------------

    def set_ready(self, namespace: str, name: str, *, ready_replicas: int | None = None,
                  resource: str = "deployments") -> dict[str, Any]:
        """Report a Deployment (or StatefulSet/ReplicaSet) as its controller would once `ready_replicas`
        (default: spec.replicas) are available; written through the status subresource."""
        rtype = self.registry.storage_type("apps", resource)
        assert rtype is not None
        with self.store.lock:
            live = clone(stored(self.store, rtype, namespace, name))
            live["status"] = ready_status(live, ready=ready_replicas, now=timestamp(self.clock()))
            _, updated = self.writer.update(rtype, namespace, name, live,
                                            WriteOptions(field_manager="kube-controller-manager", subresource="status"))
        return updated

    # -- objects from Python ----------------------------------------------------------------------

    def create(self, obj: dict[str, Any], *, field_manager: str = PYTHON_MANAGER) -> dict[str, Any]:
        """Create an object through the same write path as a POST (raises status.ApiError)."""
        rtype = self.registry.by_kind(str(obj.get("apiVersion")), str(obj.get("kind")))
        if rtype is None:
            raise ValueError(f"the sandbox does not serve {obj.get('kind')} in {obj.get('apiVersion')}")
        namespace = ((obj.get("metadata") or {}).get("namespace") or "default") if rtype.namespaced else ""
        _, created = self.api.writer.create(rtype, namespace, clone(obj), WriteOptions(field_manager=field_manager))
        return created

    def install_crds(self, definitions: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create (or replace) CRDs, exactly as a POST/PUT of them would: their kinds are served at once."""
        rtype = self.registry.resolve(*("apiextensions.k8s.io", "v1", "customresourcedefinitions"))
        assert rtype is not None
        installed = []
        for definition in definitions:
            if definition.get("kind") != "CustomResourceDefinition":
                raise ValueError(f"not a CustomResourceDefinition: {definition.get('kind')}")
            name = (definition.get("metadata") or {}).get("name", "")
            live = self.store.get(CRD_RESOURCE, "", name)
            if live is None:
                installed.append(self.create(definition))
                continue
            body = clone(definition)
            body.setdefault("metadata", {})["resourceVersion"] = live["metadata"]["resourceVersion"]
            _, replaced = self.api.writer.update(rtype, "", name, body, WriteOptions(field_manager=PYTHON_MANAGER))
            installed.append(replaced)
        return installed

    def objects(self, group: str, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Stored objects of one resource (storage version), for assertions."""
        return self.store.items((group, resource), namespace)


def _istio_admission(rtype: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    istio_webhook.admit(group=rtype.group, kind=rtype.kind, obj=obj)
