"""`meshops render` and `meshops envs`: the render stage on the command line."""
from __future__ import annotations

import json

import click

from .common import cache_option, manifest_cache, output_option, repo_option, ref_option, source_options, warn_skipped


@click.command()
@source_options
@output_option("yaml", "json", default="yaml")
@click.option(
    "--output-file",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the manifests to this file (atomically: on error the file is left as it was).",
)
@cache_option
def render(environment: str, repo: str, ref: str | None, sets: tuple[str, ...], output: str, output_file: str | None,
           no_cache: bool) -> None:
    """Render an environment's templates with its values and print the manifests.

    \b
    Examples:
      meshops render --env prod
      meshops render --env staging --set services.reviews.version=v3
      meshops render --env dev --ref main~1 -o json
      meshops render --env prod --output-file rendered/prod.yaml
    """
    from ..pipeline.rendering import render_cached, render_text

    cache = manifest_cache(no_cache)
    if output == "json":
        result = render_cached(repo=repo, ref=ref, environment=environment, sets=sets, cache=cache)
        manifests, skipped = result.manifests, result.skipped
        text, count = json.dumps([m.obj for m in manifests], indent=2, sort_keys=True) + "\n", len(manifests)
    else:
        text, count, skipped = render_text(repo=repo, ref=ref, environment=environment, sets=sets, cache=cache)
    warn_skipped(skipped)
    if output_file:
        from ..yamlio.atomic_write import write_atomically

        write_atomically(output_file, text)
        click.echo(f"wrote {count} objects to {output_file}", err=True)
    else:
        click.echo(text, nl=False)


@click.command()
@repo_option
@ref_option
@output_option("text", "json", default="text")
def envs(repo: str, ref: str | None, output: str) -> None:
    """List the environments of the config repository, in promotion order.

    \b
    Example:
      meshops envs --repo ./mesh-config
    """
    from ..source.envconfig import load_env_config
    from ..source.promotion import promotion_order
    from ..source.repo import open_source

    source = open_source(repo, ref)
    configs = promotion_order([load_env_config(source.tree, name) for name in _names(source)])
    if output == "json":
        rows = [
            {
                "name": c.name,
                "description": c.data.get("description", ""),
                "namespace": c.namespace,
                "production": c.production,
                "after": (c.data.get("promotion") or {}).get("after"),
            }
            for c in configs
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for c in configs:
        after = (c.data.get("promotion") or {}).get("after")
        flags = ["production"] if c.production else []
        if after:
            flags.append(f"after {after}")
        suffix = f"  ({', '.join(flags)})" if flags else ""
        click.echo(f"{c.name:<12} {c.data.get('description', '')}{suffix}")


def _names(source) -> list[str]:
    from ..source.envconfig import list_environments

    return list_environments(source.tree)
