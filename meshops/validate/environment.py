"""Process environment variables that change what validation reports (and so are part of any
cached validation result: `pipeline.manifest_cache` keys on them)."""
from __future__ import annotations

# The Kubernetes minor version whose bundled core-kind schemas check Services, ConfigMaps … (newest by default).
KUBERNETES_VERSION_ENV = "MESHOPS_KUBERNETES_VERSION"
# Every variable above, for caches.
VALIDATION_VARIABLES = (KUBERNETES_VERSION_ENV,)
