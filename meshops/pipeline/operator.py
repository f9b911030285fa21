"""Use case support: what the person or controller running meshops decides, never the config repo.

The config repo is untrusted input (a pull request can change it); whatever reads a secret, or
decides where one is sent, comes from the process that drives rollouts — its flags and
environment — as one `OperatorSettings`: the Prometheus settings (`pipeline.prometheus` has the
table of who may set what) and the secrets directory whose keys the repo may name for
notification receivers (`model.secrets.SecretsDir`). The CLI builds it once per command and
checks it before anything is read from a cluster or written to one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..model.secrets import SecretsDir
from .prometheus import PrometheusSettings


@dataclass(frozen=True)
class OperatorSettings:
    """The operator's side of rollout settings (see the module docstring)."""

    prometheus: PrometheusSettings = field(default_factory=PrometheusSettings)
    secrets: SecretsDir = field(default_factory=lambda: SecretsDir(None))

    def check(self) -> None:
        """Operator mistakes (unreadable secret files, bad headers, credentials without a URL): exit 2."""
        self.prometheus.check()
