"""Use case: plan an environment — render, validate, read the cluster once, compare.

`diff`, `apply`, `reconcile` and the controller all start here, which guarantees that nothing
reaches a cluster before the rendered objects passed validation, and that validation sees the
same live objects (Services, subsets with their pods) the plan is made against.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..cluster.api import KubeApi, RetryPolicy
from ..cluster.discovery import Discovery
from ..cluster.live import LiveState, missing_namespaces, read_live
from ..cluster.target import Connection
from ..diff.normalize import IgnoreRule, ignore_rules
from ..diff.plan import Plan, make_plan
from ..model import kinds
from ..model.errors import ClusterError, ConfigError
from ..model.identity import Overlay, Owner
from ..model.readscope import OFFLINE, LiveScope
from ..model.scope import ALLOW_LIST_ENV, ALLOW_LIST_FLAG, Scope
from ..render import RenderResult
from ..validate.findings import Finding, has_errors
from ..yamlio.gcpause import paused_gc
from .manifest_cache import ManifestCache
from .operator import Operator
from .rendering import InvalidConfig, render_validated, unknown_kinds, validate_rendered  # the first half of every plan
from .targets import owner_of, scope_of, target_of

# Schema findings (MSH1xx) judge each object alone: a cluster's objects cannot change them.
SCHEMA_CODE_PREFIX = "MSH1"


def validate_with_cluster_crds(rendered: RenderResult, connection: Connection) -> list[Finding]:
    """`validate_rendered`; when its only errors are kinds the offline schemas do not know, the
    cluster's CRDs for those kinds (one GET each) validate them instead, as `validate --context` does."""
    from ..cluster.live import read_crd
    from ..validate.schemas import SchemaSet

    try:
        return validate_rendered(rendered)
    except InvalidConfig as invalid:
        unknown = unknown_kinds(invalid.findings)
        if unknown is None:
            raise
        crds = []
        for manifest in rendered.manifests:
            if manifest.key in unknown:
                resource = connection.discovery.resolve(manifest.api_version, manifest.kind)
                crd = read_crd(connection.api, resource) if resource is not None else None
                if crd is None:
                    raise
                crds.append(crd)
        return validate_rendered(rendered, cluster_schemas=SchemaSet.from_crds(crds, source=f"cluster ({connection.label})"))


def revalidate_with_live(rendered: RenderResult, offline: list[Finding], live: list[dict] | None,
                         read_scope: LiveScope = OFFLINE) -> list[Finding]:
    """The cross-resource checks again, with the cluster's objects as context (hosts from live
    Services, subsets and selectors with pods, gateway credentials, all read within `read_scope`);
    InvalidConfig on errors. Schema findings do not depend on the cluster and are kept from the offline run."""
    from ..validate import validate

    if live is None:
        return offline
    with_live = validate(rendered.manifests, config=rendered.config, live=live, read_scope=read_scope)
    if has_errors(with_live):
        raise InvalidConfig(with_live)
    return [finding for finding in offline if finding.code.startswith(SCHEMA_CODE_PREFIX)] + with_live


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


def plan_rendered(rendered: RenderResult, connection: Connection, *, adopt: bool = False, prune_namespaces: bool = False,
                  offline: list[Finding] | None = None, cache: ManifestCache | None = None) -> Planned:
    """Check the scope, read the cluster once, validate against it, and plan; no write happens here.
    With `adopt`, objects nobody claims are planned as updates that take them over (`diff.plan`).

    `offline`: the findings of `validate_rendered` when the caller already has them (a manifest
    cache hit); without them, validation runs here, after connecting, so a kind only the cluster's
    CRDs know is checked against them (`validate_with_cluster_crds`). The checks with the live
    objects run unless the `cache` kept their findings for this very render against these very
    objects read within this very scope; findings that came from the cluster's CRDs are never kept.
    """
    from ..rollout.overlay import make_overlay

    environment = rendered.environment
    keep = cache if offline is not None else None  # offline findings from the cluster's CRDs depend on the cluster
    if offline is None:
        offline = validate_with_cluster_crds(rendered, connection)
    owner = owner_of(connection.target, rendered)
    scope = scope_of(connection.target, rendered)
    check_scope(rendered, scope, connection.discovery)
    # Live objects, their normalized copies and the plan are acyclic: the cyclic GC only walks them.
    with paused_gc():
        live = read_live(connection.api, connection.discovery, desired=rendered.manifests, environment=environment,
                         scope=scope)
        lookup = live.lookup_objects()
        findings = keep.live_findings(rendered, lookup, live.read_scope) if keep is not None else None
        if findings is None:
            findings = revalidate_with_live(rendered, offline, lookup, live.read_scope)
            if keep is not None:
                keep.keep_live_findings(rendered, lookup, live.read_scope, findings)
        overlay = make_overlay(rendered.config, revision=rendered.revision)
        ignore = ignore_rules(rendered.config.section("ignore"))
        plan = make_plan(rendered.manifests, live.objects, owner=owner, scope=scope, revision=rendered.revision,
                         ignore=ignore, overlay=overlay, adopt=adopt, prune_namespaces=prune_namespaces)
    return Planned(rendered, findings, connection, live, plan, overlay, ignore, owner, scope)


def plan_environment(
    *,
    repo: str,
    ref: str | None,
    environment: str,
    sets: tuple[str, ...] = (),
    operator: Operator = Operator(),
    adopt: bool = False,
    prune_namespaces: bool = False,
    retry: RetryPolicy = RetryPolicy(),
    cache: ManifestCache | None = None,
) -> Planned:
    """Render and validate (through the manifest `cache`, when given), connect to the environment's cluster,
    and plan (`meshops diff`, `meshops adopt`)."""
    rendered, offline = render_validated(repo=repo, ref=ref, environment=environment, sets=sets, cache=cache)
    connection = target_of(rendered.config, operator).connect(retry=retry)
    return plan_rendered(rendered, connection, adopt=adopt, prune_namespaces=prune_namespaces, offline=offline, cache=cache)


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
