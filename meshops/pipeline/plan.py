"""The pipeline as calls the commands share: source -> render -> validate -> live -> plan.

`diff`, `apply`, `reconcile` and the controller all need the same first steps; doing them here
keeps the CLI a thin layer and guarantees that nothing reaches a cluster before validation passed.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..cluster.api import KubeApi, RetryPolicy
from ..cluster.connect import connect
from ..cluster.discovery import Discovery
from ..cluster.live import LiveState, missing_namespaces, read_live
from ..diff.normalize import ignore_rules
from ..diff.plan import Plan, make_plan
from ..model.identity import Overlay
from ..model.errors import ClusterError, ConfigError
from ..render import RenderResult, render
from ..source.repo import open_source
from ..validate.findings import Finding, Severity, has_errors


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


def render_and_validate(*, repo: str, ref: str | None, environment: str, sets: tuple[str, ...] = ()) -> tuple[RenderResult, list[Finding]]:
    """Render an environment and validate it offline; raise InvalidConfig on error findings."""
    from ..validate import validate
    from ..validate.schemas import SchemaSet

    from ..rollout.policy import check_policies

    rendered = render(open_source(repo, ref), environment, sets)
    check_policies(rendered.config)  # a broken rollout policy is found before the first write, not mid-rollout
    findings = validate(rendered.manifests, schemas=SchemaSet.shipped(), config=rendered.config)
    if has_errors(findings):
        raise InvalidConfig(findings)
    return rendered, findings


@dataclass
class Planned:
    """A validated environment, the cluster it targets, what is live there, and the plan."""

    rendered: RenderResult
    findings: list[Finding]
    api: KubeApi
    discovery: Discovery
    live: LiveState
    plan: Plan
    overlay: Overlay  # the rollout overlay the plan used; apply re-plans with the same one


def plan_environment(
    *,
    repo: str,
    ref: str | None,
    environment: str,
    sets: tuple[str, ...] = (),
    kubeconfig: str | None = None,
    context: str | None = None,
    retry: RetryPolicy = RetryPolicy(),
) -> Planned:
    """Everything up to the plan; no write happens here."""
    from ..rollout.overlay import make_overlay

    rendered, findings = render_and_validate(repo=repo, ref=ref, environment=environment, sets=sets)
    api = connect(kubeconfig=kubeconfig, context=context, config=rendered.config, retry=retry)
    discovery = Discovery(api)
    live = read_live(api, discovery, desired=rendered.manifests, environment=environment)
    overlay = make_overlay(rendered.config, revision=rendered.revision)
    plan = make_plan(
        rendered.manifests,
        live.objects,
        environment=environment,
        revision=rendered.revision,
        ignore=ignore_rules(rendered.config.section("ignore")),
        overlay=overlay,
    )
    return Planned(rendered, findings, api, discovery, live, plan, overlay)


def require_namespaces(planned: Planned) -> None:
    """Refuse to start writing when objects target namespaces that exist nowhere (nothing half-applied)."""
    missing = missing_namespaces(planned.rendered.manifests, planned.live)
    if missing:
        namespace, keys = sorted(missing.items())[0]
        raise ClusterError(
            f"namespace {namespace!r} does not exist in the cluster ({planned.api.label}) and is not rendered; "
            f"{len(keys)} objects would fail, e.g. {keys[0]}",
            hint="create the namespace (or install Istio for istio-system), or render a Namespace object; nothing was written",
        )
