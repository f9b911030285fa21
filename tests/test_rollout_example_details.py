"""The example repo's `details` service, routed by an HTTPRoute over one Service per version, rolls out
like any VirtualService: the real CLI against the sandbox with meshops's own Gateway API CRDs. Staging's
policy gives details an A/B stage first (`rollout.services.details.abTest`). No Prometheus here: apply
starts the rollout, diff stays quiet while it runs, a person aborts it.
"""
from __future__ import annotations

from pathlib import Path

from helpers import copy_example_repo
from meshops.rollout.state import Phase, state_of

DETAILS_V1 = "  details:\n    port: 9080\n    version: v1\n"


def test_a_new_details_version_rolls_out_on_its_httproute_with_the_staging_ab_stage(meshops, mesh_sandbox, tmp_path: Path):
    repo = copy_example_repo(tmp_path / "config", committed=True)

    def cli(*args: str):
        return meshops(*args, "--env", "staging", "--repo", str(repo), "--kubeconfig", str(mesh_sandbox.kubeconfig),
                       "--context", "sandbox")

    def backends() -> tuple[list, object]:
        route = mesh_sandbox.custom_objects().get_namespaced_custom_object(
            "gateway.networking.k8s.io", "v1", "bookinfo", "httproutes", "details")
        default = next(rule for rule in route["spec"]["rules"] if rule.get("name") == "default")
        return [(ref["name"], ref["weight"]) for ref in default["backendRefs"]], state_of(route)

    assert cli("apply", "--yes").returncode == 0
    base = repo / "environments" / "base" / "values.yaml"
    base.write_text(base.read_text().replace(DETAILS_V1, DETAILS_V1.replace("v1", "v2"), 1))
    diff = cli("diff")
    assert diff.returncode == 1 and "details: details-v2 –→0" in diff.stdout, diff.stdout
    assert "+ Service bookinfo/details-v2" in diff.stdout  # the new backend Service is written first
    applied = cli("apply", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    routed, state = backends()
    assert routed == [("details-v1", 100), ("details-v2", 0)]
    assert (state.phase, state.stable, state.canary, state.split_by) == (Phase.PROGRESSING, "details-v1", "details-v2", "service")
    assert state.stages == ("ab", "ab", "weight", "weight", "weight") and state.weights == (0, 0, 10, 25, 50)
    assert cli("diff").returncode == 0  # the rollout owns the weights: nothing to do
    status = cli("rollout", "status")
    assert "details" in status.stdout and "Progressing" in status.stdout, status.stdout
    assert cli("rollout", "abort", "details").returncode == 0
    routed, state = backends()
    assert routed == [("details-v1", 100)] and state.phase == Phase.ABORTED
