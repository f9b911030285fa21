"""`meshops controller`: the reconcile loop inside a cluster, several replicas, one leader.

Where it sits: around `meshops.reconcile` and `meshops.webhook`. `leader` elects one replica with a
`coordination.k8s.io/v1` Lease (the same mechanism as controller-runtime); `loop` wires the
leader's duties: poll the repository at an interval, accept webhooks, and, on becoming leader,
reconcile at once so rollouts a previous leader left running are driven on. `shards` splits the
environment × cluster targets between several replicas, each holding shard Leases, instead.
"""
