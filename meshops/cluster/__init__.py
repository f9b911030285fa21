"""The edge between meshops and a Kubernetes API server, through the official `kubernetes` client.

`target` names one cluster of one environment and connects to it (`Target.connect()` ->
`Connection`: a `KubeApi` plus its `Discovery`); `connect` reaches a cluster through a kubeconfig
or a pod's service account; `api` sends requests (retrying what is transient, turning everything
else into typed errors); `discovery` maps kinds to REST resources; `live` reads what diff, prune
and validation compare against, one LIST per kind. Diff, apply, rollout and reconcile only talk to
a cluster through this package.
"""
