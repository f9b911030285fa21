"""Manifest files as they are (`meshops validate -f PATH...`): the input of validate for teams that
migrate existing YAML instead of rendering templates.

`load_manifest_paths(paths)` reads files and directories (`.yaml`, `.yml`, `.json`, recursively,
in sorted order; `-` is standard input), splits multi-document files, skips empty documents, opens
`kind: List` wrappers (`meshops.model.plain`), and returns Manifests whose `FileSource` points at
the line of every field. A file that holds no objects (`kustomization.yaml`) is skipped with an
MSH112 info finding naming it. A broken document does not stop the others:
it becomes an MSH100 (syntax) or MSH101 (duplicate key) finding at its line, so a person sees every
problem of a pull request in one run. Only a path that does not exist is an error (usage).
"""
from __future__ import annotations

import json
import re

from ..model.errors import Location
from ..model.manifest import Manifest
from ..model.plain import not_manifests, objects_in
from ..yamlio.documents import Document, NodeBudget, YamlError, load_documents
from ..yamlio.files import read_text, yaml_files
from .findings import Finding
from .schema_checks import CODE_DUPLICATE_KEY, CODE_NOT_AN_OBJECT, CODE_NOT_MANIFESTS, CODE_PARSE_ERROR, make_finding

# A line that starts a new YAML document. Splitting on it lets one broken document be reported
# while its neighbours are still validated (libyaml stops at the first error of a stream).
_DOCUMENT_START = re.compile(r"^---(?:[ \t]|$)", re.MULTILINE)


def _chunks(text: str) -> list[tuple[str, int]]:
    """`text` cut at document-start lines: (chunk, number of lines before it).

    Lines are counted from the previous cut, not from the start of the text, so a file of many
    documents costs one pass (counting from the start made 20,000 documents quadratic).
    """
    starts = [match.start() for match in _DOCUMENT_START.finditer(text)]
    bounds = sorted({0, *starts})
    pieces = []
    lines_before = 0
    for index, start in enumerate(bounds):
        end = bounds[index + 1] if index + 1 < len(bounds) else len(text)
        pieces.append((text[start:end], lines_before))
        lines_before += text.count("\n", start, end)  # counted once per chunk, without copying it: linear in the file's size
    return pieces


def _json_document(text: str, path: str) -> Document | None:
    """JSON that YAML cannot read (tabs, some escapes) still counts, without line numbers."""
    try:
        return Document(data=json.loads(text))
    except ValueError:
        return None


def _error_finding(error: YamlError, path: str) -> Finding:
    code = CODE_DUPLICATE_KEY if error.message.startswith("duplicate key") else CODE_PARSE_ERROR
    message = error.message + (f"; {error.hint}" if error.hint else "")
    return make_finding(code, message, obj=None, locations=[error.location or Location(path)])


def _documents(path: str) -> tuple[list[Document], list[Finding]]:
    try:
        text = read_text(path)
    except YamlError as error:
        return [], [_error_finding(error, path)]
    except OSError as error:
        return [], [make_finding(CODE_PARSE_ERROR, f"cannot read the file: {error.strerror}", obj=None,
                                 locations=[Location(path)])]
    try:
        return load_documents(text, filename=path), []  # one stream: the fast path, when no document is broken
    except YamlError:
        pass  # find each broken document (and keep its neighbours) document by document
    documents: list[Document] = []
    findings: list[Finding] = []
    budget = NodeBudget()  # one per file, shared by its documents (a file of many small bombs is still one file)
    for chunk, line_offset in _chunks(text):
        if budget.left < 0:
            break  # the finding is made; the rest of the file would only repeat it
        try:
            documents.extend(load_documents(chunk, filename=path, line_offset=line_offset, budget=budget))
        except YamlError as error:
            fallback = _json_document(chunk, path) if path.endswith(".json") else None
            if fallback is not None:
                documents.append(fallback)
            else:
                findings.append(_error_finding(error, path))
    return documents, findings


def load_manifest_paths(paths: list[str]) -> tuple[list[Manifest], list[Finding]]:
    """Manifests from files and directories, plus findings for documents that could not be read and
    for files that hold no Kubernetes objects (skipped, as an info finding naming them)."""
    manifests: list[Manifest] = []
    findings: list[Finding] = []
    for path in yaml_files(paths):
        documents, problems = _documents(path)
        findings.extend(problems)
        reason = not_manifests(path, documents)
        if reason is not None:
            findings.append(make_finding(CODE_NOT_MANIFESTS, f"skipped: {reason}", obj=None, locations=[Location(path)]))
            continue
        objects, not_objects = objects_in(path, documents)
        manifests.extend(objects)
        findings.extend(_not_an_object([location]) for location in not_objects)
    return manifests, findings


def _not_an_object(locations: list[Location]) -> Finding:
    return make_finding(
        CODE_NOT_AN_OBJECT,
        "document is not a mapping, so not a Kubernetes object; every document needs apiVersion, kind and metadata",
        obj=None,
        locations=locations,
    )
