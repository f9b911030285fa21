"""`SandboxServer`: the sandbox as an object to start, point clients at, poke, and stop.

Used in-process by tests (the `sandbox` fixtures), by benchmarks and by `meshops sandbox start` /
`meshops demo`. It owns the pieces: registry (served kinds), store (objects), API dispatch, the HTTP
server thread, faults, the request log and, with `state_file`, the state writer.
"""
from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path
from typing import Any, Iterable

from . import kubeconfig as kubeconfig_file
from . import statefile
from .api import Api
from .core import INITIAL_NAMESPACES
from .faults import Faults
from .objects import Clock, clone, utc_now
from .registry import Registry
from .requestlog import RequestLog
from .store import HISTORY, Store
from .transport import HttpServer
from .deletes import CRD_RESOURCE
from .writes import WriteOptions

# The field manager recorded for objects created from Python (install_crds, create).
PYTHON_MANAGER = "meshops-sandbox"


class SandboxServer:
    """A local Kubernetes API server on 127.0.0.1 (see `meshops.sandbox`)."""

    def __init__(self, port: int = 0, *, host: str = "127.0.0.1", state_file: str | os.PathLike | None = None,
                 token: str | None = None, clock: Clock = utc_now, watch_history: int = HISTORY) -> None:
        self.host = host
        self.requested_port = port
        self.state_file = Path(state_file) if state_file else None
        self.token = token or secrets.token_urlsafe(24)
        self.registry = Registry()
        self.store = Store(history=watch_history)
        self.faults = Faults()
        self.log = RequestLog()
        self.internal_errors: list[str] = []
        self.api = Api(registry=self.registry, store=self.store, clock=clock, server_address=lambda: f"{host}:{self.port}")
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
        self._http = HttpServer((self.host, self.requested_port), self)
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
        return f"http://{self.host}:{self.port}"

    # -- clients ----------------------------------------------------------------------------------

    def kubeconfig(self, context: str = "sandbox", namespace: str = "default") -> dict[str, Any]:
        return kubeconfig_file.kubeconfig(server=self.url, token=self.token, context=context, namespace=namespace)

    def write_kubeconfig(self, path: str | os.PathLike, context: str = "sandbox", namespace: str = "default") -> Path:
        """A kubeconfig (token user, mode 0600) that kubectl and the official client accept."""
        return kubeconfig_file.write(path, self.kubeconfig(context, namespace))

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
