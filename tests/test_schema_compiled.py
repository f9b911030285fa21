"""Compiled schema validators: the code fastjsonschema generates, without its per-call `locals()`, decides as before."""
from __future__ import annotations

import fastjsonschema
import pytest

from meshops.schema.compiled import compile_validator

# A definition referenced from list items: fastjsonschema names the field `data.routes[{index}]` with locals().
ROUTES = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "definitions": {"route": {"type": "object", "properties": {"host": {"type": "string"}, "weight": {"type": "integer"}},
                              "required": ["host"], "additionalProperties": False}},
    "type": "object",
    "properties": {"routes": {"type": "array", "items": {"$ref": "#/definitions/route"}},
                   "mode": {"enum": ['(name_prefix or "data") + "[{x}]".format(**locals())', "plain"]}},
}


def _names(code) -> set[str]:
    found = set(code.co_names)
    for constant in code.co_consts:
        if hasattr(constant, "co_names"):
            found |= _names(constant)
    return found


def _accepts(validate, data) -> bool:
    try:
        validate(data)
        return True
    except fastjsonschema.JsonSchemaValueException:
        return False


def test_compiled_validators_never_call_locals():
    assert "locals" in _names(compile(fastjsonschema.compile_to_code(ROUTES), "<generated>", "exec"))
    generated = [function for function in compile_validator(ROUTES).__globals__.values()
                 if getattr(getattr(function, "__code__", None), "co_filename", "").startswith("<schema")]
    assert len(generated) >= 2  # validate and the route definition's function
    assert not any("locals" in _names(function.__code__) for function in generated)


@pytest.mark.parametrize("data, accepted", [
    ({"routes": [{"host": "a"}, {"host": "b", "weight": 5}]}, True),
    ({"routes": [{"host": "a"}, {"host": "b", "wieght": 5}]}, False),
    ({"routes": [{"host": "a"}, {"weight": 5}]}, False),
    ({"routes": [{"host": "a", "weight": "5"}]}, False),
    ({"mode": '(name_prefix or "data") + "[{x}]".format(**locals())'}, True),
    ({"mode": '(name_prefix or "data") + "[{x}]"'}, False),
])
def test_compiled_validators_decide_as_the_generated_code_does(data, accepted):
    generated = {}
    exec(fastjsonschema.compile_to_code(ROUTES), generated)  # noqa: S102 - fastjsonschema's own output, as generated
    assert _accepts(generated["validate"], data) == accepted
    assert _accepts(compile_validator(ROUTES), data) == accepted
