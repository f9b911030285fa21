"""The manifest cache: an environment's rendered and validated objects, kept between runs.

Like Argo CD's repo-server cache: rendering and offline validation are pure functions of the
config repo's inputs, so their result is kept under a key made of everything they depend on:

- the content ids (`source.inputs`) of every path render and validation read: `templates/`,
  `environments/base/`, `environments/<env>/` and `crds/` — git object ids for a revision, a
  SHA-256 of the files as they are for the working tree (an edit, a new file, even a git-ignored
  one, changes it);
- the environment, the cluster whose values layer is merged (`clusters/<name>.yaml`, whose content
  is an input of `environments/<env>/`) and every `--set`;
- meshops (its version and a fingerprint of its installed code), the libraries that shape render
  and validation (Jinja2, PyYAML, jsonschema …), and the Python version;
- the repository's identity (its resolved path), so one repo's content can never answer for
  another's, whatever it holds.

The findings of the checks against the live cluster are kept beside an entry too, one file per digest
of the live objects they were made with and of what the read covered (`model.readscope`: which
pods and Secrets were read), so the clusters of an environment that share a render keep theirs side by
side: a later run against an unchanged cluster (same objects, same
resourceVersions, same read) reuses them, any change in the cluster runs the checks again. They are
a function of the entry's inputs, those objects and that scope only, so this is as safe as the
entry itself. (Findings from the cluster's CRDs, for kinds the offline schemas do not know, are
never kept: the plan does not hand them to the cache.)

`meshops render` keeps the YAML it printed beside the entry as well, so printing it again builds
no object at all. Both keep the files render did not render (`RenderResult.skipped`), so a cached
run names them as a fresh one does. Only template output is kept: a render with plain manifests
is not stored.

A miss renders from a tree that records every path read; if anything outside the keyed paths was
read, nothing is stored (the key would not cover it). An entry is stored only after the render
(and validation, when the caller validates) succeeded, as `marshal` data (exact Python types,
no code) with a BLAKE2 checksum; anything unreadable is a miss. The cache lives in
`$MESHOPS_CACHE_DIR`, else `$XDG_CACHE_HOME/meshops`, else `~/.cache/meshops` (`manifests/`), owner
only, bounded in size (least recently used entries go first). A cache that cannot be read or
written is simply not used.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import marshal
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..model.errors import ConfigError, Location
from ..model.manifest import Manifest, ObjectKey
from ..model.readscope import LiveScope
from ..render import RenderResult
from ..render.plain import Skipped
from ..render.sourcemap import Provenance, WiredSource
from ..schema.compiled import cache_dir
from ..source.envconfig import BASE_ENVIRONMENT, CRDS_DIR, ENVIRONMENTS_DIR, TEMPLATES_DIR, EnvConfig
from ..source.inputs import RecordingTree, input_ids
from ..source.repo import Source
from ..validate.environment import VALIDATION_VARIABLES
from ..validate.findings import Finding, Severity
from ..yamlio.documents import Document
from ..yamlio.gcpause import paused_gc

# Bumped whenever the stored layout changes; older entries are then simply misses.
FORMAT = 3
MAGIC = b"meshops-manifests\0"
# Total size of the cache directory; the least recently used entries are removed past it.
# `MESHOPS_MANIFEST_CACHE_MB` overrides it (0 turns the cache off).
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
MAX_BYTES_VARIABLE = "MESHOPS_MANIFEST_CACHE_MB"
# An entry larger than this share of the bound is not kept (it would evict everything else).
MAX_ENTRY_SHARE = 4
LIVE_MAGIC = b"meshops-live-findings\0"
# Live-check findings kept per entry (one per cluster state): a fleet's clusters sharing a render, and
# a few states of each; older ones go first, so a cluster that keeps changing cannot fill the directory.
LIVE_FINDINGS_PER_ENTRY = 64
TEXT_MAGIC = b"meshops-render-yaml\0"
# Libraries whose code shapes what render and validation produce: part of the key.
LIBRARIES = ("jinja2", "markupsafe", "yaml", "jsonschema", "fastjsonschema", "kubernetes_validate", "jsonpatch")


def input_paths(environment: str) -> list[str]:
    """The repo paths render and offline validation of `environment` read (the key covers exactly these)."""
    return [TEMPLATES_DIR, f"{ENVIRONMENTS_DIR}/{BASE_ENVIRONMENT}", f"{ENVIRONMENTS_DIR}/{environment}", CRDS_DIR]


def _code_fingerprint() -> str:
    """meshops's version plus the size and mtime of each of its modules (an edited install is a new version)."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(__version__.encode())
    for root, directories, files in os.walk(package):
        directories.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                stat = os.stat(os.path.join(root, name))
                digest.update(f"{os.path.relpath(os.path.join(root, name), package)}:{stat.st_size}:{stat.st_mtime_ns}\0".encode())
    return f"{__version__}+{digest.hexdigest()[:16]}"


def _libraries() -> dict[str, str]:
    """Each library's installed module file with its size and mtime (found without importing it)."""
    found = {}
    for name in LIBRARIES:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        if origin and os.path.exists(origin):
            stat = os.stat(origin)
            found[name] = f"{origin}:{stat.st_size}:{stat.st_mtime_ns}"
        else:
            found[name] = "missing"
    return found


def _max_bytes() -> int:
    try:
        return int(float(os.environ[MAX_BYTES_VARIABLE]) * 1024 * 1024)
    except (KeyError, ValueError):
        return DEFAULT_MAX_BYTES


@dataclass
class Hit:
    """What a cache hit hands back: the render, and the offline findings when validation ran before."""

    rendered: RenderResult
    findings: list[Finding] | None


class ManifestCache:
    """Rendered (and validated) environments by the content of their inputs; see module docstring."""

    def __init__(self, directory: Path | None = None, *, version: str | None = None, max_bytes: int | None = None) -> None:
        self.directory = Path(directory) if directory is not None else cache_dir() / "manifests"
        self.version = version or _code_fingerprint()
        self.max_bytes = _max_bytes() if max_bytes is None else max_bytes
        self._keys: dict[int, tuple[RenderResult, str]] = {}  # renders this cache keyed, for their live findings

    # --- keys -------------------------------------------------------------------------------
    def key(self, source: Source, *, repo: str, environment: str, sets: tuple[str, ...],
            cluster: str | None = None) -> str | None:
        """The key of this render, or None when its inputs cannot be read (render will say why)."""
        try:
            inputs = input_ids(source.tree, input_paths(environment))
        except (ConfigError, OSError):
            return None
        material = {
            "format": FORMAT,
            "meshops": self.version,
            "python": f"{sys.implementation.name}-{sys.version}",
            "libraries": _libraries(),
            "repo": os.path.realpath(repo),
            "environment": environment,
            "cluster": cluster,
            "sets": list(sets),
            "inputs": inputs,
            "variables": {name: os.environ.get(name) for name in VALIDATION_VARIABLES},
        }
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.bin"

    # --- reading ----------------------------------------------------------------------------
    def load(self, key: str, source: Source, *, environment: str, cluster: str | None = None) -> Hit | None:
        """The entry stored under `key`, as a render of `source`, or None (missing, damaged, other format)."""
        stored = self._read(self._path(key), MAGIC)
        if stored is None:
            return None
        try:
            stored_key, payload = stored
            if stored_key != key:
                return None
            with paused_gc():  # thousands of acyclic objects at once
                hit = _hit(payload, source, environment, cluster)
        except (ValueError, TypeError, KeyError, IndexError):
            return None
        self._keys[id(hit.rendered)] = (hit.rendered, key)
        return hit

    def _read(self, path: Path, magic: bytes) -> Any:
        """The marshalled value in `path` when its header and checksum are intact, else None."""
        if self.max_bytes <= 0:
            return None
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        header = len(magic) + 1 + 32
        if len(raw) < header or not raw.startswith(magic) or raw[len(magic)] != FORMAT:
            return None
        body = raw[header:]
        if hashlib.blake2b(body, digest_size=32).digest() != raw[len(magic) + 1:header]:
            return None
        try:
            with paused_gc():
                value = marshal.loads(body)
        except (ValueError, EOFError, TypeError):
            return None
        try:
            os.utime(path)  # recently used: evicted last
        except OSError:
            pass
        return value

    # --- writing ----------------------------------------------------------------------------
    def store(self, key: str, rendered: RenderResult, *, findings: list[Finding] | None) -> bool:
        """Keep `rendered` (and its offline `findings`, None when not validated) under `key`; False when not kept
        (then nothing else is kept for it either: its text, its live findings)."""
        try:
            with paused_gc():
                body = marshal.dumps((key, _payload(rendered, findings)))
        except (ValueError, TypeError):
            return False  # plain manifests, or something marshal cannot keep exactly: not cached
        if not self._write(self._path(key), MAGIC, body):
            return False
        self._keys[id(rendered)] = (rendered, key)
        return True

    def _write(self, path: Path, magic: bytes, body: bytes) -> bool:
        if self.max_bytes <= 0 or len(body) > self.max_bytes // MAX_ENTRY_SHARE:
            return False
        data = magic + bytes([FORMAT]) + hashlib.blake2b(body, digest_size=32).digest() + body
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".entry-")
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, path)
        except OSError:
            return False
        self._evict()
        return True

    def knows(self, rendered: RenderResult) -> bool:
        """Whether `rendered` came from this cache or was stored in it (so its key covers its inputs)."""
        known = self._keys.get(id(rendered))
        return known is not None and known[0] is rendered

    # --- `meshops render`'s text -------------------------------------------------------------
    def load_text(self, key: str) -> tuple[str, int, list[Skipped]] | None:
        """The YAML `meshops render` printed for `key`, its number of objects and the files not rendered, or None."""
        stored = self._read(self._path(key).with_suffix(".yaml"), TEXT_MAGIC)
        try:
            stored_key, text, count, skipped = stored
            return (text, count, _skipped_of(skipped)) if stored_key == key and isinstance(text, str) else None
        except (TypeError, ValueError):
            return None

    def store_text(self, key: str, text: str, count: int, skipped: list[Skipped]) -> bool:
        body = marshal.dumps((key, text, count, _skipped_data(skipped)))
        return self._write(self._path(key).with_suffix(".yaml"), TEXT_MAGIC, body)

    # --- the checks against the live cluster ------------------------------------------------
    def _live(self, rendered: RenderResult, live: list[dict], read_scope: LiveScope) -> tuple[Path, bytes] | None:
        if not self.knows(rendered):
            return None  # not a render this cache keyed
        known = self._keys[id(rendered)]
        try:
            digest = hashlib.blake2b(marshal.dumps((live, _scope_data(read_scope))), digest_size=32).digest()
        except (ValueError, TypeError):
            return None
        # One file per digest: the clusters of an environment share a render but not their objects.
        return self.directory / f"{known[1]}.{digest.hex()[:16]}.live", digest

    def live_findings(self, rendered: RenderResult, live: list[dict], read_scope: LiveScope) -> list[Finding] | None:
        """The findings kept for `rendered` against exactly these live objects, read within `read_scope`, or None."""
        where = self._live(rendered, live, read_scope)
        stored = self._read(where[0], LIVE_MAGIC) if where is not None else None
        if stored is None:
            return None
        try:
            digest, rows = stored
            return [_finding_of(row) for row in rows] if digest == where[1] else None
        except (ValueError, TypeError):
            return None

    def keep_live_findings(self, rendered: RenderResult, live: list[dict], read_scope: LiveScope,
                           findings: list[Finding]) -> bool:
        """Keep the findings of `rendered` against these live objects read within `read_scope` (replacing older ones)."""
        where = self._live(rendered, live, read_scope)
        if where is None:
            return False
        written = self._write(where[0], LIVE_MAGIC, marshal.dumps((where[1], [_finding_data(f) for f in findings])))
        self._trim_live(where[0].name.split(".", 1)[0])
        return written

    def _trim_live(self, entry: str) -> None:
        """Keep the newest `LIVE_FINDINGS_PER_ENTRY` live-finding files of one entry."""
        try:
            kept = sorted((item.stat().st_mtime_ns, item.path) for item in os.scandir(self.directory)
                          if item.name.startswith(entry + ".") and item.name.endswith(".live"))
        except OSError:
            return
        for _, path in kept[:-LIVE_FINDINGS_PER_ENTRY]:
            try:
                os.remove(path)
            except OSError:
                pass

    def _evict(self) -> None:
        """Remove least recently used files until the directory fits the bound."""
        try:
            entries = [(entry.stat().st_mtime_ns, entry.stat().st_size, entry.path) for entry in os.scandir(self.directory)
                       if entry.is_file() and entry.name.endswith((".bin", ".live", ".yaml"))]
        except OSError:
            return
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            try:
                os.remove(path)
                total -= size
            except OSError:
                pass


# --- the stored form ----------------------------------------------------------------------------

def _location_tuples(locations: list[Location]) -> tuple[tuple[str, int | None], ...]:
    return tuple((str(location.file), location.line) for location in locations)


def _payload(rendered: RenderResult, findings: list[Finding] | None) -> dict[str, Any]:
    """Plain data: the worker's blob per template (`render.sourcemap`), the objects, config, findings."""
    blobs: dict[int, int] = {}
    templates: list[bytes] = []
    manifests = []
    for manifest in rendered.manifests:
        source = manifest.source
        if not isinstance(source, WiredSource):
            raise TypeError("only rendered manifests are cached")
        provenance = source.provenance
        index = blobs.get(id(provenance))
        if index is None:
            index = blobs[id(provenance)] = len(templates)
            templates.append(provenance.blob)
        manifests.append((manifest.obj, index, source.index, source.start_line))
    config = rendered.config
    return {
        "manifests": manifests,
        "templates": templates,
        "config": (config.name, config.file, config.data,
                   (config.document.lines, config.document.start_line) if config.document else None),
        "findings": None if findings is None else [_finding_data(finding) for finding in findings],
        "skipped": _skipped_data(rendered.skipped),
    }


def _hit(payload: dict[str, Any], source: Source, environment: str, cluster: str | None) -> Hit:
    provenances = [Provenance(blob) for blob in payload["templates"]]
    manifests = [Manifest(obj=obj, source=WiredSource(provenances[template], index=index, data=obj, start_line=start))
                 for obj, template, index, start in payload["manifests"]]
    name, file, data, document = payload["config"]
    config = EnvConfig(name=name, file=file, data=data,
                       document=Document(data=data, lines=document[0], start_line=document[1]) if document else None)
    if config.name != environment:
        raise ValueError("entry of another environment")
    findings = payload["findings"]
    rendered = RenderResult(environment=environment, config=config, values=None, manifests=manifests,
                            revision=source.revision, tree=source.tree, skipped=_skipped_of(payload["skipped"]),
                            repo_id=source.repo_id, cluster=cluster)
    return Hit(rendered, None if findings is None else [_finding_of(row) for row in findings])


def _skipped_data(skipped: list[Skipped]) -> list[tuple[str, str]]:
    return [(entry.path, entry.reason) for entry in skipped]


def _skipped_of(rows: list) -> list[Skipped]:
    return [Skipped(path, reason) for path, reason in rows]


def _scope_data(scope: LiveScope) -> tuple:
    """`scope` as plain data in a stable order (a frozenset's order changes from one process to the next)."""
    return (scope.pods_everywhere, sorted(scope.pod_namespaces), sorted(sorted(labels) for labels in scope.pod_selectors),
            sorted(scope.secret_namespaces))


def _finding_data(finding: Finding) -> tuple:
    key = finding.object
    return (finding.code, finding.severity.value, finding.message,
            (key.group, key.kind, key.namespace, key.name) if key else None,
            tuple(finding.path), _location_tuples(finding.locations), finding.suppressed_by)


def _finding_of(row: tuple) -> Finding:
    code, severity, message, key, path, locations, suppressed_by = row
    return Finding(code=code, severity=Severity(severity), message=message, object=ObjectKey(*key) if key else None,
                   path=tuple(path), locations=[Location(file, line) for file, line in locations],
                   suppressed_by=suppressed_by)


def recording(source: Source) -> tuple[Source, RecordingTree]:
    """`source` reading through a `RecordingTree` (what a miss renders from)."""
    tree = RecordingTree(source.tree)
    return Source(tree=tree, revision=source.revision, label=source.label, repo_id=source.repo_id), tree


def reads_only_inputs(tree: RecordingTree, environment: str) -> bool:
    """Whether everything read through `tree` is covered by the key (environments/ may be listed)."""
    return not tree.outside(input_paths(environment), listing_only=(ENVIRONMENTS_DIR,))
