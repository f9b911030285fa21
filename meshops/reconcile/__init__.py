"""Reconcile: from a git revision to applied environments, one environment at a time.

Where it sits: before the pipeline (source -> render -> validate -> diff -> apply -> rollout) and
around it. `gitcache` keeps a bare mirror of the config repository and resolves the revision;
`changes` says which environments the diff since each environment's last applied revision
touches; `freeze` says whether a freeze window is open; `lease` and `lock` make sure only one
process reconciles an environment at a time and remember, on that environment's Lease, what it
last applied; `rollouts` is the seam to the rollout engine; `engine` walks the environments in
promotion order and stops at the first failure; `report` is what it hands back to the CLI,
`meshops serve` and `meshops controller`.
"""
