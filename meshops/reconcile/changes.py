"""Change detection: which environments a change between two revisions can affect.

An environment renders from its own directory, the shared base values, the templates and the
CRDs the repository ships; a commit touching only `environments/prod/` cannot change what dev
renders, so reconcile skips dev and says why (Argo CD's `manifest-generate-paths`, as a table).
The comparison runs against the revision last applied to the environment's cluster, so a run that
was skipped, failed or never happened is caught up by the next one.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..source.envconfig import BASE_ENVIRONMENT, ENVIRONMENTS_DIR, TEMPLATES_DIR

# Path prefixes whose change affects environment `{env}`; a row per input of render/validate.
AFFECTING_PREFIXES: tuple[str, ...] = (
    f"{ENVIRONMENTS_DIR}/{{env}}/",
    f"{ENVIRONMENTS_DIR}/{BASE_ENVIRONMENT}/",
    f"{TEMPLATES_DIR}/",
    "crds/",
)
# How many changed files a reason line names before "(+N more)".
NAMED_FILES = 3


@dataclass(frozen=True)
class Impact:
    """Whether an environment must be reconciled, and the sentence that says why (or why not)."""

    affected: bool
    reason: str
    files: tuple[str, ...] = ()


def prefixes_for(environment: str) -> tuple[str, ...]:
    return tuple(prefix.format(env=environment) for prefix in AFFECTING_PREFIXES)


def changed_paths(mirror, old: str, new: str) -> list[str] | None:
    """Files that differ between two commits (both sides of renames), or None if `old` is unknown."""
    import git

    try:
        mirror.git.cat_file("-e", f"{old}^{{commit}}")  # gitpython trusts any 40-hex name; git checks it exists
    except git.GitCommandError:
        return None
    output = mirror.git.diff("--name-only", "--no-renames", "-z", old, new)
    return sorted({path for path in output.split("\0") if path})


def _short(revision: str) -> str:
    return revision[:12]


def impact(environment: str, *, applied: str | None, target: str, changed: list[str] | None) -> Impact:
    """Decide for one environment given its last applied revision and the files changed since."""
    if applied is None:
        return Impact(True, "never reconciled by meshops")
    if applied == target:
        return Impact(False, f"already at {_short(target)}")
    if changed is None:
        return Impact(True, f"last applied revision {_short(applied)} is not in the repository (history rewritten?)")
    prefixes = prefixes_for(environment)
    files = tuple(path for path in changed if path.startswith(prefixes))
    if not files:
        where = ", ".join(prefixes)
        return Impact(False, f"no change under {where} since {_short(applied)}")
    named = ", ".join(files[:NAMED_FILES]) + (f" (+{len(files) - NAMED_FILES} more)" if len(files) > NAMED_FILES else "")
    return Impact(True, f"{named} changed since {_short(applied)}", files)


def affected_environments(repo_dir: str, *, base: str, ref: str) -> list[tuple[str, Impact]]:
    """Every environment at `ref`, in promotion order, with its impact since the merge base with `base`.

    What a pull request changes is measured from where it branched (`git diff base...ref`), so
    commits that landed on the base branch meanwhile do not count as the pull request's.
    """
    import git

    from ..source.envconfig import list_environments, load_env_config
    from ..model.errors import SourceError
    from ..source.promotion import promotion_order
    from ..source.repo import check_revision, open_source

    source = open_source(repo_dir, check_revision(ref))
    check_revision(base, option="--base")
    repository = git.Repo(repo_dir)
    try:
        bases = repository.merge_base(base, ref)
    except git.GitCommandError:
        raise SourceError(f"unknown revision {base!r} in {repo_dir}", hint="fetch it first (actions/checkout with fetch-depth: 0)") from None
    if not bases:
        raise SourceError(f"{base} and {ref} share no history", hint="compare with a branch the revision was made from")
    since = bases[0].hexsha
    changed = changed_paths(repository, since, source.revision)
    configs = promotion_order([load_env_config(source.tree, name) for name in list_environments(source.tree)])
    return [(config.name, impact(config.name, applied=since, target=source.revision, changed=changed)) for config in configs]
