"""Environments of a config repository and their `meshops.yaml` (cluster, Prometheus, policies).

Layout: `environments/base/values.yaml` holds shared values; every other directory under
`environments/` is an environment with `values.yaml` (overrides) and `meshops.yaml` (how meshops
treats it). This module lists environments, guards their names, and loads `meshops.yaml` against
`CONFIG_SCHEMA`, so a misspelled key is an error at its line rather than a silently ignored setting.
Each later stage reads its own section (`rollout`, `ignore`, `suppress`, `freeze` …); the clusters
an environment spans and their waves are read once here (`source.clusters`), and
`EnvConfig.for_cluster` is the environment as one of its clusters sees it (its own Prometheus).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..schema import problems as schemacheck
from ..model.errors import ConfigError, Location, UsageError
from .clusters import CLUSTERS_DIR, ClusterSpec, check_cluster_values, read_clusters, soak_seconds
from .repo import Tree
from ..yamlio.documents import Document, load_one

ENVIRONMENTS_DIR = "environments"
TEMPLATES_DIR = "templates"
CRDS_DIR = "crds"  # the clusters' Istio CRDs a repo keeps (`meshops crds pull`), for offline validation
BASE_ENVIRONMENT = "base"
CONFIG_FILE = "meshops.yaml"
VALUES_FILE = "values.yaml"

# DNS-label-like: an environment name becomes a label value and a directory name, so no `/`, `..`.
ENVIRONMENT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")

_DURATION = {"type": "string", "pattern": r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"}
_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "kind": {"type": "string"},
        "name": {"type": "string"},
        "namespace": {"type": "string"},
    },
}
_BOUNDS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"min": {"type": "number"}, "max": {"type": "number"}},
}
_CHECK = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "query"],
    "properties": {
        "name": {"type": "string"},
        "query": {"type": "string"},
        "min": {"type": "number"},
        "max": {"type": "number"},
        "onNoData": {"enum": ["fail", "hold"]},
    },
}
_WEBHOOK = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "url"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "type": {"enum": ["pre-rollout", "rollout", "pre-promotion"]},
        "url": {"type": "string"},
        "timeout": _DURATION,
        "metadata": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
    },
}
_RECEIVER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "type"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "type": {"enum": ["slack", "teams", "webhook"]},
        "url": {"type": "string"},
        "urlSecret": {"type": "string"},
        "hmacSecret": {"type": "string"},
        "services": {"type": "array", "items": {"type": "string"}},
        "events": {"type": "array", "items": {"type": "string"}},
        "timeout": _DURATION,
    },
}
# One header condition of an A/B stage: Istio's StringMatch, limited to what HTTPRoute can say too.
_HEADER_CONDITION = {
    "type": "object", "additionalProperties": False,  # exactly one of them: rollout.policy says so
    "properties": {"exact": {"type": "string"}, "regex": {"type": "string", "minLength": 1}},
}
_THEN = {"enum": ["steps", "promote"]}
_ANALYSES = {"type": "integer", "minimum": 1, "maximum": 100}
ROLLOUT_POLICY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        # Canary weights; an item {approve: true} is a manual approval gate at that point.
        "steps": {"type": "array", "minItems": 1, "items": {"anyOf": [
            {"type": "integer", "minimum": 1, "maximum": 100},
            {"type": "object", "additionalProperties": False, "required": ["approve"],
             "properties": {"approve": {"const": True}}},
        ]}},
        "confirmPromotion": {"type": "boolean"},
        "stepWeight": {"type": "integer", "minimum": 1, "maximum": 100},
        "maxWeight": {"type": "integer", "minimum": 1, "maximum": 100},
        "interval": _DURATION,
        "threshold": {"type": "integer", "minimum": 1},
        "window": _DURATION,
        "minRequests": {"type": "number", "minimum": 0},
        "onLowTraffic": {"enum": ["hold", "fail"]},
        "successRate": _BOUNDS,
        "latency": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"percentile": {"type": "number", "exclusiveMinimum": 0, "maximum": 100}, "max": {"type": "number"}},
        },
        "compareToStable": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "maxErrorRateIncrease": {"type": "number", "minimum": 0},
                "maxLatencyIncrease": {"type": "number", "minimum": 0},
            },
        },
        "checks": {"type": "array", "items": _CHECK},
        # Deployment name of a version, e.g. "{service}-{version}" (Bookinfo's reviews-v2).
        "workload": {"type": "string", "minLength": 1},
        "canaryReadiness": {"type": "boolean"},
        "reporter": {"enum": ["destination", "source", "waypoint"]},
        "progressDeadline": _DURATION,
        "onTimeout": {"enum": ["rollback", "hold"]},
        "webhooks": {"type": "array", "items": _WEBHOOK},
        # A/B stage: only requests matching one of `match` go to the canary, for `analyses` analyses.
        "abTest": {
            "type": "object", "additionalProperties": False, "required": ["match"],
            "properties": {
                "match": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "additionalProperties": False, "required": ["headers"],
                    "properties": {"headers": {"type": "object", "minProperties": 1,
                                               "additionalProperties": _HEADER_CONDITION}}}},
                "analyses": _ANALYSES,
                "then": _THEN,
            },
        },
        # Mirroring stage: `percent` of requests copied to the canary (responses discarded).
        "mirror": {
            "type": "object", "additionalProperties": False,
            "properties": {"percent": {"type": "integer", "minimum": 1, "maximum": 100}, "analyses": _ANALYSES,
                           "then": _THEN},
        },
        # Host-level split of a VirtualService: the two Services it routes between (no subsets).
        "stableService": {"type": "string", "minLength": 1},
        "canaryService": {"type": "string", "minLength": 1},
    },
}

_PROMETHEUS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "url": {"type": "string"},
        "timeout": _DURATION,
        "headers": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
        # Credentials and TLS trust are the operator's: known here only so that writing them
        # in the repo is an error that names the flag to use (pipeline.prometheus).
        **{key: {} for key in ("bearerToken", "bearerTokenFile", "basicAuth", "username", "password",
                               "passwordFile", "tls", "caFile", "insecureSkipVerify")},
    },
}
_CLUSTER_NAME = {"type": "string", "minLength": 1}

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "description": {"type": "string"},
        "production": {"type": "boolean"},
        "namespace": {"type": "string"},
        # An environment that renders no objects is an error (a missing or misnamed template would
        # otherwise plan to prune everything it owns) unless it says so here.
        "allowEmpty": {"type": "boolean"},
        # Other namespaces the environment owns objects in: prune looks there even when nothing is
        # rendered into them any more (inside the operator's --allowed-namespaces).
        "namespaces": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True},
        # The repository may name a context of the operator's kubeconfig, never a file or a program:
        # see OPERATOR_ONLY.
        "cluster": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"context": {"type": "string"}},
        },
        "clusters": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {"name": _CLUSTER_NAME, "context": {"type": "string", "minLength": 1}, "prometheus": _PROMETHEUS},
            },
        },
        "waves": {"type": "array", "minItems": 1, "items": {"type": "array", "minItems": 1, "items": _CLUSTER_NAME}},
        "soak": _DURATION,
        "prometheus": _PROMETHEUS,
        "promotion": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"after": {"type": "string"}, "order": {"type": "integer"}},
        },
        "rollout": {
            **ROLLOUT_POLICY_SCHEMA,
            "properties": {
                **ROLLOUT_POLICY_SCHEMA["properties"],
                "services": {"type": "object", "additionalProperties": ROLLOUT_POLICY_SCHEMA},
            },
        },
        "notifications": {"type": "array", "items": _RECEIVER},
        "ignore": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["paths"],
                "properties": {**_SELECTOR["properties"], "paths": {"type": "array", "items": {"type": "string"}}},
            },
        },
        "suppress": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["code", "reason"],
                "properties": {**_SELECTOR["properties"], "code": {"type": "string"}, "reason": {"type": "string", "minLength": 1}},
            },
        },
        "freeze": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["reason"],
                "properties": {
                    "from": {"type": "string"},
                    "to": {"type": "string"},
                    "cron": {"type": "string"},
                    "duration": _DURATION,
                    "reason": {"type": "string"},
                },
            },
        },
    },
}


# Keys a config repository may not set, because they choose credentials or run programs on the
# machine that reads the repository (a kubeconfig's `users[].user.exec` plugin runs any command,
# and a pull request can change meshops.yaml). They come from the operator: flags or environment.
OPERATOR_ONLY: dict[tuple[str, str], str] = {
    ("cluster", "kubeconfig"): "a config repository may name a context, never a kubeconfig file "
                               "(its exec credential plugins would run on every machine that diffs the repository)",
    ("cluster", "inCluster"): "a config repository may not choose the credentials meshops uses "
                              "(inside a pod, meshops uses the pod's service account when no kubeconfig is given)",
}
OPERATOR_ONLY_HINT = "remove it; pass --kubeconfig FILE or set $KUBECONFIG where meshops runs, and --context or cluster.context"


@dataclass
class EnvConfig:
    """An environment's `meshops.yaml`, checked, with the line of every key for error messages."""

    name: str
    file: str
    data: dict[str, Any] = field(default_factory=dict)
    document: Document | None = None
    # What stages derive from `data` (rollout policies, ignore rules), parsed once per config object.
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    # Where a key of a per-cluster view really is: a prefix of `data` -> its path in the file.
    aliases: dict[tuple, tuple] = field(default_factory=dict, compare=False, repr=False)

    def location(self, *path: str | int) -> Location:
        for prefix in sorted(self.aliases, key=len, reverse=True):
            if tuple(path[: len(prefix)]) == prefix:
                path = self.aliases[prefix] + tuple(path[len(prefix):])
                break
        line = self.document.line_of(tuple(path)) if self.document else None
        return Location(self.file, line)

    @property
    def clusters(self) -> tuple[ClusterSpec, ...]:
        """The clusters the environment spans, in meshops.yaml's order (one, `default`, in the simple form)."""
        if "clusters" not in self.derived:
            self.derived["clusters"] = read_clusters(self.data, locate=self.location)
        return self.derived["clusters"]

    @property
    def waves(self) -> list[list[ClusterSpec]]:
        """The clusters grouped by wave, first wave first."""
        count = max(spec.wave for spec in self.clusters)
        return [[spec for spec in self.clusters if spec.wave == number] for number in range(1, count + 1)]

    @property
    def soak(self) -> float:
        """Seconds a wave must have succeeded before the next one starts."""
        return soak_seconds(self.data, locate=self.location)

    def cluster(self, name: str) -> ClusterSpec:
        """One cluster by name (UsageError naming the known ones)."""
        for spec in self.clusters:
            if spec.name == name:
                return spec
        from ..model.suggest import did_you_mean

        known = [spec.name for spec in self.clusters]
        guess = did_you_mean(name, known)
        raise UsageError(f"environment {self.name} has no cluster {name!r}",
                         hint=(guess + " " if guess else "") + "its clusters: " + ", ".join(known))

    def for_cluster(self, name: str) -> EnvConfig:
        """The environment as cluster `name` sees it: its `prometheus:` keys over the environment's."""
        spec = self.cluster(name)
        if not spec.prometheus:
            return self
        key = ("for_cluster", name)
        if key not in self.derived:
            data = {**self.data, "prometheus": {**(self.data.get("prometheus") or {}), **spec.prometheus}}
            self.derived[key] = EnvConfig(name=self.name, file=self.file, data=data, document=self.document,
                                          aliases=_prometheus_aliases(spec))
        return self.derived[key]

    @property
    def namespace(self) -> str:
        return str(self.data.get("namespace") or "default")

    @property
    def declared_namespaces(self) -> list[str]:
        """`namespace` and `namespaces` of meshops.yaml: where the environment owns objects."""
        return [self.namespace, *(self.data.get("namespaces") or [])]

    @property
    def production(self) -> bool:
        return bool(self.data.get("production", False))

    def section(self, name: str) -> Any:
        return self.data.get(name)


def _prometheus_aliases(spec: ClusterSpec) -> dict[tuple, tuple]:
    """In a cluster's view, the `prometheus` keys the cluster sets are found in its `clusters:` entry."""
    own = ("clusters", spec.index, "prometheus")
    return {("prometheus", key): own + (key,) for key in spec.prometheus or {}}


def _refuse_operator_only(data: dict[str, Any], document: Document, *, file: str) -> None:
    """A ConfigError for the first key only the operator may set, in `cluster:` or any `clusters:` entry."""
    listed = data.get("clusters")
    entries: list[tuple[tuple, Any]] = [(("cluster",), data.get("cluster"))]
    entries += [(("clusters", index), entry) for index, entry in enumerate(listed if isinstance(listed, list) else [])]
    for path, entry in entries:
        for (_, key), why in OPERATOR_ONLY.items():  # the same keys for the single form and every listed cluster
            if isinstance(entry, dict) and key in entry:
                raise ConfigError(f"{_dotted(path + (key,))}: {why}", location=Location(file, document.line_of(path + (key,))),
                                  hint=OPERATOR_ONLY_HINT)


def _dotted(path: tuple) -> str:
    """`("clusters", 1, "kubeconfig")` as `clusters[1].kubeconfig`."""
    return "".join(f"[{part}]" if isinstance(part, int) else (f".{part}" if i else part) for i, part in enumerate(path))


def list_environments(tree: Tree) -> list[str]:
    """Environment names (directories under `environments/` other than `base`), sorted."""
    return [
        name
        for name in tree.listdir(ENVIRONMENTS_DIR)
        if name != BASE_ENVIRONMENT and tree.is_dir(f"{ENVIRONMENTS_DIR}/{name}")
    ]


def check_environment_name(tree: Tree, name: str) -> None:
    """Refuse names that could escape `environments/` and names that do not exist."""
    known = list_environments(tree)
    if not ENVIRONMENT_NAME.match(name or ""):
        raise UsageError(
            f"invalid environment name {name!r}",
            hint="use lowercase letters, digits and '-' (no '/' or '..'); known: " + (", ".join(known) or "none"),
        )
    if name not in known:
        from ..model.suggest import did_you_mean

        guess = did_you_mean(name, known)
        raise UsageError(
            f"unknown environment {name!r}",
            hint=(guess + " " if guess else "") + "known environments: " + (", ".join(known) or f"none under {ENVIRONMENTS_DIR}/"),
        )


def load_env_config(tree: Tree, name: str) -> EnvConfig:
    """Read and check `environments/<name>/meshops.yaml` (a missing file means all defaults)."""
    check_environment_name(tree, name)
    file = f"{ENVIRONMENTS_DIR}/{name}/{CONFIG_FILE}"
    raw = tree.read(file)
    if raw is None:
        config = EnvConfig(name=name, file=file)
        _check_clusters(tree, config)
        return config
    document = load_one(raw, filename=file)
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError("must be a mapping of settings", location=Location(file, document.start_line))
    _refuse_operator_only(data, document, file=file)
    for problem in schemacheck.check(data, CONFIG_SCHEMA):
        raise ConfigError(
            f"{'.'.join(map(str, problem.path)) or 'meshops.yaml'}: {problem.message}",
            location=Location(file, document.line_of(problem.path)),
            hint=problem.hint or "see README.md, 'meshops.yaml reference'",
        )
    config = EnvConfig(name=name, file=file, data=data, document=document)
    _check_clusters(tree, config)
    return config


def _check_clusters(tree: Tree, config: EnvConfig) -> None:
    """The clusters, waves and soak read once (errors at their lines), and no stray cluster values file."""
    directory = f"{ENVIRONMENTS_DIR}/{config.name}"
    _ = config.clusters, config.soak
    check_cluster_values(tree.listdir(f"{directory}/{CLUSTERS_DIR}"), config.clusters, directory=directory)
