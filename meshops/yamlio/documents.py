"""YAML in and out, the way every stage needs it: with line numbers, strict, and deterministic.

PyYAML silently keeps the last of two duplicate keys and forgets where each value came from. The
loader here composes with libyaml (`CSafeLoader`) and builds plain Python data itself, refusing
duplicate keys and recording the line of every key and list item under its JSON path, so later
stages (validate, diff) can point at `file:line`. Dumping goes through `meshops.yamlio.emitter` (sorted
keys, block style), so the same data always gives the same bytes.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Iterable

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..model.errors import ConfigError, Location
from .gcpause import paused_gc
from .emitter import to_text

Path = tuple[str | int, ...]

# A YAML bomb (nested aliases) expands exponentially; no real manifest file comes near this many
# nodes. The budget is per file (`NodeBudget`), not per document: thirty small bombs in one file
# must not add up to thirty budgets (about 150 bytes of data and line map per node).
MAX_NODES = 2_000_000

_MERGE_TAG = "tag:yaml.org,2002:merge"
# Kubernetes reads YAML as JSON: timestamps stay strings, so we keep their text too.
_TEXT_TAGS = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"}


class YamlError(ConfigError):
    """A YAML text that cannot be read: syntax error, duplicate key, alias bomb."""


@dataclass
class Document:
    """One YAML document: its data and the 1-based line of every key and list item."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    start_line: int = 1

    def line_of(self, path: Path) -> int:
        """Line of `path`, or of its nearest ancestor that has one (the document start at worst)."""
        probe = tuple(path)
        while probe:
            line = self.lines.get(probe)
            if line is not None:
                return line
            probe = probe[:-1]
        return self.lines.get((), self.start_line)


_STR_TAG = "tag:yaml.org,2002:str"
# Direct constructors for the common implicit tags (skips construct_object's bookkeeping).
_SCALAR_CONSTRUCTORS = {
    "tag:yaml.org,2002:int": SafeConstructor.construct_yaml_int,
    "tag:yaml.org,2002:float": SafeConstructor.construct_yaml_float,
    "tag:yaml.org,2002:bool": SafeConstructor.construct_yaml_bool,
    "tag:yaml.org,2002:null": SafeConstructor.construct_yaml_null,
}


# The tag of a node depends on its kind, its text and whether it was plain only (a loader without
# path resolvers, as ours); keys and values repeat a lot. lru_cache is C code: libyaml's composer
# calls it for every node without running a line of Python when the answer is known.
_RESOLVE = functools.lru_cache(maxsize=1 << 16)(yaml.resolver.Resolver().resolve)


class _Loader(yaml.CSafeLoader):
    """libyaml's loader with the tag resolver memoized (`_RESOLVE`)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.resolve = _RESOLVE  # an instance attribute: what the composer looks up first


class NodeBudget:
    """How many nodes one input (a file, a template's output) may still expand to, across its documents."""

    def __init__(self, limit: int = MAX_NODES) -> None:
        self.limit = limit
        self.left = limit


class _Retry(Exception):
    """The fast build met something whose error message needs the line map: build again with it."""


class _Builder:
    """Turns composed nodes into dicts/lists/scalars, recording lines and refusing duplicates."""

    def __init__(self, filename: str, budget: NodeBudget) -> None:
        self.filename = filename
        self.scalars = SafeConstructor()
        self.budget = budget

    def build(self, node: Node, path: Path, lines: dict[Path, int]) -> Any:
        self.budget.left -= 1
        if self.budget.left < 0:
            raise YamlError(
                f"expands to too many nodes (over {self.budget.limit:,} in the whole file)",
                location=Location(self.filename, node.start_mark.line + 1),
                hint="remove nested aliases (a YAML bomb?)",
            )
        if isinstance(node, ScalarNode):
            tag = node.tag
            if tag == _STR_TAG or tag in _TEXT_TAGS:
                return node.value
            construct = _SCALAR_CONSTRUCTORS.get(tag)
            if construct is not None:
                return construct(self.scalars, node)
            return self.scalars.construct_object(node, deep=True)
        if isinstance(node, SequenceNode):
            items = []
            for index, child in enumerate(node.value):
                lines[path + (index,)] = child.start_mark.line + 1
                items.append(self.build(child, path + (index,), lines))
            return items
        if isinstance(node, MappingNode):
            return self._mapping(node, path, lines)
        raise YamlError(f"unsupported YAML node {node.tag}", location=Location(self.filename, node.start_mark.line + 1))

    def plain(self, node: Node) -> Any:
        """`build` without a line map (and without paths): the same data, the same budget, faster.

        Raises `_Retry` where `build` would raise an error that names another line (a duplicate
        key), so the caller can build again with lines for the exact message."""
        self.budget.left -= 1
        if self.budget.left < 0:
            self.build(node, (), {})  # raises the budget error, at this node's line
        kind = type(node)
        if kind is ScalarNode:
            tag = node.tag
            if tag == _STR_TAG or tag in _TEXT_TAGS:
                return node.value
            construct = _SCALAR_CONSTRUCTORS.get(tag)
            return construct(self.scalars, node) if construct is not None else self.scalars.construct_object(node, deep=True)
        if kind is SequenceNode:
            return [self.plain(child) for child in node.value]
        if kind is not MappingNode:
            raise _Retry
        result: dict = {}
        merged: dict = {}
        for key_node, value_node in node.value:
            tag = key_node.tag
            if tag == _STR_TAG and type(key_node) is ScalarNode:  # nearly every key: inlined
                self.budget.left -= 1
                key = key_node.value
            elif tag == _MERGE_TAG:
                for source in (value_node.value if isinstance(value_node, SequenceNode) else [value_node]):
                    built = self.plain(source)
                    if isinstance(built, dict):
                        merged.update(built)
                continue
            else:
                key = self.plain(key_node)
                if isinstance(key, (dict, list)):
                    raise _Retry
            if key in result:
                raise _Retry
            if type(value_node) is ScalarNode and value_node.tag == _STR_TAG:  # most values: inlined
                self.budget.left -= 1
                result[key] = value_node.value
            else:
                result[key] = self.plain(value_node)
        if self.budget.left < 0:
            raise _Retry
        if merged:
            for key, value in merged.items():
                result.setdefault(key, value)
        return result

    def _mapping(self, node: MappingNode, path: Path, lines: dict[Path, int]) -> dict:
        result: dict = {}
        merged: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    built = self.build(source, path, {})
                    if isinstance(built, dict):
                        merged.update(built)
                continue
            key = self.build(key_node, path, {})
            if isinstance(key, (dict, list)):
                raise YamlError(
                    "a mapping key must be a scalar",
                    location=Location(self.filename, key_node.start_mark.line + 1),
                )
            line = key_node.start_mark.line + 1
            if key in result:
                raise YamlError(
                    f"duplicate key {key!r} (first on line {lines.get(path + (key,), '?')})",
                    location=Location(self.filename, line),
                    hint="YAML keeps only the last value; remove or rename one of them",
                )
            lines[path + (key,)] = line
            result[key] = self.build(value_node, path + (key,), lines)
        if merged:
            for key, value in merged.items():
                result.setdefault(key, value)
        return result


def _mark_location(filename: str, error: yaml.MarkedYAMLError, line_offset: int) -> Location:
    mark = error.problem_mark or error.context_mark
    return Location(filename, mark.line + 1 + line_offset if mark else None)


def load_documents(text: str | bytes, *, filename: str, line_offset: int = 0, budget: NodeBudget | None = None) -> list[Document]:
    """Parse every document in `text`; empty and `null` documents are skipped, as kubectl skips them
    (a trailing `---`, a document holding only comments).

    `line_offset` shifts reported lines when `text` is a slice of a larger file; pass the file's
    `budget` with every slice so the slices share one.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise YamlError(
                f"not UTF-8 text (byte {error.start})", location=Location(filename), hint="save the file as UTF-8"
            ) from None
    if "\x00" in text:
        raise YamlError("contains NUL bytes, not YAML text", location=Location(filename), hint="is this a binary file?")
    builder = _Builder(filename, budget or NodeBudget())
    documents: list[Document] = []
    try:
        with paused_gc():
            return _load(text, filename, line_offset, builder, documents)
    except YamlError as error:
        if line_offset and error.location and error.location.line:
            error.location = Location(filename, error.location.line + line_offset)
        raise
    except yaml.MarkedYAMLError as error:
        problem = error.problem or error.context or "invalid YAML"
        raise YamlError(
            f"invalid YAML: {problem}",
            location=_mark_location(filename, error, line_offset),
            hint="check indentation and quoting on this line",
        ) from None
    except yaml.YAMLError as error:
        raise YamlError(f"invalid YAML: {error}", location=Location(filename)) from None


def _load(text: str, filename: str, line_offset: int, builder: "_Builder", documents: list[Document]) -> list[Document]:
    for node in yaml.compose_all(text, Loader=_Loader):
        if node is None:
            continue
        lines: dict[Path, int] = {(): node.start_mark.line + 1}
        data = builder.build(node, (), lines)
        if data is None:
            continue
        if line_offset:
            lines = {path: line + line_offset for path, line in lines.items()}
        documents.append(Document(data=data, lines=lines, start_line=lines[()]))
    return documents


def load_objects(text: str, *, filename: str, budget: NodeBudget | None = None) -> list[tuple[Any, int]]:
    """The data and first line of every document in `text`, without line maps (what rendering keeps;
    `load_documents` of the same text gives the same documents with their maps). Errors are exactly
    those `load_documents` raises."""
    if "\x00" in text:
        return [(document.data, document.start_line) for document in load_documents(text, filename=filename, budget=budget)]
    budget = budget or NodeBudget()
    left = budget.left
    builder = _Builder(filename, budget)
    objects: list[tuple[Any, int]] = []
    try:
        with paused_gc():
            for node in yaml.compose_all(text, Loader=_Loader):
                data = builder.plain(node) if node is not None else None
                if data is not None:  # empty and `null` documents skipped, as `load_documents` skips them
                    objects.append((data, node.start_mark.line + 1))
        return objects
    except (_Retry, YamlError, yaml.YAMLError):
        budget.left = left  # build again from the start, with lines: its error is the one to raise
        return [(document.data, document.start_line) for document in load_documents(text, filename=filename, budget=budget)]


def load_one(text: str | bytes, *, filename: str) -> Document:
    """Parse a file that must hold at most one document (values files, meshops.yaml)."""
    documents = load_documents(text, filename=filename)
    if len(documents) > 1:
        raise YamlError(
            "holds several YAML documents, expected one",
            location=Location(filename, documents[1].start_line),
            hint="remove the extra '---' documents",
        )
    return documents[0] if documents else Document(data=None)


def dump(data: Any) -> str:
    """One document as block YAML with sorted keys: identical data, identical bytes."""
    return to_text(data)


def dump_all(documents: Iterable[Any]) -> str:
    """Several documents, each starting with `---`, each as `dump` writes it."""
    return "".join("---\n" + to_text(document) for document in documents)
