"""Core kinds (Service, ConfigMap …): the compiled validator that confirms valid objects never
accepts what jsonschema, which lists the problems, would refuse."""
from __future__ import annotations

import pytest

from helpers import replaced
from meshops.schema.compiled import compile_validator
from meshops.schema.problems import check_with
from meshops.validate.schemas.core import core_schemas

SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "reviews", "labels": {"app": "reviews"}},
           "spec": {"selector": {"app": "reviews"}, "ports": [{"name": "http", "port": 9080, "targetPort": 9080}]}}
CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mesh"}, "data": {"mesh": "x"}}


def _variants():
    return [
        SERVICE, CONFIG_MAP,
        replaced(SERVICE, ("spec", "ports", 0, "targetPort"), "http"),  # int-or-string
        replaced(SERVICE, ("spec", "ports", 0, "port"), "9080"),  # string for an integer
        replaced(SERVICE, ("spec", "ports", 0, "port"), 9080.0),  # a float that is an integer
        replaced(SERVICE, ("spec", "ports", 0, "port"), True),
        replaced(SERVICE, ("spec", "ports", 0, "bogus"), 1),
        replaced(SERVICE, ("spec", "type"), "Cluster IP"),
        replaced(SERVICE, ("spec", "clusterIP"), None),
        replaced(SERVICE, ("spec", "sessionAffinityConfig"), {"clientIP": {"timeoutSeconds": "3"}}),
        replaced(SERVICE, ("metadata", "creationTimestamp"), "not a time"),  # a format: an annotation only
        replaced(SERVICE, ("metadata", "labels"), {"app": 1}),
        replaced(CONFIG_MAP, ("data",), {"a": 1}),
        replaced(CONFIG_MAP, ("binaryData",), {"a": "not base64!"}),
    ]


@pytest.mark.parametrize("obj", _variants())
def test_the_compiled_validator_accepts_exactly_what_jsonschema_accepts(obj):
    schemas = core_schemas()
    fast = compile_validator(schemas.inlined_schema(obj["apiVersion"], obj["kind"]))
    assert fast is not None
    try:
        fast(obj)
        accepted = True
    except Exception:  # noqa: BLE001 - fastjsonschema's exception
        accepted = False
    assert accepted == (check_with(schemas.validator(obj["apiVersion"], obj["kind"]), obj) == [])
