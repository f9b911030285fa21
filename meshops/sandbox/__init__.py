"""`meshops.sandbox`: a local Kubernetes API server that kubectl and the official client accept.

No real apiserver runs on our machines, yet diff, apply and rollouts must be tested over real HTTP
and `meshops demo` must run with no cluster. The sandbox serves the part of the Kubernetes API
meshops and kubectl use, with the apiserver's semantics and response shapes, over HTTPS: discovery
and OpenAPI v3, core, apps/batch workload and RBAC kinds, CRDs that become servable kinds, custom
resources checked against their schema, `format` and CEL rules, get/list/watch/create/update/patch/
delete with resourceVersion preconditions, `dryRun=All`, server-side apply with managedFields,
server-side Tables, `Status` errors; bearer-token authentication (admin, users, ServiceAccount
tokens) and RBAC; size limits; Terminating namespaces; and a stand-in for Istio's validating
webhook. Production never talks to it.

    from meshops.sandbox import SandboxServer, Fault
    with SandboxServer() as server:              # 127.0.0.1, free port, in-process threads
        server.write_kubeconfig(path)
        server.install_crds(crds)
        server.faults.add(Fault(status=503, nth=1, verbs={"patch"}))
        ...
        server.log.count(verb="patch", status=200)
        token = server.mint_token("meshops-system", "meshops")   # a ServiceAccount's bearer token
        server.write_kubeconfig(path, token=token)               # ... and a kubeconfig acting as it
        server.set_ready("bookinfo", "reviews-v2")               # a Deployment's status, as its controller would

Modules, in request order: `transport` (HTTPS via `tls`, faults, log) -> `routing` (URL ->
RequestInfo) -> `access` (`auth` tokens, impersonation, `rbac`) -> `api` (dispatch) -> `discovery` |
`reads` (+ `tables`) | `watch` | `reviews` | `writes` (+ `patches`, `ssa`, `managers`, `validation`,
`istio_webhook`, `deletes`, `namespaces`) -> `store`; `builtin` joins the kinds' tables (`core`,
`workloads`, `rbac_kinds`, `reviews`); `registry` says what is served; `statefile` persists.
"""
from __future__ import annotations

from .faults import Fault
from .requestlog import LogEntry, RequestLog
from .server import SandboxServer
from .status import ApiError

__all__ = ["ApiError", "Fault", "LogEntry", "RequestLog", "SandboxServer"]
