"""Where a rendered object came from — and how that knowledge crosses back from the render worker.

A rendered object's `SourceMap` turns a JSON path into the places a person edits: the values
lines that set it, then the template line that printed it (`RenderedSource`). Templates run in a
worker process (`worker.py`), so per template the worker hands back its objects as plain data and
one `marshal` blob with the rest: the output's line provenance (a printed value by its origin, a
`to_yaml` text by the values path it pasted, found again in this process's tracked values) and
each document's line map. Most renders never ask for a location (no finding), so the blob is only
unpacked when the first `locate` does — the objects are all the caller pays for up front.
"""
from __future__ import annotations

import marshal
from dataclasses import dataclass
from typing import Any

from ..model.errors import Location
from ..yamlio.documents import Document, Path
from .tracking import RenderedOutput, TrackedText

# One template's results as the worker sends them: its name, (object, first line) per document, the blob.
PackedTemplate = tuple[str, list[tuple[dict, int]], bytes]
_TEXT, _ORIGIN = "t", "o"


@dataclass
class RenderedSource:
    """SourceMap of a rendered object: values lines first (most specific), then the template line."""

    output: RenderedOutput
    document: Document

    def locate(self, path: Path) -> list[Location]:
        output_line = self.document.line_of(path)
        locations = list(self.output.values_locations(output_line))
        template_location = self.output.template_location(output_line)
        if template_location not in locations:
            locations.append(template_location)
        return locations

    @property
    def template(self) -> Location:
        return self.output.template_location(self.document.start_line)


def pack(output: RenderedOutput, documents: list[Document]) -> PackedTemplate:
    """What the worker sends for one template (plain data only)."""
    blob = marshal.dumps((_output_wire(output), [document.lines for document in documents]))
    return output.template, [(document.data, document.start_line) for document in documents], blob


class Provenance:
    """One template's output provenance and line maps, unpacked the first time anyone asks."""

    def __init__(self, blob: bytes, *, values: Any) -> None:
        self._blob = blob
        self._values = values  # this process's tracked values, where `to_yaml` paths point
        self._unpacked: tuple[RenderedOutput, list[dict]] | None = None

    def unpack(self) -> tuple[RenderedOutput, list[dict]]:
        if self._unpacked is None:
            output_wire, lines = marshal.loads(self._blob)
            self._unpacked = (_output_from_wire(output_wire, values=self._values), lines)
            self._blob = b""
        return self._unpacked


class WiredSource:
    """SourceMap of an object the worker rendered: a `RenderedSource` once its provenance is unpacked."""

    def __init__(self, provenance: Provenance, *, index: int, data: dict, start_line: int) -> None:
        self.provenance = provenance
        self.index = index
        self.data = data
        self.start_line = start_line

    def _source(self) -> RenderedSource:
        output, lines = self.provenance.unpack()
        return RenderedSource(output=output, document=Document(data=self.data, lines=lines[self.index], start_line=self.start_line))

    def locate(self, path: Path) -> list[Location]:
        return self._source().locate(path)

    @property
    def template(self) -> Location:
        return self._source().template


def _output_wire(output: RenderedOutput) -> tuple:
    """An output as plain data: printed values by origin, `to_yaml` texts by the values path they pasted."""
    text_index: dict[int, int] = {}
    texts: list[tuple] = []
    lines: dict[int, list[tuple]] = {}
    for line, printed_values in output.line_values.items():
        entries = []
        for printed in printed_values:
            if isinstance(printed, tuple):
                text, index = printed
                if text.source_value is None:
                    continue  # pasted from values nobody tracks: nothing to point at
                key = text_index.get(id(text))
                if key is None:
                    key = text_index[id(text)] = len(texts)
                    texts.append((tuple(text.source_value.values_path), text.line_paths))
                entries.append((_TEXT, key, index))
            else:
                origin = getattr(printed, "origin", None)
                if origin is not None:
                    entries.append((_ORIGIN, str(origin.file), origin.line))
        if entries:
            lines[line] = entries
    return output.template, output.text, output.line_template, lines, texts


def _output_from_wire(wire: tuple, *, values: Any) -> RenderedOutput:
    template, text, line_template, lines, texts = wire
    pasted = [_pasted_text(values, path, line_paths) for path, line_paths in texts]
    line_values = {
        line: [(pasted[first], second) if tag == _TEXT else _Printed(Location(first, second)) for tag, first, second in entries]
        for line, entries in lines.items()
    }
    return RenderedOutput(template=template, text=text, line_template=line_template, line_values=line_values)


class _Printed:
    """A value printed in the worker, as this process knows it: only where it was set."""

    __slots__ = ("origin",)

    def __init__(self, origin: Location) -> None:
        self.origin = origin


def _pasted_text(values: Any, path: Path, line_paths: list[Path] | None) -> TrackedText:
    node = values
    for part in path:
        node = node[part]
    text = TrackedText()
    text.source_value = node
    text.line_paths = line_paths  # marshal keeps tuples as tuples
    return text
