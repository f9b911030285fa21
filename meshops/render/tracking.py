"""Provenance for rendered output: which template line and which values lines made each output line.

Values are wrapped in `str`/`int`/`float`/`dict`/`list` subclasses that carry their values-file
origin. Jinja calls `finalize` on every `{{ expression }}` it prints, so the tracker sees the
origin of each printed value just before the generator yields it; the generator's suspended frame
tells the template line (through the compiled template's `debug_info`). The result is a per-line
map of the rendered text that `RenderedSource.locate` turns into "edit values.yaml:12, rendered by
templates/reviews.yaml.j2:8".
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..model.errors import Location
from ..source.values import Values
from ..yamlio.documents import Path


class TrackedStr(str):
    """A string from values, with the file and line that set it."""

    origin: Location | None = None


class TrackedInt(int):
    origin: Location | None = None


class TrackedFloat(float):
    origin: Location | None = None


class TrackedDict(dict):
    origin: Location | None = None
    values_path: Path = ()


class TrackedList(list):
    origin: Location | None = None
    values_path: Path = ()


class TrackedText(str):
    """Multi-line text made from a tracked value (`to_yaml`): the value and the path each line shows.

    Origins per line are worked out only when asked (a finding on that line), not while rendering.
    """

    source_value: Any = None
    line_paths: list[Path] | None = None

    def line_origins(self, index: int) -> list[Location]:
        value = self.source_value
        if value is None or self.line_paths is None or index >= len(self.line_paths):
            return origins_of(value)
        node = value
        for part in self.line_paths[index]:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                break
        return origins_of(node) or origins_of(value)


_SCALARS = {str: TrackedStr, int: TrackedInt, float: TrackedFloat}


def track(values: Values) -> TrackedDict:
    """A copy of the merged values where every node knows where it was set."""

    origins = values.origins

    # A path without an origin of its own has its parent's (as `Values.origin` probes): passed down.
    def wrap(node: Any, path: Path, inherited: Location | None) -> Any:
        origin = origins.get(path, inherited) if path else None
        if isinstance(node, dict):
            wrapped: Any = TrackedDict({key: wrap(value, path + (key,), origin) for key, value in node.items()})
            wrapped.values_path = path
        elif isinstance(node, list):
            wrapped = TrackedList([wrap(value, path + (index,), origin) for index, value in enumerate(node)])
            wrapped.values_path = path
        else:
            scalar = _SCALARS.get(type(node))
            if scalar is None:  # bool and None cannot be subclassed; they print without provenance
                return node
            wrapped = scalar(node)
        wrapped.origin = origin
        return wrapped

    return wrap(values.data, (), None)


def origins_of(value: Any) -> list[Location]:
    origin = getattr(value, "origin", None)
    return [origin] if origin is not None else []


@dataclass
class TemplateDebugInfo:
    """Python line -> template line for one compiled template (from its `debug_info`)."""

    python_lines: list[int]
    template_lines: list[int]

    @classmethod
    def parse(cls, debug_info: str) -> "TemplateDebugInfo":
        pairs = sorted(
            (int(python), int(template))
            for template, python in (item.split("=") for item in debug_info.split("&") if item)
        )
        return cls([p for p, _ in pairs], [t for _, t in pairs])

    def template_line(self, python_line: int) -> int:
        index = bisect.bisect_right(self.python_lines, python_line) - 1
        return self.template_lines[index] if index >= 0 else 1


@dataclass
class RenderedOutput:
    """One template's rendered text and where each of its lines came from."""

    template: str
    text: str
    line_template: list[tuple[str, int]] = field(default_factory=list)  # per output line: (template file, line)
    # 0-based output line -> what was printed on it: tracked values, or (to_yaml text, its line index)
    line_values: dict[int, list[Any]] = field(default_factory=dict)

    def template_location(self, output_line: int) -> Location:
        """Template file and line that produced 1-based `output_line`."""
        index = min(max(output_line - 1, 0), len(self.line_template) - 1) if self.line_template else -1
        if index < 0:
            return Location(self.template)
        file, line = self.line_template[index]
        return Location(file, line)

    def values_locations(self, output_line: int) -> list[Location]:
        locations: list[Location] = []
        for printed in self.line_values.get(output_line - 1, []):
            if isinstance(printed, tuple):
                text, index = printed
                found = text.line_origins(index)
            else:
                found = origins_of(printed)
            locations.extend(location for location in found if location not in locations)
        return locations


class OutputTracker:
    """Drives a template's generator and builds the per-line provenance of what it yields."""

    def __init__(self, sources: dict[str, str]) -> None:
        # template file -> source text, for locating literal chunks exactly
        self.sources = sources
        self.line_starts: dict[str, list[int]] = {}
        self.debug: dict[int, tuple[str, TemplateDebugInfo]] = {}
        self.pending: list[Any] = []
        # (id of the code, instruction in it, literal text or None) -> (template file, template line):
        # loops print the same chunks from the same code again and again
        self.placed: dict[tuple[int, int, str | None], tuple[str, int]] = {}

    def finalize(self, value: Any) -> Any:
        """Jinja's finalize hook: remember the value about to be printed."""
        self.pending.append(value)
        return value

    def _frame_template(self, generator: Any) -> tuple[str, int]:
        """(template file, template line) of the innermost suspended template generator."""
        frame = generator.gi_frame
        while True:
            inner = generator.gi_yieldfrom
            if inner is None:
                cached = self.debug.get(id(frame.f_code))
                if cached is None:
                    cached = self._describe_code(frame)
                if cached[2]:  # `{% include %}` iterates the included template's generator in a local `gen`
                    inner = frame.f_locals.get("gen")
                if inner is None or getattr(inner, "gi_frame", None) is None:
                    return cached[0], cached[1].template_line(frame.f_lineno)
            elif getattr(inner, "gi_frame", None) is None:
                cached = self.debug.get(id(frame.f_code)) or self._describe_code(frame)
                return cached[0], cached[1].template_line(frame.f_lineno)
            generator, frame = inner, inner.gi_frame

    def _describe_code(self, frame: Any) -> tuple[str, TemplateDebugInfo, bool]:
        described = (
            frame.f_globals.get("name") or "<template>",
            TemplateDebugInfo.parse(frame.f_globals.get("debug_info", "")),
            "gen" in frame.f_code.co_varnames,
        )
        self.debug[id(frame.f_code)] = described
        return described

    def _literal_start_line(self, name: str, approximate_line: int, chunk: str) -> int:
        """Exact line where a literal chunk starts: search the template source from the mapped line."""
        source = self.sources.get(name)
        if source is None:
            return approximate_line
        starts = self.line_starts.get(name)
        if starts is None:
            starts = [0] + [i + 1 for i, char in enumerate(source) if char == "\n"]
            self.line_starts[name] = starts
        offset = starts[min(approximate_line, len(starts)) - 1]
        found = source.find(chunk, offset)
        if found < 0:
            return approximate_line
        return bisect.bisect_right(starts, found)

    def _place(self, generator: Any, chunk: str, is_expression: bool) -> tuple[str, int]:
        """(template file, template line) where `chunk` was produced; memoized where the answer is a
        function of the code position (and the literal text) alone."""
        frame = generator.gi_frame
        if generator.gi_yieldfrom is None:
            code = frame.f_code
            # the instruction, not the line: f_lineno walks the code's line table on every call, and a
            # code object's own hash is slow; the environment keeps every compiled template alive
            key = (id(code), frame.f_lasti, None if is_expression else chunk)
            placed = self.placed.get(key)
            if placed is not None:
                return placed
            described = self.debug.get(id(code)) or self._describe_code(frame)
            if not described[2]:  # no `{% include %}` in this code: nothing deeper can be running
                name, line = described[0], described[1].template_line(frame.f_lineno)
                placed = (name, line if is_expression else self._literal_start_line(name, line, chunk))
                self.placed[key] = placed
                return placed
        name, line = self._frame_template(generator)
        return name, line if is_expression else self._literal_start_line(name, line, chunk)

    def run(self, template_file: str, generator: Iterator[str]) -> RenderedOutput:
        parts: list[str] = []
        line_template: list[tuple[str, int]] = []
        line_values: dict[int, list[Any]] = {}
        at_line_start = True
        pending = self.pending
        place = self._place
        for chunk in generator:
            parts.append(chunk)
            if not chunk:
                pending.clear()
                continue
            printed = pending[-1] if pending else None
            is_expression = bool(pending)
            pending.clear()
            name, line = place(generator, chunk, is_expression)
            if "\n" not in chunk:  # the common case: part of one line
                if at_line_start:
                    line_template.append((name, line))
                    at_line_start = False
                if printed is not None:
                    entry = (printed, 0) if isinstance(printed, TrackedText) else printed
                    line_values.setdefault(len(line_template) - 1, []).append(entry)
                continue
            pieces = chunk.split("\n")
            last = len(pieces) - 1
            for index, piece in enumerate(pieces):
                if index > 0:
                    at_line_start = True
                    if index == last and not piece:
                        break  # the chunk ended with a newline; the next chunk starts the line
                if at_line_start:
                    line_template.append((name, line if is_expression else line + index))
                    at_line_start = False
                if printed is not None:
                    entry = (printed, index) if isinstance(printed, TrackedText) else printed
                    line_values.setdefault(len(line_template) - 1, []).append(entry)
        return RenderedOutput(template=template_file, text="".join(parts), line_template=line_template, line_values=line_values)
