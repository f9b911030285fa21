"""The use cases every entry point shares: plan an environment, apply it, drive its rollouts.

The CLI, `reconcile`, `meshops serve` and the controller call these functions and only parse flags
or print; the stages below (render, validate, diff, apply, rollout) stay unaware of one another's
callers.
"""

# Clusters of an environment worked on at once (diff, apply, reconcile): each costs a connection
# pool and a thread that mostly waits on its API server; 8 hides the round trips of a fleet without
# opening dozens of sockets per process. Here, not in `fleet`, so the CLI reads it without importing render.
DEFAULT_PARALLEL = 8
