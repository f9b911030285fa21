"""The ground floor: what every stage speaks — errors, kinds, manifests and the names meshops writes.

Nothing here talks to git, a cluster or Prometheus, and nothing here imports a stage: every
other room may import `model`, `model` imports none of them.
"""
