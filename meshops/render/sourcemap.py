"""Where a rendered object came from — and how that knowledge crosses back from the render worker.

A rendered object's `SourceMap` turns a JSON path into the places a person edits: the values
lines that set it, then the template line that printed it (`RenderedSource`). Templates run in a
worker process (`worker.py`), so per template the worker hands back its objects as plain data and
one `marshal` blob with the rest, complete in itself: the rendered text, the template line behind
every output line and the values lines behind every output line that printed values (worked out
in the worker, where the tracked values are). Nothing in the blob refers to this process's
values, so the manifest cache keeps blobs as they are and a hit rebuilds the same sources.

Most renders never ask for a location (no finding), so the blob is unpacked only when the first
`template` or `locate` does, and a document's line map (JSON path -> output line) is made only
when `locate` is asked: by reading the template's rendered text again, within the same node
budget the worker read it with.
"""
from __future__ import annotations

import marshal
from dataclasses import dataclass, field

from ..model.errors import Location
from ..yamlio.documents import Document, Path, load_documents
from .tracking import RenderedOutput

# One template's results as the worker sends them: its name, (object, first line) per document, the blob.
PackedTemplate = tuple[str, list[tuple[dict, int]], bytes]


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


@dataclass
class LocatedOutput(RenderedOutput):
    """A template output as the blob carries it: the template line behind every output line
    (inherited `template_location`) and the values places behind the lines that printed values."""

    values_at: dict[int, tuple[tuple[str, int | None], ...]] = field(default_factory=dict)

    def values_locations(self, output_line: int) -> list[Location]:
        return [Location(file, line) for file, line in self.values_at.get(output_line, ())]


def pack(output: RenderedOutput, objects: list[tuple[dict, int]]) -> PackedTemplate:
    """What the worker sends for one template: its objects with their first lines, and the blob."""
    return output.template, objects, marshal.dumps((output.template, output.text, output.line_template, _values_at(output)))


def _values_at(output: RenderedOutput) -> dict[int, tuple[tuple[str, int | None], ...]]:
    """1-based output line -> (file, line) of the values printed on it, as `RenderedOutput.values_locations`
    orders them (most lines print one tracked value: the short way)."""
    values_at = {}
    for index, printed_values in output.line_values.items():
        if len(printed_values) == 1 and type(printed_values[0]) is not tuple:
            origin = getattr(printed_values[0], "origin", None)
            if origin is not None:
                values_at[index + 1] = ((origin.file, origin.line),)
            continue
        located = tuple((location.file, location.line) for location in output.values_locations(index + 1))
        if located:
            values_at[index + 1] = located
    return values_at


class Provenance:
    """One template's blob, unpacked the first time anyone asks; its line maps, the first time `locate` does."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob  # kept: the manifest cache stores it as it is
        self._output: LocatedOutput | None = None
        self._line_maps: list[dict[Path, int]] | None = None

    @property
    def output(self) -> LocatedOutput:
        if self._output is None:
            template, text, line_template, values_at = marshal.loads(self.blob)
            self._output = LocatedOutput(template=template, text=text, line_template=line_template, values_at=values_at)
        return self._output

    def line_map(self, index: int) -> dict[Path, int]:
        """The line map of the template's `index`-th document (the worker read the same text the same way)."""
        if self._line_maps is None:
            output = self.output
            self._line_maps = [document.lines for document in load_documents(output.text, filename=output.template)]
        return self._line_maps[index]


class WiredSource:
    """SourceMap of an object the worker rendered (or the manifest cache kept): a `RenderedSource` once asked."""

    __slots__ = ("provenance", "index", "data", "start_line")

    def __init__(self, provenance: Provenance, *, index: int, data: dict, start_line: int) -> None:
        self.provenance = provenance
        self.index = index
        self.data = data
        self.start_line = start_line

    @property
    def output(self) -> LocatedOutput:
        """The template output this object is part of (as `RenderedSource.output`)."""
        return self.provenance.output

    @property
    def document(self) -> Document:
        """The object's document with its line map (as `RenderedSource.document`)."""
        return Document(data=self.data, lines=self.provenance.line_map(self.index), start_line=self.start_line)

    def locate(self, path: Path) -> list[Location]:
        return RenderedSource(output=self.output, document=self.document).locate(path)

    @property
    def template(self) -> Location:
        return self.output.template_location(self.start_line)
