"""`meshops reconcile`: fetch the config repo and reconcile environments in promotion order."""
from __future__ import annotations

import json
import sys
from typing import Callable

import click

from .common import DURATION, REVISION, operator_options, output_option, prune_options, render_budget_options, rollout_access_options

F = Callable[..., object]


def git_source_options(function: F) -> F:
    """--repo, --ref/--branch's sibling options and --cache-dir: where the config comes from."""
    function = click.option("--cache-dir", default=None, metavar="DIR",
                            help="Where bare mirrors of config repos are kept (default: ~/.cache/meshops/repos).")(function)
    return click.option("--repo", default=".", show_default=True, metavar="URL|DIR",
                        help="Config repository: a local path, file://, https:// or ssh URL (mirrored, never checked out).")(function)


def environment_selection(function: F) -> F:
    """--env (repeatable) and --all."""
    function = click.option("--all", "all_environments", is_flag=True, help="Every environment, in promotion order.")(function)
    return click.option("--env", "environments", multiple=True, metavar="ENV",
                        help="Environment to reconcile; may be repeated (run in promotion order).")(function)


def lock_options(function: F) -> F:
    function = click.option("--lease-duration", default="30s", show_default=True, type=DURATION, metavar="DURATION",
                            help="How long a lock holder that stopped renewing keeps its Lease.")(function)
    return click.option("--lock-timeout", default="60s", show_default=True, type=DURATION, metavar="DURATION",
                        help="How long to wait for another reconcile of the same environment before giving up.")(function)


def no_prune_option(function: F) -> F:
    return click.option("--no-prune", is_flag=True, help="Never delete objects git no longer renders.")(function)


def operator_fields(*, allowed_namespaces, owner_id, no_prune, prune_namespaces, max_prune_percent, access, adopt=False,
                   allow_mass_prune=False) -> dict:
    """The Settings fields of the operator, rollout access and prune options (serve and the controller pass no
    adopt/mass flags)."""
    from ..apply.brakes import PruneBrake
    from ..model.scope import AllowList
    from ..pipeline.operator import Operator

    Operator(owner_id=owner_id)  # a malformed --owner-id is a usage error before anything starts
    return {"allowed": AllowList.parse(allowed_namespaces), "owner_id": owner_id, "prune": not no_prune,
            "prune_namespaces": prune_namespaces, "adopt": adopt,
            "brake": PruneBrake(max_percent=max_prune_percent, allow_mass_prune=allow_mass_prune),
            "prometheus": access.prometheus, "secrets": access.secrets}


def selected(environments: tuple[str, ...], all_environments: bool, *, required: bool) -> tuple[str, ...]:
    from ..model.errors import UsageError

    if environments and all_environments:
        raise UsageError("--env and --all exclude each other", hint="pass one or more --env ENV, or --all")
    if required and not environments and not all_environments:
        raise UsageError("which environments?", hint="pass one or more --env ENV, or --all")
    return tuple(environments)


@click.command()
@git_source_options
@click.option("--ref", default="HEAD", show_default=True, type=REVISION, metavar="REV",
              help="Branch, tag or commit to reconcile (HEAD: the repository's default branch).")
@environment_selection
@click.option("--wait", is_flag=True, help="Drive the rollouts each apply starts until they end before the next environment.")
@rollout_access_options
@operator_options
@no_prune_option
@prune_options()
@render_budget_options
@click.option("--override-freeze", default=None, metavar="REASON",
              help="Apply even inside a freeze window; the reason is recorded on the environment's Lease.")
@lock_options
@output_option("text", "json", default="text")
def reconcile(repo, cache_dir, ref, environments, all_environments, wait, access, kubeconfig, context, allowed_namespaces,
              owner_id, no_prune, prune_namespaces, max_prune_percent, adopt, allow_mass_prune, override_freeze, lock_timeout,
              lease_duration, output) -> None:
    """Make environments match a git revision, in promotion order, stopping at the first failure.

    Environments the change since their last applied revision cannot affect (nothing changed
    under environments/<env>/, environments/base/, templates/ or crds/) are skipped with a line
    saying why. Each environment is locked with a Lease (`meshops-<env>` in its namespace) that
    also records the last applied revision, so a second reconcile waits or gives up, and nothing
    is applied twice. A plan the mass-prune brake refuses stops its environment (reason on the
    Lease, a Warning Event) and is not retried until a new revision or --allow-mass-prune.
    Exit code: that of the first environment that failed (0 if none).

    \b
    Examples:
      meshops reconcile --repo . --all
      meshops reconcile --repo https://github.com/acme/mesh-config.git --ref main --env dev --wait
      meshops reconcile --repo git@github.com:acme/mesh-config.git --env prod --override-freeze "hotfix INC-42"
    """
    from ..model.errors import UsageError
    from ..reconcile.reconciler import Settings
    from ..reconcile.reconciler import reconcile as run_reconcile

    names = selected(environments, all_environments, required=True)
    if override_freeze is not None and not override_freeze.strip():
        raise UsageError("--override-freeze needs a reason", hint='e.g. --override-freeze "hotfix for INC-42"')
    settings = Settings(repo=repo, ref=ref, environments=names, wait=wait, cache_dir=cache_dir, kubeconfig=kubeconfig,
                        context=context, override_freeze=override_freeze, lock_timeout=lock_timeout,
                        lease_seconds=lease_duration,
                        **operator_fields(allowed_namespaces=allowed_namespaces, owner_id=owner_id, no_prune=no_prune,
                                         prune_namespaces=prune_namespaces, max_prune_percent=max_prune_percent, adopt=adopt,
                                         allow_mass_prune=allow_mass_prune, access=access))
    report = run_reconcile(settings, emit=lambda line: click.echo(line, err=True))
    if output == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(report.summary())
    sys.exit(report.exit_code)


@click.command()
@click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False), help="Config repository (a git checkout).")
@click.option("--base", required=True, type=REVISION, metavar="REV", help="What the change is compared with (its merge base), e.g. origin/main.")
@click.option("--ref", default="HEAD", show_default=True, type=REVISION, metavar="REV", help="The change (a branch, tag or commit).")
@output_option("text", "json", default="text")
def affected(repo, base, ref, output) -> None:
    """List the environments a change can affect, in promotion order (for pull-request plans).

    An environment is affected when a file under environments/<env>/, environments/base/,
    templates/ or crds/ differs between the merge base of --base and --ref, and --ref. JSON output
    is a list of names, ready for a GitHub Actions matrix.

    \b
    Examples:
      meshops affected --base origin/main
      meshops affected --base origin/main --ref HEAD -o json
    """
    from ..reconcile.changes import affected_environments

    rows = affected_environments(repo, base=base, ref=ref)
    if output == "json":
        click.echo(json.dumps([name for name, impact in rows if impact.affected]))
        return
    for name, impact in rows:
        click.echo(f"{name}: {'affected' if impact.affected else 'not affected'}: {impact.reason}")
