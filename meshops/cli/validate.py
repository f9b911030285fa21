"""`meshops validate`: the validate stage on the command line.

Renders an environment (or reads `-f` manifest files), picks the schemas (`--crds` files over the
ones meshops ships), runs every check and prints the findings as text, JSON or GitHub annotations.
Exit codes are the same in every format: 0 without error-level findings (warnings and info are
fine), 1 with at least one unsuppressed error, 2 or more when meshops could not do its job.
"""
from __future__ import annotations

import json
import os
import sys

import click

from ..errors import ExitCode, UsageError
from .common import output_option, ref_option, repo_option, set_option


@click.command()
@click.option("--env", "environment", default=None, metavar="ENV",
              help="Environment to render and validate (with -f: only its meshops.yaml settings are used).")
@repo_option
@ref_option
@set_option
@click.option("-f", "--filename", "files", multiple=True, type=click.Path(), metavar="PATH",
              help="Validate manifest files or directories as they are, instead of rendering; may be repeated.")
@click.option("--crds", multiple=True, type=click.Path(), metavar="PATH",
              help="CRD files or directories to take schemas from (default: the schemas meshops ships).")
@click.option("--kubeconfig", default=None, metavar="FILE", help="Kubeconfig of the cluster to check against.")
@click.option("--context", "kube_context", default=None, metavar="NAME", help="Kubeconfig context to use.")
@click.option("--list-codes", is_flag=True, help="Print the catalogue of finding codes and exit.")
@output_option("text", "json", "github", default="text")
def validate(
    environment: str | None,
    repo: str,
    ref: str | None,
    sets: tuple[str, ...],
    files: tuple[str, ...],
    crds: tuple[str, ...],
    kubeconfig: str | None,
    kube_context: str | None,
    list_codes: bool,
    output: str,
) -> None:
    """Check rendered manifests (or files) for schema errors, broken references and risky policies.

    \b
    Examples:
      meshops validate --env prod
      meshops validate --env staging -o github        annotations for a pull request
      meshops validate -f legacy/ --crds crds/        existing YAML, against these CRDs
      meshops validate --list-codes                   every finding code and its severity
    """
    if list_codes:
        click.echo(_catalogue_text(output), nl=False)
        return
    live = _live_objects(kubeconfig=kubeconfig, kube_context=kube_context)
    if not environment and not files:
        raise UsageError("nothing to validate", hint="pass --env ENV for a rendered environment, or -f PATH for manifest files")
    if files and sets:
        raise UsageError("--set applies to rendering, not to -f files", hint="drop --set, or validate --env without -f")

    from ..validate import has_errors, sort_findings, validate as run_validate

    manifests, findings, config, base = _inputs(environment=environment, repo=repo, ref=ref, sets=sets, files=files)
    findings = sort_findings(findings + run_validate(manifests, schemas=_schema_set(crds), config=config, live=live))
    click.echo(_format(findings, output=output, base=base), nl=False)
    if has_errors(findings):
        sys.exit(ExitCode.CHANGES_OR_FINDINGS)


def _inputs(*, environment: str | None, repo: str, ref: str | None, sets: tuple[str, ...], files: tuple[str, ...]):
    """(manifests, findings from reading them, meshops.yaml settings, directory their paths are relative to)."""
    from ..source import open_source

    if files:
        from ..config import load_env_config
        from ..validate.files import load_manifest_paths  # the schema half reads -f files

        manifests, findings = load_manifest_paths(list(files))
        config = load_env_config(open_source(repo, ref).tree, environment) if environment else None
        return manifests, findings, config, None
    from ..render import render

    result = render(open_source(repo, ref), environment, sets)
    return result.manifests, [], result.config, os.path.relpath(repo)


def _live_objects(*, kubeconfig: str | None, kube_context: str | None) -> list[dict] | None:
    """The cluster's objects the checks look up (Services, ServiceEntries, DestinationRules, Gateways,
    VirtualServices, policies, Telemetry, Pods), or None offline.

    Seam for the cluster client (meshops.cluster): list each kind per namespace and return the
    object dicts; the cluster's CRDs then also become the schemas (`SchemaSet.from_crds`).
    """
    if not kubeconfig and not kube_context:
        return None
    raise UsageError(
        "reading live objects and CRDs from a cluster is not supported yet",
        hint="drop --kubeconfig/--context to validate offline, against the shipped schemas or --crds",
    )


def _schema_set(crds: tuple[str, ...]):
    """The schemas to check against: `--crds` files over the shipped ones; None when this build has no schema checks."""
    try:
        from ..validate.schemas import SchemaSet
    except ModuleNotFoundError as error:
        if error.name != "meshops.validate.schemas":
            raise
        if crds:
            raise UsageError("--crds needs the schema checks, which this build of meshops does not include") from None
        return None
    shipped = SchemaSet.shipped()
    return SchemaSet.from_crd_files(list(crds)).overlay(shipped) if crds else shipped


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
        return json.dumps([{"code": r.code, "severity": r.severity.value, "title": r.title} for r in rows], indent=2) + "\n"
    return "".join(f"{r.code}  {r.severity.value:<7}  {r.title}\n" for r in rows)
