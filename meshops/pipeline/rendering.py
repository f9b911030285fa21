"""Use case: render an environment and validate it offline, through the manifest cache.

The first half of every plan (`pipeline.plan`), and all of `meshops render`: nothing here needs a
cluster, so these commands import no cluster code. `render_validated` guarantees that what it
returns passed offline validation (InvalidConfig otherwise), or that its only errors are kinds the
offline schemas do not know (findings None: the plan checks them with the cluster's CRDs); with a `ManifestCache`, a hit skips
templating and validation, a miss is rendered through a tree that records what it reads and kept
only when the cache key covers all of it.
"""
from __future__ import annotations

from typing import Any

from ..model.errors import ConfigError
from ..model.manifest import ObjectKey
from ..render import RenderResult, render
from ..render.plain import Skipped
from ..source.repo import Source, open_source
from ..validate.findings import Finding, Severity, has_errors
from .manifest_cache import ManifestCache, reads_only_inputs, recording


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


def _check_config(rendered: RenderResult) -> RenderResult:
    """The environment's rollout policy and `prometheus:` section checked (a broken one is found before any write)."""
    from ..rollout.policy import check_policies
    from .prometheus import check_repo_section

    check_policies(rendered.config)
    check_repo_section(rendered.config)
    return rendered


def _render(source: Source, environment: str, sets: tuple[str, ...]) -> RenderResult:
    return _check_config(render(source, environment, sets))


def render_environment(*, repo: str, ref: str | None, environment: str, sets: tuple[str, ...] = ()) -> RenderResult:
    """Render an environment and check its rollout policy and `prometheus:` section (before any write)."""
    return _render(open_source(repo, ref), environment, sets)


def render_validated(*, repo: str, ref: str | None, environment: str, sets: tuple[str, ...] = (),
                     cache: ManifestCache | None = None) -> tuple[RenderResult, list[Finding] | None]:
    """Render, check the rollout policy and prometheus section and validate offline (InvalidConfig on errors), as `render_environment`
    and `validate_rendered` do; with a `cache`, a hit skips all three and a miss is stored once it passed.

    The findings are None when the only errors are kinds the offline schemas do not know (`unknown_kinds`):
    the plan validates those objects with the cluster's CRDs once connected (`plan.validate_with_cluster_crds`),
    so such findings depend on a cluster and are never kept (the render alone is)."""
    source = open_source(repo, ref)
    key = cache.key(source, repo=repo, environment=environment, sets=sets) if cache is not None else None
    if key is None:
        rendered = _render(source, environment, sets)
        return rendered, _validated_offline(rendered)
    hit = cache.load(key, source, environment=environment)
    if hit is not None and hit.findings is not None:
        return hit.rendered, hit.findings
    recorded, tree = recording(source)
    if hit is not None:  # kept by `meshops render` (or deferred to the cluster's CRDs): policy and prometheus unchecked
        rendered = _check_config(hit.rendered)
        rendered.tree = tree  # validation reads the repo's crds/ through it
    else:
        rendered = _render(recorded, environment, sets)
    findings = _validated_offline(rendered)
    if reads_only_inputs(tree, environment) and (hit is None or findings is not None):
        cache.store(key, rendered, findings=findings)
    rendered.tree = source.tree
    return rendered, findings


def _validated_offline(rendered: RenderResult) -> list[Finding] | None:
    """`validate_rendered`, or None when its only errors are kinds a cluster's CRDs may know (`unknown_kinds`)."""
    try:
        return validate_rendered(rendered)
    except InvalidConfig as invalid:
        if unknown_kinds(invalid.findings) is None:
            raise
        return None


def render_cached(*, repo: str, ref: str | None, environment: str, sets: tuple[str, ...] = (),
                  cache: ManifestCache | None = None) -> RenderResult:
    """Render (no validation: `meshops render`) through the manifest cache."""
    source = open_source(repo, ref)
    key = cache.key(source, repo=repo, environment=environment, sets=sets) if cache is not None else None
    return _rendered(source, key=key, cache=cache, environment=environment, sets=sets)


def render_text(*, repo: str, ref: str | None, environment: str, sets: tuple[str, ...] = (),
                cache: ManifestCache | None = None) -> tuple[str, int, list[Skipped]]:
    """`meshops render`'s YAML, the number of objects in it and the files not rendered; the cache keeps
    all three, so a hit prints the text (and names the same files) without building a single object."""
    source = open_source(repo, ref)
    key = cache.key(source, repo=repo, environment=environment, sets=sets) if cache is not None else None
    kept = cache.load_text(key) if key is not None else None
    if kept is not None:
        return kept
    rendered = _rendered(source, key=key, cache=cache, environment=environment, sets=sets)
    text = rendered.to_yaml()
    if key is not None and cache.knows(rendered):
        cache.store_text(key, text, len(rendered.manifests), rendered.skipped)
    return text, len(rendered.manifests), rendered.skipped


def _rendered(source: Source, *, key: str | None, cache: ManifestCache | None, environment: str,
              sets: tuple[str, ...]) -> RenderResult:
    """The render of `source`: the cache's entry, or rendered now (and kept when the key covers what it read)."""
    hit = cache.load(key, source, environment=environment) if key is not None else None
    if hit is not None:
        return hit.rendered
    recorded, tree = recording(source)
    rendered = render(recorded, environment, sets)
    if key is not None and reads_only_inputs(tree, environment):
        cache.store(key, rendered, findings=None)
    rendered.tree = source.tree
    return rendered


def validate_rendered(rendered: RenderResult, *, cluster_schemas: Any = None) -> list[Finding]:
    """Every finding for the rendered objects, offline (plus `cluster_schemas`, a SchemaSet of the
    cluster's CRDs, when given); InvalidConfig on errors (before any cluster is touched)."""
    from ..validate import validate
    from ..validate.schemas.repo import schemas_for

    schemas = schemas_for(rendered.tree, rendered.environment, cluster=cluster_schemas)
    findings = validate(rendered.manifests, schemas=schemas, config=rendered.config)
    if has_errors(findings):
        raise InvalidConfig(findings)
    return findings


def unknown_kinds(findings: list[Finding]) -> set[ObjectKey] | None:
    """The objects whose only errors are "kind not known to these schemas" (MSH103), or None when
    other errors exist too: those objects may be served by a CRD of the cluster meshops ships no schema for."""
    from ..validate.schema_checks import CODE_UNKNOWN_KIND

    errors = [f for f in findings if f.severity is Severity.ERROR and not f.suppressed_by]
    if not errors or any(f.code != CODE_UNKNOWN_KIND or f.object is None for f in errors):
        return None
    return {f.object for f in errors}
