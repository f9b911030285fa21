"""Use case support: what the person or controller running meshops decides, never the config repo.

The config repo is untrusted input (a pull request can change it). Whatever picks the cluster and
the credentials to reach it, claims objects, widens where meshops may write, reads a secret or
decides where one is sent comes from the process that runs meshops — its flags and environment —
as one `Operator`:
- the cluster: `--kubeconfig` (the repository may name a context, never a kubeconfig) and `--context`;
- the owner id (`--owner-id`, else the repository's root commit) and the namespaces meshops may
  write in (`--allowed-namespaces`), which `pipeline.targets` turns into a `Target`, an `Owner`
  and a `Scope`;
- the Prometheus settings (`pipeline.prometheus` has the table of who may set what) and the
  secrets directory whose keys the repo may name for notification receivers (`model.secrets.SecretsDir`).
The CLI builds it once per command and checks it before anything is read from a cluster or written to one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..model.errors import UsageError
from ..model.identity import OWNER_ID
from ..model.scope import AllowList
from ..model.secrets import SecretsDir
from .prometheus import PrometheusSettings

OWNER_ID_FLAG = "--owner-id"
OWNER_ID_ENV = "MESHOPS_OWNER_ID"


@dataclass(frozen=True)
class Operator:
    """What whoever runs meshops decides (flags, environment variables): none of it comes from the repository."""

    kubeconfig: str | None = None  # None: $KUBECONFIG, ~/.kube/config, then a pod's service account
    context: str | None = None  # None: meshops.yaml `cluster.context`, then the kubeconfig's current one
    allowed: AllowList = AllowList()
    owner_id: str | None = None  # None: the repository's root commit
    prometheus: PrometheusSettings = field(default_factory=PrometheusSettings)
    secrets: SecretsDir = field(default_factory=lambda: SecretsDir(None))

    def __post_init__(self) -> None:
        if self.owner_id is not None and not OWNER_ID.match(self.owner_id):
            raise UsageError(f"{OWNER_ID_FLAG} {self.owner_id!r} is not a valid owner id",
                             hint="use letters, digits, '.', '_' and '-' (up to 63, no '/'), e.g. acme-mesh-config")

    def check(self) -> None:
        """Operator mistakes (unreadable secret files, bad headers, credentials without a URL): exit 2."""
        self.prometheus.check()
