"""The clusters an environment spans and the waves a revision goes through them in (`meshops.yaml`).

    clusters:                         # one environment, several clusters (each its own API server)
      - {name: us-east, context: prod-us-east}
      - {name: eu-west, context: prod-eu-west, prometheus: {url: http://prom.eu-west:9090}}
      - {name: ap-south}              # context defaults to the name
    waves: [[us-east], [eu-west, ap-south]]
    soak: 30m                         # after a wave succeeded, before the next one starts

The simple form `cluster: {context: …}` (or nothing) is one cluster named `default`. Without
`waves:` every cluster is in the first and only wave. A cluster's values layer is
`environments/<env>/clusters/<name>.yaml` (optional); a file there for a cluster the list does not
name is an error, so a misspelled file name is never silently ignored. This module checks the
sections (names, contexts, waves: each cluster in exactly one) and hands `ClusterSpec`s on to
`pipeline.targets`, which turns them into targets.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from ..model.durations import parse_duration
from ..model.errors import ConfigError, Location
from ..model.identity import DEFAULT_CLUSTER
from ..model.suggest import did_you_mean
# environments/<env>/clusters/<cluster>.yaml: a cluster's values layer.
CLUSTERS_DIR = "clusters"
CLUSTER_VALUES_SUFFIX = ".yaml"
# A cluster name becomes part of a Lease name and a file name: DNS-label-like, no dots or slashes.
CLUSTER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$")

Locate = Callable[..., Location]


@dataclass(frozen=True)
class ClusterSpec:
    """One cluster of an environment as meshops.yaml declares it."""

    name: str
    context: str | None  # a context of the operator's kubeconfig (None: the current one)
    wave: int  # 1-based: the wave a new revision reaches this cluster in
    prometheus: dict[str, Any] | None = None  # this cluster's `prometheus:` keys, over the environment's
    index: int | None = None  # position in `clusters:` (None: the simple form)

    @property
    def listed(self) -> bool:
        """Whether the environment lists its clusters (not the simple form)."""
        return self.index is not None


def cluster_values_file(environment_dir: str, cluster: str) -> str:
    """The values layer of one cluster: `environments/<env>/clusters/<cluster>.yaml`."""
    return f"{environment_dir}/{CLUSTERS_DIR}/{cluster}{CLUSTER_VALUES_SUFFIX}"


def read_clusters(data: dict[str, Any], *, locate: Locate) -> tuple[ClusterSpec, ...]:
    """The environment's clusters, checked, in the order meshops.yaml lists them."""
    listed = data.get("clusters")
    if listed is None:
        if data.get("waves") is not None:
            raise ConfigError("waves need a clusters: list", location=locate("waves"),
                              hint="list the clusters (clusters: [{name: us-east, context: …}]) or remove waves")
        single = data.get("cluster") or {}
        return (ClusterSpec(name=DEFAULT_CLUSTER, context=single.get("context"), wave=1),)
    if data.get("cluster") is not None:
        raise ConfigError("cluster and clusters exclude each other", location=locate("cluster"),
                          hint="move the context into the clusters: list, or keep the single cluster: form")
    names: dict[str, int] = {}
    contexts: dict[str, str] = {}
    for index, entry in enumerate(listed):
        name = entry["name"]
        if not CLUSTER_NAME.match(name):
            raise ConfigError(f"invalid cluster name {name!r}", location=locate("clusters", index, "name"),
                              hint="use lowercase letters, digits and '-' (up to 42 characters)")
        if name == DEFAULT_CLUSTER:
            raise ConfigError(f"{DEFAULT_CLUSTER!r} is the name of the single cluster: form's only cluster",
                              location=locate("clusters", index, "name"),
                              hint="name the cluster after its region or role (us-east, blue …)")
        if name in names:
            raise ConfigError(f"cluster {name!r} is listed twice", location=locate("clusters", index, "name"),
                              hint="give every cluster of an environment its own name")
        context = entry.get("context") or name
        if context in contexts:
            raise ConfigError(f"clusters {contexts[context]!r} and {name!r} name the same context {context!r}",
                              location=locate("clusters", index),
                              hint="each cluster is its own API server: give each its own context")
        names[name] = index
        contexts[context] = name
    waves = _read_waves(data.get("waves"), names, locate=locate)
    return tuple(ClusterSpec(name=entry["name"], context=entry.get("context") or entry["name"], wave=waves[entry["name"]],
                             prometheus=entry.get("prometheus"), index=index) for index, entry in enumerate(listed))


def _read_waves(waves: list[list[str]] | None, names: dict[str, int], *, locate: Locate) -> dict[str, int]:
    """Cluster name -> wave number; every cluster in exactly one wave."""
    if waves is None:
        return {name: 1 for name in names}
    wave_of: dict[str, int] = {}
    for number, wave in enumerate(waves, start=1):
        for position, name in enumerate(wave):
            where = locate("waves", number - 1, position)
            if name not in names:
                guess = did_you_mean(name, names)
                raise ConfigError(f"waves name unknown cluster {name!r}", location=where,
                                  hint=(guess + " " if guess else "") + "clusters: " + ", ".join(names))
            if name in wave_of:
                raise ConfigError(f"cluster {name!r} is in waves {wave_of[name]} and {number}", location=where,
                                  hint="put every cluster in exactly one wave")
            wave_of[name] = number
    missing = [name for name in names if name not in wave_of]
    if missing:
        raise ConfigError(f"clusters in no wave: {', '.join(missing)}", location=locate("waves"),
                          hint="add them to a wave (a new revision would never reach them otherwise)")
    return wave_of


def soak_seconds(data: dict[str, Any], *, locate: Locate) -> float:
    """`soak:` in seconds (0 when absent): how long a wave must have succeeded before the next one starts."""
    text = data.get("soak")
    if text is None:
        return 0.0
    try:
        return parse_duration(str(text))
    except ValueError as error:
        raise ConfigError(f"soak: {error}", location=locate("soak"), hint="write it like 10m or 1h") from None


def check_cluster_values(files: list[str], clusters: tuple[ClusterSpec, ...], *, directory: str) -> None:
    """Every file under `environments/<env>/clusters/` must be the values layer of a listed cluster."""
    known = {spec.name for spec in clusters if spec.listed}
    for file in files:
        stem = file[: -len(CLUSTER_VALUES_SUFFIX)] if file.endswith(CLUSTER_VALUES_SUFFIX) else None
        if stem in known:
            continue
        where = Location(f"{directory}/{CLUSTERS_DIR}/{file}")
        if not known:
            raise ConfigError("a cluster values file, but the environment lists no clusters", location=where,
                              hint="list the clusters in meshops.yaml (clusters: [{name: …, context: …}]) or move the values")
        guess = did_you_mean(stem or file, known)
        raise ConfigError(f"values file for unknown cluster {stem or file!r}", location=where,
                          hint=(guess + " " if guess else "") + f"name it <cluster>{CLUSTER_VALUES_SUFFIX}; clusters: "
                          + ", ".join(sorted(known)))
