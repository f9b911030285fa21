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
from ..model.errors import ClusterError, ConfigError
from ..model.identity import Overlay
from ..render import RenderResult, render
from ..source.repo import Source, open_source
from ..validate.findings import Finding, Severity, has_errors
from .manifest_cache import ManifestCache, reads_only_inputs, recording
from .targets import target_of

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


def _render(source: Source, environment: str, sets: tuple[str, ...]) -> RenderResult:
    from ..rollout.policy import check_policies

    rendered = render(source, environment, sets)
    check_policies(rendered.config)
    return rendered


def render_environment(*, repo: str, ref: str | None, environment: str, sets: tuple[str, ...] = ()) -> RenderResult:
    """Render an environment and check its rollout policy (a broken policy is found before any write)."""
    return _render(open_source(repo, ref), environment, sets)


def render_validated(*, repo: str, ref: str | None, environment: str, sets: tuple[str, ...] = (),
                     cache: ManifestCache | None = None) -> tuple[RenderResult, list[Finding]]:
    """Render, check the rollout policy and validate offline (InvalidConfig on errors), as `render_environment`
    and `validate_rendered` do; with a `cache`, a hit skips all three and a miss is stored once it passed."""
    source = open_source(repo, ref)
    key = cache.key(source, repo=repo, environment=environment, sets=sets) if cache is not None else None
    if key is None:
        rendered = _render(source, environment, sets)
        return rendered, validate_rendered(rendered)
    hit = cache.load(key, source, environment=environment)
    if hit is not None and hit.findings is not None:
        return hit.rendered, hit.findings
    recorded, tree = recording(source)
    if hit is not None:
        rendered = hit.rendered
        rendered.tree = tree  # validation reads the repo's crds/ through it
    else:
        rendered = _render(recorded, environment, sets)
    findings = validate_rendered(rendered)
    if reads_only_inputs(tree, environment):
        cache.store(key, rendered, findings=findings, text=hit.text if hit is not None else None)
    rendered.tree = source.tree
    return rendered, findings


def render_text(*, repo: str, ref: str | None, environment: str, sets: tuple[str, ...] = (),
                cache: ManifestCache | None = None, yaml_text: bool = True) -> tuple[RenderResult, str | None]:
    """Render (no validation) through the manifest cache; with `yaml_text`, also `to_yaml()` (kept with the entry)."""
    source = open_source(repo, ref)
    key = cache.key(source, repo=repo, environment=environment, sets=sets) if cache is not None else None
    hit = cache.load(key, source, environment=environment) if key is not None else None
    if hit is not None and (hit.text is not None or not yaml_text):
        return hit.rendered, hit.text
    recorded, tree = recording(source)
    rendered = hit.rendered if hit is not None else render(recorded, environment, sets)
    text = rendered.to_yaml() if yaml_text else None
    if key is not None and reads_only_inputs(tree, environment):
        cache.store(key, rendered, findings=hit.findings if hit is not None else None, text=text)
    rendered.tree = source.tree
    return rendered, text


def validate_rendered(rendered: RenderResult) -> list[Finding]:
    """Every finding for the rendered objects, offline; InvalidConfig on errors (before any cluster is touched)."""
    from ..validate import validate
    from ..validate.schemas.repo import schemas_for

    schemas = schemas_for(rendered.tree, rendered.environment)
    findings = validate(rendered.manifests, schemas=schemas, config=rendered.config)
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

    @property
    def api(self) -> KubeApi:
        return self.connection.api

    @property
    def discovery(self) -> Discovery:
        return self.connection.discovery


def plan_rendered(rendered: RenderResult, connection: Connection, *, offline: list[Finding] | None = None,
                  cache: ManifestCache | None = None) -> Planned:
    """Read the cluster once, validate against it, and plan; no write happens here.

    `offline`: the findings of `validate_rendered` when the caller already has them (a manifest
    cache hit). The checks with the live objects run unless the `cache` kept their findings for
    this very render against these very objects.
    """
    from ..rollout.overlay import make_overlay

    environment = rendered.environment
    if offline is None:
        offline = validate_rendered(rendered)
    live = read_live(connection.api, connection.discovery, desired=rendered.manifests, environment=environment)
    lookup = live.lookup_objects()
    findings = cache.live_findings(rendered, lookup) if cache is not None else None
    if findings is None:
        findings = revalidate_with_live(rendered, offline, lookup)
        if cache is not None:
            cache.keep_live_findings(rendered, lookup, findings)
    overlay = make_overlay(rendered.config, revision=rendered.revision)
    ignore = ignore_rules(rendered.config.section("ignore"))
    plan = make_plan(rendered.manifests, live.objects, environment=environment, revision=rendered.revision,
                     ignore=ignore, overlay=overlay)
    return Planned(rendered, findings, connection, live, plan, overlay, ignore)


def plan_environment(
    *,
    repo: str,
    ref: str | None,
    environment: str,
    sets: tuple[str, ...] = (),
    kubeconfig: str | None = None,
    context: str | None = None,
    retry: RetryPolicy = RetryPolicy(),
    cache: ManifestCache | None = None,
) -> Planned:
    """Render and validate (through the manifest `cache`, when given), connect to the environment's cluster, and plan (`meshops diff`)."""
    rendered, offline = render_validated(repo=repo, ref=ref, environment=environment, sets=sets, cache=cache)
    connection = target_of(rendered.config, kubeconfig=kubeconfig, context=context).connect(retry=retry)
    return plan_rendered(rendered, connection, offline=offline, cache=cache)


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
