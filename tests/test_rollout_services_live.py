"""A VirtualService split between two Services instead of subsets (Argo Rollouts' host-level split):
the policy names `stableService`/`canaryService`, git adds the canary Service at weight 0, the
rollout moves host weights, and the analysis selects the canary's requests by
`destination_service_name`. A policy that names Services while git moves subsets is refused
before any write. The sandbox, synthetic mesh and session Prometheus as in test_rollout_live.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from meshops.model.errors import ExitCode
from meshops.rollout.state import Phase
from rollouts import VS_TEMPLATE_HEAD, Cluster, fast_policy, make_repo, write_values

HOST_SPLIT = VS_TEMPLATE_HEAD + """  - name: default
    route:
    - destination: {host: {{ name }}-stable}
{% if service.canary is defined %}
      weight: 100
    - destination: {host: {{ name }}-canary}
      weight: 0
{% endif %}
{% for track in ["stable", "canary"] %}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ name }}-{{ track }}
spec:
  selector: {app: {{ name }}, track: {{ track }}}
  ports:
  - {name: http, port: 9080}
{% endfor %}
{% endfor %}
"""
SERVICES = {"stableService": "cart-stable", "canaryService": "cart-canary"}


@pytest.mark.prometheus
@pytest.mark.slow
def test_a_virtual_service_split_between_two_services_rolls_out_on_the_canary_service_metrics(scenario):
    mesh = scenario({"cart": {}}, policy=fast_policy(**SERVICES), templates={"virtualservices.yaml.j2": HOST_SPLIT})
    write_values(mesh.cluster.repo, {"cart": "v1"}, canaries={"cart": {"version": "v2"}})
    mesh.cluster.apply()
    started = mesh.cluster.state("cart")
    assert (started.stable, started.canary, started.split_by) == ("cart-stable", "cart-canary", "service")
    tick = mesh.run()["cart"]
    assert tick.state.phase == Phase.SUCCEEDED, tick.state.message
    assert mesh.cluster.weights("cart") == {"cart-canary": 100}
    query = tick.analysis.check("request-count").query
    assert 'destination_service_name="cart-canary"' in query and "destination_workload=" not in query


def test_a_policy_naming_services_refuses_a_subset_rollout_at_its_meshops_yaml_line(mesh_sandbox, tmp_path: Path):
    repo = make_repo(tmp_path / "config", namespace="shop", services={"cart": "v1"}, policy=fast_policy(**SERVICES))
    cluster = Cluster(mesh_sandbox, repo, "shop")
    cluster.apply()
    write_values(repo, {"cart": "v2"})
    mesh_sandbox.server.log.clear()
    result = cluster.cli("apply", "--yes")
    assert result.returncode == ExitCode.INVALID, result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: environments/test/meshops.yaml:") and "splits between Services cart-stable and " \
        "cart-canary, but git moves its routes from v1 to v2 (subsets)" in line
    assert mesh_sandbox.writes() == [] and cluster.weights("cart") == {"v1": 100}
