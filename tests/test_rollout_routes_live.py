"""Which routes a rollout steers, end to end: a VirtualService without a rule named `default` rolls out
step by step on every rule git moves; a change that cannot be one rollout is a validation error and
apply refuses it before any write.

The repo's VirtualService template is replaced by one with two named HTTP rules (`api` matches a URI
prefix, `web` catches the rest), both routing to the service's version unless `apiVersion` says
otherwise. The sandbox, the synthetic mesh and the session's Prometheus as in test_rollout_live.
"""
from __future__ import annotations

import json

import pytest

from meshops.model.errors import ExitCode
from meshops.rollout.state import Phase
from rollouts import VS_TEMPLATE_HEAD

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

TWO_RULES = VS_TEMPLATE_HEAD + """  - name: api
    match:
    - uri: {prefix: /api}
    route:
    - destination: {host: {{ name }}, subset: {{ service.apiVersion | default(service.version) }}}
  - name: web
    route:
    - destination: {host: {{ name }}, subset: {{ service.version }}}
{% endfor %}
"""


def set_versions(mesh, **versions: str) -> None:
    """Base values with `cart` at `version` (and `apiVersion` when given)."""
    path = mesh.cluster.repo / "environments" / "base" / "values.yaml"
    values = json.loads(path.read_text())
    values["services"]["cart"].update(versions)
    path.write_text(json.dumps(values, indent=2) + "\n")


def test_a_layout_without_a_default_rule_rolls_out_step_by_step_on_every_rule_git_moves(scenario):
    mesh = scenario({"cart": {}}, templates={"virtualservices.yaml.j2": TWO_RULES})
    set_versions(mesh, version="v2")
    mesh.cluster.apply()
    started = mesh.cluster.state("cart")
    assert (started.rules, started.stable, started.canary) == (("api", "web"), "v1", "v2")
    assert mesh.cluster.weights("cart", "api") == mesh.cluster.weights("cart", "web") == {"v1": 100, "v2": 0}
    state = mesh.run()["cart"].state
    assert state.phase == Phase.SUCCEEDED, state.message
    assert [entry["current"] for entry in state.history if entry["reason"] == "StepAdvanced"] == [
        {"v1": 80, "v2": 20}, {"v1": 50, "v2": 50}]
    assert mesh.cluster.weights("cart", "api") == mesh.cluster.weights("cart", "web") == {"v2": 100}
    assert mesh.cluster.cli("diff").returncode == 0


def test_rules_moving_to_different_versions_are_a_validation_error_and_apply_writes_nothing(scenario, mesh_sandbox):
    mesh = scenario({"cart": {}}, templates={"virtualservices.yaml.j2": TWO_RULES})
    set_versions(mesh, version="v2", apiVersion="v3")
    writes = len(mesh_sandbox.writes())
    refused = mesh.cluster.cli("apply", "--yes")
    assert refused.returncode == ExitCode.INVALID, refused.stdout + refused.stderr
    [line] = refused.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: ") and "MSH250 VirtualService" in line
    assert "api (cart: v1 -> v3), web (cart: v1 -> v2)" in line
    assert len(mesh_sandbox.writes()) == writes
    assert mesh.cluster.weights("cart", "web") == {"v1": 100}
