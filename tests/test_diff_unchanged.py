"""`unchanged` tells an unchanged object without copying it, and never says so where the full comparison differs.

Run over every desired/live pair of the diff cases (tests/data/diff) and over thousands of seeded
mutations of them: extra server fields, keys another manager added, keys meshops owns, defaults,
empty maps, changed values. Whenever `unchanged` says True, normalizing both sides in full must give
equal objects; and it must say True often enough that plans take the short way.
"""
from __future__ import annotations

import copy
import random

import pytest

from meshops.diff.normalize import ignore_rules, normalize_desired, normalize_pair, unchanged
from meshops.model.manifest import key_of

from test_diff_cases import CASES, CASES_DIR, _documents


def _pairs() -> list[tuple[str, dict, dict, list]]:
    pairs = []
    for case in CASES:
        directory = CASES_DIR / case
        live = {key_of(d.data): d.data for d in _documents(directory / "live.yaml")}
        ignore_file = directory / "ignore.yaml"
        ignore = ignore_rules(_documents(ignore_file)[0].data) if ignore_file.exists() else []
        for document in _documents(directory / "desired.yaml"):
            if key_of(document.data) in live:
                pairs.append((case, document.data, live[key_of(document.data)], ignore))
    return pairs


PAIRS = _pairs()


def _fully_equal(desired: dict, live: dict, ignore: list) -> bool:
    desired_normalized, live_normalized = normalize_pair(desired=desired, live=live, ignore=ignore)
    return desired_normalized == live_normalized


def _says_unchanged(desired: dict, live: dict, ignore: list) -> bool:
    return unchanged(desired_normalized=normalize_desired(desired, ignore), live=live, ignore=ignore)


@pytest.mark.parametrize("case, desired, live, ignore", PAIRS, ids=[f"{p[0]}:{key_of(p[1]).name}" for p in PAIRS])
def test_unchanged_agrees_with_the_full_comparison_on_every_diff_case(case, desired, live, ignore):
    if _says_unchanged(desired, live, ignore):
        assert _fully_equal(desired, live, ignore)


def test_server_fields_and_defaults_take_the_short_way():
    short = {case for case, desired, live, ignore in PAIRS if _says_unchanged(desired, live, ignore)}
    assert {"service-defaults-are-not-differences", "server-fields-are-not-differences",
            "gateway-defaults-are-not-differences"} <= short


# What a mutation may put in: scalars, server defaults, empty and non-empty containers.
_VALUES = [1, "x", "TCP", "ClusterIP", "Cluster", "None", 1.0, True, None, {}, [], {"a": 1}, [1], [{"protocol": "TCP"}],
           {"type": "PathPrefix", "value": "/"}, "Exact", "Service", ""]
_KEYS = ["extra", "protocol", "type", "weight", "targetPort", "clusterIP", "sessionAffinity", "uid", "status", "labels",
         "annotations", "spec", "kind", "group", "name", "trafficPolicy", "meshops.dev/revision", "resourceVersion"]


def _containers(node, path=()):
    """Every map and list inside `node`, with its path."""
    yield path, node
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if isinstance(value, (dict, list)):
            yield from _containers(value, path + (key,))


def _mutate(obj: dict, rng: random.Random) -> None:
    """One random change somewhere in `obj` (in place)."""
    where = rng.choice(list(_containers(obj)))[1]
    if isinstance(where, list):
        if where and rng.random() < 0.5:
            index = rng.randrange(len(where))
            where[index] = copy.deepcopy(rng.choice(_VALUES)) if rng.random() < 0.3 else where[index]
            if isinstance(where[index], dict):
                where[index][rng.choice(_KEYS)] = copy.deepcopy(rng.choice(_VALUES))
        else:
            where.append(copy.deepcopy(rng.choice(_VALUES)))
        return
    roll = rng.random()
    if roll < 0.5 or not where:
        where[rng.choice(_KEYS + list(where))] = copy.deepcopy(rng.choice(_VALUES))
    elif roll < 0.8:
        del where[rng.choice(list(where))]
    else:
        key = rng.choice(list(where))
        where[key] = copy.deepcopy(rng.choice(_VALUES))


def _own(live: dict, rng: random.Random) -> None:
    """meshops owns a random set of the live object's map keys (managedFields), as after an earlier apply."""
    def fields(node):
        tree = {}
        for key, value in node.items():
            if rng.random() < 0.4:
                tree[f"f:{key}"] = fields(value) if isinstance(value, dict) else {}
        return tree

    body = {key: value for key, value in live.items() if key != "metadata"}
    entry = {"manager": "meshops", "operation": "Update", "fieldsV1": fields(body)}
    metadata = live.setdefault("metadata", {})
    if isinstance(metadata, dict):
        metadata.setdefault("managedFields", []).append(entry)


def test_unchanged_never_hides_a_difference_in_thousands_of_mutated_objects():
    rng = random.Random(20261201)
    said_unchanged = differed = 0
    for _ in range(4000):
        _, desired, live, ignore = rng.choice(PAIRS)
        desired, live = copy.deepcopy(desired), copy.deepcopy(live)
        if rng.random() < 0.3:
            _own(live, rng)
        for _ in range(rng.randint(0, 3)):
            _mutate(live, rng)
        if rng.random() < 0.2:
            _mutate(desired, rng)
        if not isinstance(desired.get("metadata"), dict) or not isinstance(live.get("metadata"), dict):
            continue
        try:
            equal = _fully_equal(desired, live, ignore)
        except (TypeError, AttributeError):
            continue  # a mutation the full comparison cannot read either (not an object an API server returns)
        short = _says_unchanged(desired, live, ignore)
        said_unchanged += short
        differed += not equal
        assert equal or not short, (desired, live)
    assert said_unchanged > 500 and differed > 500  # both sides of the question were asked many times
