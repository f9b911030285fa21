"""What the multi-cluster rollout tests share: an environment `test` over sandboxes, each cluster with
its traffic and Prometheus.

Every cluster is its own sandbox (API server) with the shipped Istio CRDs; a `WeightFollower`
copies each cluster's VirtualService weights into that cluster's traffic simulator, which a
Prometheus scrapes. The session's shared simulator and Prometheus serve one cluster; a cluster
that needs numbers of its own (to prove it asks its own Prometheus) gets a simulator and a
Prometheus of its own.
"""
from __future__ import annotations

import json
from pathlib import Path

from helpers import run_meshops
from meshops.rollout.store import RolloutStore
from meshops.sim.follow import WeightFollower
from rollouts import ENV, GROUP, PLURAL, make_repo, write_values

RPS = 200.0


def fleet_config(*, namespace: str, policy: dict, clusters: dict[str, str | None], waves: list[list[str]] | None,
                 prometheus_url: str, soak: str | None = None) -> dict:
    """meshops.yaml of `test`: `clusters` maps name -> its own Prometheus URL (None: the environment's)."""
    listed = [{"name": name, **({"prometheus": {"url": url}} if url else {})} for name, url in clusters.items()]
    config = {"namespace": namespace, "prometheus": {"url": prometheus_url}, "rollout": policy, "clusters": listed}
    if waves:
        config["waves"] = waves
    if soak:
        config["soak"] = soak
    return config


def make_fleet_repo(root: Path, *, services: dict[str, str], **config) -> Path:
    """`rollouts.make_repo`'s repo, its environment spanning clusters (see `fleet_config`)."""
    make_repo(root, namespace=config["namespace"], services=services, policy=config["policy"],
              prometheus_url=config["prometheus_url"])
    (root / "environments" / ENV / "meshops.yaml").write_text(json.dumps(fleet_config(**config), indent=2) + "\n")
    return root


class MeshFleet:
    """The clusters of `test`, the CLI pointed at all of them, and traffic following each cluster's weights."""

    def __init__(self, fleet, repo: Path, namespace: str) -> None:
        from meshops.validate.schemas import shipped_crds

        self.fleet = fleet
        self.repo = repo
        self.namespace = namespace
        self.followers: list[WeightFollower] = []
        crds = shipped_crds()
        config = json.loads((repo / "environments" / ENV / "meshops.yaml").read_text())
        for entry in config["clusters"]:
            server = fleet.add(entry["name"], crds=crds)
            for name in ("istio-system", namespace):  # as if Istio were installed, and the environment's namespace
                server.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def cli(self, *args: str, timeout: float = 180):
        return run_meshops(*args, "--env", ENV, "--repo", str(self.repo), "--kubeconfig", self.fleet.kubeconfig, timeout=timeout)

    def store(self, cluster: str) -> RolloutStore:
        from meshops.cluster.connect import connect

        return RolloutStore.connect(connect(kubeconfig=str(self.fleet.files[cluster]), context=cluster))

    def follow(self, cluster: str, traffic, services: dict[str, dict]) -> None:
        """Traffic of `cluster`'s services into `traffic`, each canary (v2) with its `settings`."""
        for name, canary in services.items():
            traffic.set_workload(f"{name}-v2", namespace=self.namespace, service=name, version="v2", **canary.get("settings", {}))
        follower = WeightFollower(self.store(cluster), traffic, namespace=self.namespace,
                                  services={name: RPS for name in services}).start()
        self.followers.append(follower)

    def name_version(self, services: dict[str, str]) -> None:
        write_values(self.repo, services)

    def vs(self, cluster: str, name: str) -> dict:
        objects = [o for o in self.fleet[cluster].objects(GROUP, PLURAL, self.namespace) if o["metadata"]["name"] == name]
        assert objects, f"no VirtualService {name} in {cluster}"
        return objects[0]

    def close(self) -> None:
        for follower in self.followers:
            follower.stop()
