"""meshops: GitOps for Istio mesh configuration.

The pipeline, one module or package per stage (see docs/architecture.md):
source -> render -> validate -> diff -> apply -> rollout, with `cluster` (the Kubernetes client
edge) and `sandbox` (a local API server for tests and the demo) beside it.
"""
from __future__ import annotations

__version__ = "0.1.0"
