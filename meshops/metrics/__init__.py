"""Where rollout analysis gets its numbers: the `MetricsSource` seam and its providers.

`source` defines the protocol and the typed answers (value, no data, unreachable, malformed);
`prometheus` is the Prometheus HTTP API provider and reads an environment's `prometheus:` settings.
Rollout analysis imports `source` only; the use cases pick the provider.
"""
