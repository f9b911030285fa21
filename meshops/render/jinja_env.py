"""The Jinja2 side of rendering: a sandboxed, strict environment and per-template error mapping.

Templates run in `ImmutableSandboxedEnvironment` (no attribute access to Python internals, no
mutation of values) with `StrictUndefined` (a missing key is an error, never an empty string).
`*` and `**` are checked before they run: a result larger than the render memory budget (a string
repeated two billion times) or a number too long to print is refused at once, with its line,
instead of being allocated (the worker's memory cap is the backstop for everything else).
Every Jinja failure becomes a `ConfigError` naming the template file and line.
"""
from __future__ import annotations

import re
import sys
import traceback
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from ..model.errors import ConfigError, Location
from .budget import MEMORY_HINT, BudgetExceeded, RenderBudget, human_bytes
from .filters import FILTERS, GLOBALS, TemplateFailure
from .tracking import OutputTracker, RenderedOutput

# Python refuses to print integers longer than this many digits (3.11's default; 0 = no limit).
_MAX_INT_DIGITS = getattr(sys, "get_int_max_str_digits", lambda: 4300)() or 4300
_MAX_INT_BITS = int(_MAX_INT_DIGITS * 3.33)
_ITEM_BYTES = {str: 1, bytes: 1, list: 8, tuple: 8}  # at least this much per element (a list slot is a pointer)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with `*` and `**` refused when their result would not fit the budget."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, *, budget: RenderBudget, **options: Any) -> None:
        super().__init__(**options)
        self.budget = budget

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            self._check_repeat(left, right)
        elif _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1 and right * abs(left).bit_length() > _MAX_INT_BITS:
            raise _too_long("**")
        return super().call_binop(context, operator, left, right)

    def _check_repeat(self, left: Any, right: Any) -> None:
        if _is_int(left) and not _is_int(right):
            left, right = right, left
        if _is_int(left) and _is_int(right):
            if left.bit_length() + right.bit_length() > _MAX_INT_BITS:
                raise _too_long("*")
            return
        per_item = next((size for kind, size in _ITEM_BYTES.items() if isinstance(left, kind)), None)
        if per_item is not None and _is_int(right) and len(left) * right * per_item > self.budget.memory:
            size = human_bytes(len(left) * right * per_item)
            raise BudgetExceeded(f"`*` would make a value of {size}, over the render memory budget of "
                                 f"{self.budget.describe_memory()}", hint=MEMORY_HINT)


def _too_long(operator: str) -> BudgetExceeded:
    return BudgetExceeded(f"`{operator}` would make a number of more than {_MAX_INT_DIGITS} digits",
                          hint="no manifest needs such a number; Python could not even print it")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def make_environment(sources: dict[str, str], tracker: OutputTracker, *, budget: RenderBudget) -> BoundedSandbox:
    """A sandboxed environment loading templates by repo-relative path from `sources`."""

    def load(name: str):
        source = sources.get(name)
        if source is None:
            return None
        return source, name, lambda: True

    environment = BoundedSandbox(
        budget=budget,
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=tracker.finalize,
    )
    environment.filters.update(FILTERS)
    environment.globals.update(GLOBALS)
    return environment


# Values are wrapped in provenance-tracking subclasses; error messages should name the plain types.
_TRACKED_NAMES = re.compile(r"meshops\.render\.tracking\.Tracked(Dict|List|Str|Int|Float|Text)")


def _template_line(error: BaseException, sources: dict[str, str]) -> tuple[str, int] | None:
    """The innermost template frame of a rewritten Jinja traceback."""
    found = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename in sources:
            found = (frame.filename, frame.lineno or 1)
    return found


def _describe(error: BaseException) -> tuple[str, str]:
    """(message, hint) for a Jinja failure."""
    if isinstance(error, SecurityError):
        return (
            f"template tried to reach Python internals: {error}",
            "templates run sandboxed; use values and filters only",
        )
    if isinstance(error, jinja2.UndefinedError):
        message = _TRACKED_NAMES.sub(lambda match: match.group(1).lower(), error.message or "")
        return (
            f"undefined value: {message}",
            "define it in values (environments/*/values.yaml) or guard it with `| default(...)` or `is defined`",
        )
    if isinstance(error, jinja2.TemplateNotFound):
        return f"template not found: {error.name}", "include paths are relative to the repo root, e.g. templates/_helpers.j2"
    if isinstance(error, (TypeError, ValueError, ZeroDivisionError, KeyError, IndexError, AttributeError, OverflowError)):
        return f"template expression failed: {type(error).__name__}: {error}", "check the expression and the types of the values it uses"
    return f"template failed: {error}", "check the template"


def render_template(
    environment: BoundedSandbox,
    tracker: OutputTracker,
    sources: dict[str, str],
    name: str,
    variables: dict[str, Any],
) -> RenderedOutput:
    """Render one template, recording per-line provenance; Jinja errors become ConfigErrors."""
    try:
        template = environment.get_template(name)
    except jinja2.TemplateSyntaxError as error:
        raise ConfigError(
            f"template syntax error: {error.message}",
            location=Location(error.filename or name, error.lineno),
            hint="fix the Jinja tag or expression on this line",
        ) from None
    try:
        context = template.new_context(variables)
        return tracker.run(name, template.root_render_func(context))
    except (TemplateFailure, BudgetExceeded) as failure:
        where = None
        try:
            environment.handle_exception()
        except Exception as rewritten:  # noqa: BLE001 - we only want its traceback
            where = _template_line(rewritten, sources)
        failure.location = Location(*where) if where else Location(name)
        raise failure from None
    except jinja2.TemplateSyntaxError as error:  # from an included template
        raise ConfigError(
            f"template syntax error: {error.message}",
            location=Location(error.filename or name, error.lineno),
            hint="fix the Jinja tag or expression on this line",
        ) from None
    except Exception:  # noqa: BLE001 - every template failure is the template author's to fix
        try:
            environment.handle_exception()
        except Exception as rewritten:  # noqa: BLE001
            where = _template_line(rewritten, sources)
            location = Location(*where) if where else Location(name)
            if isinstance(rewritten, MemoryError):
                raise environment.budget.outgrew("template", location=location) from None
            message, hint = _describe(rewritten)
            raise ConfigError(message, location=location, hint=hint) from None
        raise
