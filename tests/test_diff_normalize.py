"""Normalization works on one private copy per side: what it hands back never aliases the inputs."""
from __future__ import annotations

import copy

from meshops.diff.normalize import normalize_pair

DESIRED = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "reviews", "labels": {"app": "reviews"}},
           "spec": {"ports": [{"name": "http", "port": 9080}]}}
LIVE = {"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "reviews", "uid": "u-1", "labels": {"app": "reviews", "team": "a"},
                     "managedFields": [{"manager": "meshops", "operation": "Apply", "fieldsV1": {"f:spec": {}}}]},
        "spec": {"type": "ClusterIP", "ports": [{"name": "http", "port": 9080, "protocol": "TCP"}]},
        "status": {"loadBalancer": {}}}


def test_normalizing_changes_neither_input():
    desired, live = copy.deepcopy(DESIRED), copy.deepcopy(LIVE)
    normalize_pair(desired=desired, live=live)
    assert (desired, live) == (DESIRED, LIVE)


def test_the_normalized_copies_share_no_container_with_the_inputs():
    desired, live = copy.deepcopy(DESIRED), copy.deepcopy(LIVE)
    desired_normalized, live_normalized = normalize_pair(desired=desired, live=live)
    assert desired_normalized == live_normalized
    desired_normalized["spec"]["ports"][0]["port"] = 1
    live_normalized["spec"]["ports"][0]["name"] = "changed"
    live_normalized["metadata"]["labels"]["x"] = "y"
    assert (desired, live) == (DESIRED, LIVE)
