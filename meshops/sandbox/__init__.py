"""`meshops.sandbox`: a local Kubernetes API server that kubectl and the official client accept.

No real apiserver runs on our machines, yet diff, apply and rollouts must be tested over real HTTP
and `meshops demo` must run with no cluster. The sandbox serves the part of the Kubernetes API
meshops and kubectl use, with the apiserver's semantics and response shapes: discovery and
OpenAPI v3, core kinds, CRDs that become servable kinds, schema-checked custom resources,
get/list/watch/create/update/patch/delete with resourceVersion preconditions, `dryRun=All`, server-
side apply with managedFields, and `Status` errors. Production never talks to it.

    from meshops.sandbox import SandboxServer, Fault
    with SandboxServer() as server:              # 127.0.0.1, free port, in-process threads
        server.write_kubeconfig(path)
        server.install_crds(crds)
        server.faults.add(Fault(status=503, nth=1, verbs={"patch"}))
        ...
        server.log.count(verb="patch", status=200)

Modules, in request order: `transport` (HTTP/1.1, faults, log) -> `routing` (URL -> RequestInfo)
-> `api` (dispatch) -> `discovery` | `reads` | `watch` | `writes` (+ `patches`, `ssa`, `managers`,
`validation`, `core`, `crds`) -> `store`; `registry` says what is served; `statefile` persists.
"""
from __future__ import annotations

from .faults import Fault
from .requestlog import LogEntry, RequestLog
from .server import SandboxServer
from .status import ApiError

__all__ = ["ApiError", "Fault", "LogEntry", "RequestLog", "SandboxServer"]
