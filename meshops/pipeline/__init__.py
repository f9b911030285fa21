"""The use cases every entry point shares: plan an environment, apply it, drive its rollouts.

The CLI, `reconcile`, `meshops serve` and the controller call these functions and only parse flags
or print; the stages below (render, validate, diff, apply, rollout) stay unaware of one another's
callers.
"""
