"""Writing a config repository's skeleton: what `meshops init` and `meshops import` create.

`init` writes a whole starter repo — environments with their `meshops.yaml` (the rollout policy
commented out) and values, a template per Istio kind, the values schema, the GitHub workflows — from
the files under `starter/` plus the parts that depend on the environments' names (each
`meshops.yaml`, `deploy.yml`'s job per environment). `import` only adds an environment that does
not exist yet. Nothing here overwrites a file that exists: a person's edits are never lost.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .. import __version__
from ..model.errors import UsageError
from ..yamlio.atomic_write import write_atomically
from .envconfig import BASE_ENVIRONMENT, CONFIG_FILE, ENVIRONMENT_NAME, ENVIRONMENTS_DIR, VALUES_FILE

# The packaged starter files, copied as they are (paths relative to this folder are repo paths).
STARTER = "starter"
DEPLOY_WORKFLOW = ".github/workflows/deploy.yml"
DEFAULT_ENVIRONMENTS = ("dev", "staging", "prod")
DEFAULT_NAMESPACE = "apps"
# The version the scaffolded workflows install, so CI runs the meshops that wrote the repo.
PIP_REQUIREMENT = f"meshops=={__version__}"
# Where the starter workflows say what to install (replaced by PIP_REQUIREMENT when written).
PIP_PLACEHOLDER = "PIP_REQUIREMENT"


@dataclass(frozen=True)
class EnvironmentSpec:
    """One environment to scaffold: its name, namespace, place in the promotion order, cluster context."""

    name: str
    namespace: str
    after: str | None = None
    production: bool = False
    context: str | None = None


def environment_config(spec: EnvironmentSpec, *, commented_policy: bool = True) -> str:
    """An environment's `meshops.yaml`: namespace, promotion, cluster context, and a commented rollout policy."""
    lines = [
        f"description: {spec.name}",
        f"namespace: {spec.namespace}",
    ]
    if spec.production:
        lines.append("production: true            # production-only checks (e.g. 100 % trace sampling)")
    lines.append(f"promotion: {{after: {spec.after}}}" if spec.after else "promotion: {order: 1}")
    if spec.context:
        lines.append(f"cluster: {{context: {spec.context}}}")
    else:
        lines.append("# cluster: {context: my-cluster}   # kubeconfig context of this environment's cluster")
    if commented_policy:
        lines += [
            "# prometheus: {url: http://prometheus.istio-system:9090}",
            "# rollout:                     # progressive canary when a service's version changes in git",
            "#   steps: [10, 25, 50]",
            "#   interval: 2m",
            "#   threshold: 2               # failed analyses that roll back",
            "#   minRequests: 50            # an idle canary holds instead of passing",
            "#   successRate: {min: 99}",
            "#   latency: {percentile: 99, max: 500}",
        ]
    return "\n".join(lines) + "\n"


def _deploy_workflow(specs: list[EnvironmentSpec]) -> str:
    """`deploy.yml`: on push to main, one reconcile job per environment, in promotion order."""
    head = (
        "# A push to main reconciles the environments in promotion order, one job each; every job runs in the\n"
        "# GitHub environment of the same name, which holds its KUBECONFIG secret (protect production with\n"
        "# required reviewers). `concurrency` keeps two pushes from applying one environment at once.\n"
        "name: deploy\n\n"
        "on:\n  push:\n    branches: [main]\n    paths:\n"
        '      - "environments/**"\n      - "templates/**"\n      - "crds/**"\n  workflow_dispatch:\n\n'
        "permissions:\n  contents: read\n\njobs:\n"
    )
    jobs = []
    for spec in specs:
        needs = f"    needs: {spec.after}\n" if spec.after else ""
        jobs.append(
            f"  {spec.name}:\n{needs}    runs-on: ubuntu-latest\n    timeout-minutes: 90\n    environment: {spec.name}\n"
            f"    concurrency:\n      group: meshops-reconcile-{spec.name}\n      cancel-in-progress: false\n"
            "    steps:\n      - uses: actions/checkout@v4\n        with:\n          fetch-depth: 0\n"
            '      - uses: actions/setup-python@v5\n        with:\n          python-version: "3.11"\n'
            f'      - run: pip install "{PIP_REQUIREMENT}"\n'
            "      - name: kubeconfig\n        env:\n          KUBECONFIG_DATA: ${{ secrets.KUBECONFIG }}\n"
            '        run: |\n          umask 077\n          printf \'%s\' "$KUBECONFIG_DATA" > "$RUNNER_TEMP/kubeconfig"\n'
            f"      - name: reconcile {spec.name}\n        run: >-\n"
            f'          meshops reconcile --repo . --ref "$GITHUB_SHA" --env {spec.name} --wait\n'
            '          --kubeconfig "$RUNNER_TEMP/kubeconfig" --cache-dir "$RUNNER_TEMP/meshops-cache" --lock-timeout 10m\n'
        )
    return head + "\n".join(jobs)


def _starter_files() -> dict[str, str]:
    """The packaged starter files: repo path -> text."""
    files: dict[str, str] = {}
    root = resources.files(__package__).joinpath(STARTER)

    def walk(node, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            path = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, path + "/")
            elif child.name != "__init__.py":
                files[path.replace("dot-github", ".github")] = child.read_text(encoding="utf-8")

    walk(root, "")
    return files


def starter_repo(specs: list[EnvironmentSpec]) -> dict[str, str]:
    """Every file of a new config repo with these environments: repo path -> text."""
    files = {path: text.replace(PIP_PLACEHOLDER, PIP_REQUIREMENT) for path, text in _starter_files().items()}
    for spec in specs:
        files[f"{ENVIRONMENTS_DIR}/{spec.name}/{CONFIG_FILE}"] = environment_config(spec)
        files[f"{ENVIRONMENTS_DIR}/{spec.name}/{VALUES_FILE}"] = (
            "# Values for this environment only; they override environments/base/values.yaml.\n"
            + ("telemetry: {samplingPercentage: 1}\n" if spec.production else "{}\n")
        )
    files[DEPLOY_WORKFLOW] = _deploy_workflow(specs)
    return files


def promotion_chain(names: list[str], *, namespace: str, production: str | None = None) -> list[EnvironmentSpec]:
    """Environments promoted one after another (dev -> staging -> prod); the last one is production."""
    for name in names:
        if not ENVIRONMENT_NAME.match(name) or name == BASE_ENVIRONMENT:
            raise UsageError(f"invalid environment name {name!r}", hint="use lowercase letters, digits and '-', not 'base'")
    if len(set(names)) != len(names):
        raise UsageError("an environment is named twice", hint="name each environment once")
    production = production or names[-1]
    return [EnvironmentSpec(name, namespace, names[i - 1] if i else None, name == production) for i, name in enumerate(names)]


def write_new_files(root: str | os.PathLike, files: dict[str, str]) -> list[str]:
    """Write `files` (repo path -> text) under `root`; refuse before writing anything if one exists."""
    base = Path(root)
    existing = sorted(path for path in files if (base / path).exists())
    if existing:
        raise UsageError(f"{existing[0]} already exists" + (f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""),
                         hint="meshops never overwrites a config repo's files; use an empty directory")
    for path, text in sorted(files.items()):
        write_atomically(base / path, text)
    return sorted(files)
