"""`meshops validate`: the validate stage on the command line.

Renders an environment (or reads `-f` manifest files), picks the schemas (`--crds` files over the
ones meshops ships), runs every check and prints the findings as text, JSON or GitHub annotations.
Exit codes are the same in every format: 0 without error-level findings (warnings and info are
fine), 1 with at least one unsuppressed error, 2 or more when meshops could not do its job.
Validate touches a cluster only when asked (`--live`, `--kubeconfig`, `--context`) and says on
stderr whether it did: pull requests validate an untrusted repository, offline.
"""
from __future__ import annotations

import json
import os
import sys

import click

from ..model.errors import ExitCode, UsageError
from .common import output_option, ref_option, render_budget_options, repo_option, set_option


@click.command()
@click.option("--env", "environment", default=None, metavar="ENV",
              help="Environment to render and validate (with -f: only its meshops.yaml settings are used).")
@repo_option
@ref_option
@set_option
@render_budget_options
@click.option("-f", "--filename", "files", multiple=True, type=click.Path(), metavar="PATH",
              help="Validate manifest files or directories as they are, instead of rendering; may be repeated.")
@click.option("--crds", multiple=True, type=click.Path(), metavar="PATH",
              help="CRD files or directories to take schemas from (default: the schemas meshops ships).")
@click.option("--live", is_flag=True,
              help="Also check against the environment's cluster (its CRDs and live objects): meshops.yaml "
                   "cluster.context in $KUBECONFIG. Without it (or --kubeconfig/--context) no cluster is contacted.")
@click.option("--kubeconfig", default=None, metavar="FILE", help="Kubeconfig of the cluster to check against (implies --live).")
@click.option("--context", "kube_context", default=None, metavar="NAME", help="Kubeconfig context to use (implies --live).")
@click.option("--list-codes", is_flag=True, help="Print the catalogue of finding codes and exit.")
@output_option("text", "json", "github", default="text")
def validate(
    environment: str | None,
    repo: str,
    ref: str | None,
    sets: tuple[str, ...],
    files: tuple[str, ...],
    crds: tuple[str, ...],
    live: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    list_codes: bool,
    output: str,
) -> None:
    """Check rendered manifests (or files) for schema errors, broken references and risky policies.

    \b
    Examples:
      meshops validate --env prod
      meshops validate --env prod --live               also against prod's cluster
      meshops validate --env staging -o github        annotations for a pull request
      meshops validate -f legacy/ --crds crds/        existing YAML, against these CRDs
      meshops validate --list-codes                   every finding code and its severity
    """
    if list_codes:
        click.echo(_catalogue_text(output), nl=False)
        return
    if not environment and not files:
        raise UsageError("nothing to validate", hint="pass --env ENV for a rendered environment, or -f PATH for manifest files")
    if files and sets:
        raise UsageError("--set applies to rendering, not to -f files", hint="drop --set, or validate --env without -f")

    from ..validate import has_errors, sort_findings, validate as run_validate
    from ..validate.schemas.repo import schemas_for

    from ..model.readscope import OFFLINE

    manifests, findings, config, base, tree = _inputs(environment=environment, repo=repo, ref=ref, sets=sets, files=files)
    api = _cluster(kubeconfig=kubeconfig, kube_context=kube_context, live=live, config=config, files=bool(files))
    live, cluster_schemas, read_scope = _live_inputs(api, manifests) if api is not None else (None, None, OFFLINE)
    schemas = schemas_for(tree, environment, crd_files=crds, cluster=cluster_schemas)
    findings = sort_findings(findings + run_validate(manifests, schemas=schemas, config=config, live=live, read_scope=read_scope))
    click.echo(_format(findings, output=output, base=base), nl=False)
    if has_errors(findings):
        sys.exit(ExitCode.CHANGES_OR_FINDINGS)


def _inputs(*, environment: str | None, repo: str, ref: str | None, sets: tuple[str, ...], files: tuple[str, ...]):
    """(manifests, findings from reading them, meshops.yaml settings, base dir of their paths, the repo tree).

    A config that cannot be rendered (broken values YAML, an undefined template value …) is the
    user's config being wrong: it becomes an MSH100 finding (exit 1), not a failure of meshops.
    """
    from ..source.envconfig import load_env_config
    from ..model.errors import ConfigError
    from ..source.repo import open_source

    if files:
        from ..validate.manifest_files import load_manifest_paths

        manifests, findings = load_manifest_paths(list(files))
        tree = open_source(repo, ref).tree if environment else None
        config = load_env_config(tree, environment) if environment else None
        return manifests, findings, config, None, tree
    from ..render import render
    from ..model.errors import Location
    from ..validate.schema_checks import CODE_NOT_RENDERED, CODE_PARSE_ERROR, make_finding

    source = open_source(repo, ref)
    try:
        result = render(source, environment, sets)
    except ConfigError as error:
        message = error.message + (f"; {error.hint}" if error.hint else "")
        finding = make_finding(CODE_PARSE_ERROR, message, obj=None, locations=[error.location] if error.location else [])
        return [], [finding], None, os.path.relpath(repo), source.tree
    skipped = [make_finding(CODE_NOT_RENDERED, f"not rendered: {entry.reason}", obj=None, locations=[Location(entry.path)])
               for entry in result.skipped]
    return result.manifests, skipped, result.config, os.path.relpath(repo), source.tree


def _cluster(*, kubeconfig: str | None, kube_context: str | None, live: bool, config, files: bool):
    """A KubeApi when asked for one (--live, --kubeconfig, --context), else None; says which on stderr.

    Never on its own: the repository being validated may be a pull request's, and whatever
    cluster or credentials it names must not be contacted because it names them. Asked for,
    the cluster must work (an unreachable one is exit 3, not a silent offline run).
    """
    from ..cluster.target import Target
    from ..pipeline.operator import Operator
    from ..pipeline.targets import target_of

    if not (live or kubeconfig or kube_context):
        if not files:
            click.echo("note: validating offline, no cluster contacted (--live also checks against the environment's cluster)",
                       err=True)
        return None
    operator = Operator(kubeconfig=kubeconfig, context=kube_context)
    target = target_of(config, operator) if config else Target(environment="", kubeconfig=kubeconfig, context=kube_context)
    api = target.connect().api
    click.echo(f"note: validating against the cluster ({api.label})", err=True)
    return api


def _live_inputs(api, manifests):
    """(live objects for lookups, the cluster's CRDs as schemas — any kind a CRD serves is checked by
    it —, and what was read: every pod, and the Secrets where the rendered Gateways' pods run)."""
    from ..cluster.discovery import Discovery
    from ..cluster.live import gateway_namespaces, read_for_lookup, read_secret_keys
    from ..model.readscope import LiveScopeBuilder
    from ..validate.schemas import SchemaSet
    from ..validate.schemas.crd import crd_documents
    from ..validate.schemas.repo import list_cluster_crds

    live = read_for_lookup(api, Discovery(api))
    read_scope = LiveScopeBuilder(pods_everywhere=True)
    pods = [obj for obj in live if obj.get("kind") == "Pod"]
    live += read_secret_keys(api, gateway_namespaces(manifests, pods), read_scope)
    crds = crd_documents(list_cluster_crds(api.client))
    return live, (SchemaSet.from_crds(crds, source=f"cluster ({api.label})") if crds else None), read_scope.freeze()


def _format(findings, *, output: str, base: str | None) -> str:
    from ..validate import report

    if output == "json":
        return report.format_json(findings, base=base)
    if output == "github":
        return report.format_github(findings, base=base)
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    return report.format_text(findings, color=color, base=base)


def _catalogue_text(output: str) -> str:
    from ..validate.catalogue import catalogue

    rows = catalogue().values()
    if output == "json":
        return json.dumps([{"code": r.code, "severity": r.severity.value, "title": r.title, "istioctl": r.istioctl or None}
                           for r in rows], indent=2) + "\n"
    return "".join(f"{r.code}  {r.severity.value:<7}  {r.title}" + (f"  [istioctl: {r.istioctl}]" if r.istioctl else "") + "\n"
                   for r in rows)
