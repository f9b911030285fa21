"""Use case: plan an environment — render, validate, read the cluster once, compare.

`diff`, `apply`, `reconcile` and the controller all start here, which guarantees that nothing
reaches a cluster before the rendered objects passed validation, and that validation sees the
same live objects (Services, subsets with their pods) the plan is made against.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..cluster.api import KubeApi
from ..cluster.discovery import Discovery
from ..cluster.live import LiveState, missing_namespaces, read_live
from ..cluster.target import Connection
from ..diff.normalize import IgnoreRule, ignore_rules
from ..diff.plan import Plan, make_plan
from ..model import kinds
from ..model.errors import ClusterError, ConfigError
from ..model.identity import Overlay, Owner
from ..model.scope import ALLOW_LIST_ENV, ALLOW_LIST_FLAG, Scope
from ..render import RenderResult, render
from ..source.envconfig import EnvConfig
from ..source.repo import open_source
from ..validate.findings import Finding, Severity, has_errors
from .targets import owner_of, scope_of

# Schema findings (MSH1xx) judge each object alone: a cluster's objects cannot change them.
SCHEMA_CODE_PREFIX = "MSH1"


class InvalidConfig(ConfigError):
    """Validation found errors: nothing may be written."""

    def __init__(self, findings: list[Finding]) -> None:
        errors = [f for f in findings if f.severity is Severity.ERROR and not f.suppressed_by]
        first = errors[0]
        more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
        super().__init__(
            f"{first.code} {first.object}{first.json_path}: {first.message}{more}",
            location=first.location,
            hint="run `meshops validate` for every finding; nothing was written",
        )
        self.findings = findings


def render_environment(*, repo: str, ref: str | None, environment: str, sets: tuple[str, ...] = ()) -> RenderResult:
    """Render an environment and check its rollout policy and `prometheus:` section (before any write)."""
    rendered = render(open_source(repo, ref), environment, sets)
    check_settings(rendered.config)
    return rendered


def check_settings(config: EnvConfig) -> None:
    """The rollout policy and the `prometheus:` sections (the environment's and each cluster's) of meshops.yaml,
    checked before anything is read from a cluster or written to one (ConfigError at the line to edit)."""
    from ..rollout.policy import check_policies
    from .prometheus import check_repo_section

    check_policies(config)
    check_repo_section(config)
    for spec in config.clusters:
        if spec.prometheus:
            check_repo_section(config.for_cluster(spec.name))


# Where a render keeps its offline findings: clusters sharing one render validate it once.
OFFLINE_FINDINGS = "offline_findings"


def validate_rendered(rendered: RenderResult) -> list[Finding]:
    """Every finding for the rendered objects, offline; InvalidConfig on errors (before any cluster is touched)."""
    from ..validate import validate
    from ..validate.schemas.repo import schemas_for

    findings = rendered.derived.get(OFFLINE_FINDINGS)
    if findings is None:
        schemas = schemas_for(rendered.tree, rendered.environment)
        findings = rendered.derived[OFFLINE_FINDINGS] = validate(rendered.manifests, schemas=schemas, config=rendered.config)
    if has_errors(findings):
        raise InvalidConfig(findings)
    return findings


def revalidate_with_live(rendered: RenderResult, offline: list[Finding], live: list[dict] | None) -> list[Finding]:
    """The cross-resource checks again, with the cluster's objects as context (hosts from live
    Services, subsets with pods); InvalidConfig on errors. Schema findings do not depend on the
    cluster and are kept from the offline run."""
    from ..validate import validate

    if live is None:
        return offline
    with_live = validate(rendered.manifests, config=rendered.config, live=live)
    if has_errors(with_live):
        raise InvalidConfig(with_live)
    return [finding for finding in offline if finding.code.startswith(SCHEMA_CODE_PREFIX)] + with_live


def render_and_validate(*, repo: str, ref: str | None, environment: str, sets: tuple[str, ...] = ()) -> tuple[RenderResult, list[Finding]]:
    """Render an environment and validate it offline; raise InvalidConfig on error findings."""
    rendered = render_environment(repo=repo, ref=ref, environment=environment, sets=sets)
    return rendered, validate_rendered(rendered)


@dataclass
class Planned:
    """A validated environment, the cluster it targets, what is live there, and the plan."""

    rendered: RenderResult
    findings: list[Finding]
    connection: Connection
    live: LiveState
    plan: Plan
    overlay: Overlay  # the rollout overlay the plan used; apply re-plans with the same one
    ignore: list[IgnoreRule]  # meshops.yaml `ignore:`, read once for the plan and for apply's re-plans
    owner: Owner  # the repository and environment the plan was made for
    scope: Scope  # where it may write and prune

    @property
    def api(self) -> KubeApi:
        return self.connection.api

    @property
    def discovery(self) -> Discovery:
        return self.connection.discovery


class OutOfScope(ConfigError):
    """A rendered object lies outside the namespaces the operator allows: nothing is read or written."""


def check_scope(rendered: RenderResult, scope: Scope, discovery: Discovery) -> None:
    """Refuse, before the cluster is even read, any rendered object outside `scope` (see `model.scope`)."""
    for manifest in rendered.manifests:
        row = kinds.lookup(manifest.key.group, manifest.kind)
        if row is not None:
            namespaced = row.namespaced
        else:
            resource = discovery.resolve(manifest.api_version, manifest.kind)
            if resource is None:
                continue  # not served: the read that follows says so
            namespaced = resource.namespaced
        problem = scope.write_problem(manifest.key, namespaced=namespaced)
        if problem:
            raise OutOfScope(
                f"{manifest.key}: {problem}",
                location=manifest.location(),
                hint=f"render it into an allowed namespace, or ask whoever runs meshops to allow it ({ALLOW_LIST_FLAG} / "
                     f"{ALLOW_LIST_ENV}); nothing was written",
            )


def plan_rendered(rendered: RenderResult, connection: Connection, *, adopt: bool = False,
                  prune_namespaces: bool = False) -> Planned:
    """Check the scope, read the cluster once, validate against it, and plan; no write happens here."""
    from ..rollout.overlay import make_overlay

    environment = rendered.environment
    offline = validate_rendered(rendered)
    owner = owner_of(connection.target, rendered)
    scope = scope_of(connection.target, rendered)
    check_scope(rendered, scope, connection.discovery)
    live = read_live(connection.api, connection.discovery, desired=rendered.manifests, environment=environment, scope=scope)
    findings = revalidate_with_live(rendered, offline, live.lookup_objects())
    overlay = make_overlay(rendered.config, revision=rendered.revision)
    ignore = ignore_rules(rendered.config.section("ignore"))
    plan = make_plan(rendered.manifests, live.objects, owner=owner, scope=scope, revision=rendered.revision,
                     ignore=ignore, overlay=overlay, adopt=adopt, prune_namespaces=prune_namespaces)
    return Planned(rendered, findings, connection, live, plan, overlay, ignore, owner, scope)


class MissingNamespace(ClusterError):
    """Objects are rendered into a namespace that neither exists nor is rendered: nothing is written."""


def require_namespaces(planned: Planned) -> None:
    """Refuse to start writing when objects target namespaces that exist nowhere (nothing half-applied)."""
    missing = missing_namespaces(planned.rendered.manifests, planned.live)
    if missing:
        namespace, keys = sorted(missing.items())[0]
        raise MissingNamespace(
            f"namespace {namespace!r} does not exist in the cluster ({planned.connection.label}) and is not rendered; "
            f"{len(keys)} objects would fail, e.g. {keys[0]}",
            hint="create the namespace (or install Istio for istio-system), or render a Namespace object; nothing was written",
        )
