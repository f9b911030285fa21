"""Second stage: render an environment's templates with its layered values into manifests.

`render(source, environment, sets)` is pure (files in, objects out; no cluster): it loads
`meshops.yaml` and the values, renders every `templates/**/*.yaml.j2` (files starting with `_` are
partials for `{% include %}`), reads the output as YAML, adds the plain manifests (`plain`: plain
`*.yaml` under `templates/` and `environments/<env>/manifests/`), stamps the ownership labels, fills
in the environment's default namespace, refuses duplicates and an empty result (unless the
environment says `allowEmpty: true`), and sorts the result into apply order. Files in those places
that are not rendered come back in `RenderResult.skipped`, for the commands to name. The
same inputs always give the same objects in the same order, hence the same bytes from `to_yaml`.
Validate receives the manifests; each remembers its template and values lines.

Reading the repo happens here; running the templates (code from the repo) happens in a worker
process under the render budget (`budget`, `worker`), which hands back plain data per template.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterator

from ..model import kinds
from ..source.envconfig import TEMPLATES_DIR, EnvConfig, load_env_config
from ..model.errors import ConfigError, Location
from ..yamlio.gcpause import paused_gc
from ..model.identity import ENVIRONMENT_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE
from ..model.manifest import Manifest, ObjectKey
from ..source.repo import Source, Tree
from ..source.values import Values, load_values
from ..yamlio.documents import YamlError, dump_all, load_objects
from .budget import BudgetExceeded, RenderBudget, default_budget
from .plain import TEMPLATE_SUFFIXES, Skipped, environment_manifests_dir, read_plain, walk
from .sourcemap import PackedTemplate, Provenance, WiredSource, pack
from .tracking import OutputTracker, RenderedOutput, track
from .worker import run_bounded

# meshops.yaml: the environment may render no objects at all (otherwise an empty render is an error).
# The repository says so, so it only lets render and validate pass: pruning everything the
# environment owns is still the mass-prune brake's to allow (`apply.brakes`, the operator's flag).
ALLOW_EMPTY_KEY = "allowEmpty"


@dataclass
class RenderResult:
    """What render hands to validate: the manifests plus the inputs that made them."""

    environment: str
    config: EnvConfig
    values: Values | None  # None when the manifests came from the manifest cache (nothing was rendered)
    manifests: list[Manifest]
    revision: str | None
    tree: Tree | None = None  # what it was rendered from (validate reads the repo's crds/ from it)
    skipped: list[Skipped] = dataclasses.field(default_factory=list)  # files in templates/ or manifests/ not rendered
    repo_id: str | None = None  # the repository's stable id (`Source.repo_id`): the default owner id

    def to_yaml(self) -> str:
        with paused_gc():
            return dump_all(manifest.obj for manifest in self.manifests) if self.manifests else ""


def _load_sources(tree: Tree) -> tuple[dict[str, str], list[str]]:
    """All template files as text, and the ones to render (not partials), in sorted order."""
    sources: dict[str, str] = {}
    for path in walk(tree, TEMPLATES_DIR):
        if not path.endswith(".j2"):
            continue
        raw = tree.read(path) or b""
        try:
            sources[path] = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError("template is not UTF-8 text", location=Location(path), hint="save it as UTF-8") from None
    entry_points = [
        path for path in sorted(sources) if path.endswith(TEMPLATE_SUFFIXES) and not path.rsplit("/", 1)[-1].startswith("_")
    ]
    return sources, entry_points


def _documents(output: RenderedOutput) -> list[tuple[Any, int]]:
    """Each document of the output: its data and its first line (line maps are made when asked: `sourcemap`)."""
    try:
        return load_objects(output.text, filename=output.template)
    except YamlError as error:
        output_line = error.location.line if error.location else None
        where = output.template_location(output_line) if output_line else Location(output.template)
        raise ConfigError(
            f"template renders invalid YAML: {error.message.removeprefix('invalid YAML: ')}"
            + (f" (rendered line {output_line})" if output_line else ""),
            location=where,
            hint="run `meshops render` with --set to see the output; check indentation of pasted values (to_yaml(indent=N))",
        ) from None


def _stamp(obj: dict[str, Any], *, environment: str, default_namespace: str, where: Location) -> None:
    """Check the object's envelope and add ownership labels and the default namespace."""
    for field in ("apiVersion", "kind"):
        if not isinstance(obj.get(field), str) or not obj[field]:
            raise ConfigError(f"rendered object has no {field}", location=where, hint=f"every document needs `{field}:`")
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or not metadata["name"]:
        raise ConfigError(
            f"rendered {obj['kind']} has no metadata.name", location=where, hint="every object needs `metadata: {name: ...}`"
        )
    labels = metadata.get("labels")
    if labels is None:
        labels = metadata["labels"] = {}
    if not isinstance(labels, dict):
        raise ConfigError("metadata.labels must be a mapping", location=where)
    labels[MANAGED_BY_LABEL] = MANAGED_BY_VALUE
    labels[ENVIRONMENT_LABEL] = environment
    group, _ = kinds.split_api_version(obj["apiVersion"])
    row = kinds.lookup(group, obj["kind"])
    if row is not None and row.namespaced and not metadata.get("namespace"):
        metadata["namespace"] = default_namespace


def _sort_key(manifest: Manifest) -> tuple:
    key = manifest.key
    return (kinds.apply_order(key.group, key.kind), key.namespace, key.name, key.kind, key.group)


def render_tree(
    tree: Tree,
    environment: str,
    sets: list[str] | tuple[str, ...] = (),
    revision: str | None = None,
    *,
    budget: RenderBudget | None = None,
) -> RenderResult:
    """Render `environment` from `tree` (see module docstring) under `budget` (default: the process's)."""
    with paused_gc():
        return _render_tree(tree, environment, sets, revision, budget or default_budget())


def _render_tree(
    tree: Tree, environment: str, sets: list[str] | tuple[str, ...], revision: str | None, budget: RenderBudget
) -> RenderResult:
    from . import jinja_env  # Jinja2: only when templates run, and imported here, before the worker forks

    config = load_env_config(tree, environment)
    values = load_values(tree, environment, sets)
    sources, entry_points = _load_sources(tree)
    variables = {
        "values": track(values),
        "environment": {"name": environment, "namespace": config.namespace, "production": config.production},
    }
    templates = TemplateRun(sources=sources, entry_points=entry_points, variables=variables, config=config,
                            environment=environment, budget=budget, jinja=jinja_env)
    manifests: list[Manifest] = []
    seen: dict[ObjectKey, Location] = {}  # where each object came from (its template or manifest file)
    done = 0
    try:
        for _, objects, blob in run_bounded(templates.results, budget=budget):
            provenance = Provenance(blob)
            for index, (data, start_line) in enumerate(objects):
                source = WiredSource(provenance, index=index, data=data, start_line=start_line)
                manifest = Manifest(obj=data, source=source)
                if manifest.key in seen:
                    raise ConfigError(
                        f"{manifest.key} is rendered twice (also at {seen[manifest.key]})",
                        location=source.template,
                        hint="give one of them another name, or render it from one template only",
                    )
                seen[manifest.key] = source.template
                manifests.append(manifest)
            done += 1
    except BudgetExceeded as error:
        if error.location is None and done < len(entry_points):
            error.location = Location(entry_points[done])  # what the worker was rendering when it had to stop
        raise
    # Plain manifests run no code: read here through the same repo reader as the templates (never
    # through a symbolic link or out of the root), parsed under the same per-file YAML budget.
    plain = read_plain(tree, environment)
    for manifest in plain.manifests:
        where = manifest.location()
        _stamp(manifest.obj, environment=environment, default_namespace=config.namespace, where=where)
        if manifest.key in seen:
            raise ConfigError(f"{manifest.key} is rendered twice (also at {seen[manifest.key]})", location=where,
                              hint="keep it in one template or manifest file only")
        seen[manifest.key] = where
        manifests.append(manifest)
    if not manifests and not config.data.get(ALLOW_EMPTY_KEY):
        raise _empty_render(config, environment, plain.skipped)
    manifests.sort(key=_sort_key)
    return RenderResult(environment=environment, config=config, values=values, manifests=manifests, revision=revision,
                        tree=tree, skipped=plain.skipped)


class EmptyRender(ConfigError):
    """The environment renders no objects and does not say it may (`allowEmpty: true`)."""


def _empty_render(config: EnvConfig, environment: str, skipped: list[Skipped]) -> ConfigError:
    """An environment that renders nothing: usually templates missing or misnamed, which would prune everything."""
    seen = f"; not rendered: {', '.join(str(s) for s in skipped[:3])}" + (" …" if len(skipped) > 3 else "") if skipped else ""
    return EmptyRender(
        f"environment {environment!r} renders no objects{seen}",
        location=Location(config.file),
        hint=f"add templates (*.yaml.j2) or plain manifests (*.yaml) under {TEMPLATES_DIR}/ or "
        f"{environment_manifests_dir(environment)}/; if it really is empty, set `{ALLOW_EMPTY_KEY}: true` here (an apply that "
        "would then prune what the environment owns still needs --allow-mass-prune from whoever runs it)",
    )


@dataclass
class TemplateRun:
    """What the render worker does: every entry-point template to stamped documents, as plain data."""

    sources: dict[str, str]
    entry_points: list[str]
    variables: dict[str, Any]
    config: EnvConfig
    environment: str
    budget: RenderBudget
    jinja: Any  # `render.jinja_env`, imported by the parent (a fork child imports nothing)

    def results(self) -> Iterator[PackedTemplate]:
        """Per template: its stamped objects and their provenance, packed (`sourcemap.pack`)."""
        tracker = OutputTracker(self.sources)
        jinja_environment = self.jinja.make_environment(self.sources, tracker, budget=self.budget)
        for name in self.entry_points:
            try:
                output = self.jinja.render_template(jinja_environment, tracker, self.sources, name, self.variables)
                yield pack(output, [self._stamped(output, data, start_line) for data, start_line in _documents(output)])
            except BudgetExceeded as error:
                error.location = error.location or Location(name)
                raise
            except MemoryError:
                raise self.budget.outgrew("its rendered output", location=Location(name)) from None

    def _stamped(self, output: RenderedOutput, data: Any, start_line: int) -> tuple[dict, int]:
        where = output.template_location(start_line)
        if not isinstance(data, dict):
            raise ConfigError(
                "rendered document is not a mapping (an object)",
                location=where,
                hint="each `---` document must be a Kubernetes object",
            )
        _stamp(data, environment=self.environment, default_namespace=self.config.namespace, where=where)
        return data, start_line


def render(
    source: Source, environment: str, sets: list[str] | tuple[str, ...] = (), *, budget: RenderBudget | None = None
) -> RenderResult:
    """Render `environment` from a `Source` (working tree or git revision) under `budget`."""
    result = render_tree(source.tree, environment, sets, revision=source.revision, budget=budget)
    result.repo_id = source.repo_id
    return result
