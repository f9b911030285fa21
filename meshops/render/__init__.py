"""Second stage: render an environment's templates with its layered values into manifests.

`render(source, environment, sets)` is pure (files in, objects out; no cluster): it loads
`meshops.yaml` and the values, renders every `templates/**/*.yaml.j2` (files starting with `_` are
partials for `{% include %}`), reads the output as YAML, stamps the ownership labels, fills in the
environment's default namespace, refuses duplicates, and sorts the result into apply order. The
same inputs always give the same objects in the same order, hence the same bytes from `to_yaml`.
Validate receives the manifests; each remembers its template and values lines.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import kinds
from ..source.envconfig import TEMPLATES_DIR, EnvConfig, load_env_config
from ..model.errors import ConfigError, Location
from ..yamlio.gcpause import paused_gc
from ..model.identity import ENVIRONMENT_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE
from ..model.manifest import Manifest, ObjectKey
from ..source.repo import Source, Tree
from ..source.values import Values, load_values
from ..yamlio.documents import Document, Path, YamlError, dump_all, load_documents
from .tracking import OutputTracker, RenderedOutput, track

TEMPLATE_SUFFIXES = (".yaml.j2", ".yml.j2")


@dataclass
class RenderedSource:
    """SourceMap of a rendered object: values lines first (most specific), then the template line."""

    output: RenderedOutput
    document: Document

    def locate(self, path: Path) -> list[Location]:
        return self.locations_at(self.document.line_of(path))

    def locations_at(self, output_line: int) -> list[Location]:
        """The places behind one line of the template's output (what `locate` answers for its paths)."""
        locations = list(self.output.values_locations(output_line))
        template_location = self.output.template_location(output_line)
        if template_location not in locations:
            locations.append(template_location)
        return locations

    @property
    def template(self) -> Location:
        return self.output.template_location(self.document.start_line)


@dataclass
class RenderResult:
    """What render hands to validate: the manifests plus the inputs that made them."""

    environment: str
    config: EnvConfig
    values: Values | None  # None when the manifests came from the manifest cache (nothing was rendered)
    manifests: list[Manifest]
    revision: str | None
    tree: Tree | None = None  # what it was rendered from (validate reads the repo's crds/ from it)

    def to_yaml(self) -> str:
        with paused_gc():
            return dump_all(manifest.obj for manifest in self.manifests) if self.manifests else ""


def _walk_templates(tree: Tree, directory: str) -> list[str]:
    found: list[str] = []
    for name in tree.listdir(directory):
        path = f"{directory}/{name}"
        if tree.is_dir(path):
            found.extend(_walk_templates(tree, path))
        else:
            found.append(path)
    return found


def _load_sources(tree: Tree) -> tuple[dict[str, str], list[str]]:
    """All template files as text, and the ones to render (not partials), in sorted order."""
    sources: dict[str, str] = {}
    for path in _walk_templates(tree, TEMPLATES_DIR):
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


def _documents(output: RenderedOutput) -> list[Document]:
    try:
        return load_documents(output.text, filename=output.template)
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


def render_tree(tree: Tree, environment: str, sets: list[str] | tuple[str, ...] = (), revision: str | None = None) -> RenderResult:
    """Render `environment` from `tree` (see module docstring)."""
    with paused_gc():
        return _render_tree(tree, environment, sets, revision)


def _render_tree(tree: Tree, environment: str, sets: list[str] | tuple[str, ...], revision: str | None) -> RenderResult:
    from .jinja_env import make_environment, render_template  # Jinja2: only when templates actually run

    config = load_env_config(tree, environment)
    values = load_values(tree, environment, sets)
    sources, entry_points = _load_sources(tree)
    tracker = OutputTracker(sources)
    jinja_environment = make_environment(sources, tracker)
    variables = {
        "values": track(values),
        "environment": {"name": environment, "namespace": config.namespace, "production": config.production},
    }
    manifests: list[Manifest] = []
    seen: dict[ObjectKey, Location] = {}
    for name in entry_points:
        output = render_template(jinja_environment, tracker, sources, name, variables)
        for document in _documents(output):
            source = RenderedSource(output=output, document=document)
            if not isinstance(document.data, dict):
                raise ConfigError(
                    "rendered document is not a mapping (an object)",
                    location=source.template,
                    hint="each `---` document must be a Kubernetes object",
                )
            _stamp(document.data, environment=environment, default_namespace=config.namespace, where=source.template)
            manifest = Manifest(obj=document.data, source=source)
            if manifest.key in seen:
                raise ConfigError(
                    f"{manifest.key} is rendered twice (also at {seen[manifest.key]})",
                    location=source.template,
                    hint="give one of them another name, or render it from one template only",
                )
            seen[manifest.key] = source.template
            manifests.append(manifest)
    manifests.sort(key=_sort_key)
    return RenderResult(environment=environment, config=config, values=values, manifests=manifests, revision=revision,
                        tree=tree)


def render(source: Source, environment: str, sets: list[str] | tuple[str, ...] = ()) -> RenderResult:
    """Render `environment` from a `Source` (working tree or git revision)."""
    return render_tree(source.tree, environment, sets, revision=source.revision)
