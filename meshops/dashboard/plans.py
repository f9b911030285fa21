"""The plan view: what the next reconcile of an environment would change, as `meshops diff -o markdown` shows it.

The plan of the branch head against the cluster (`pipeline.plan.plan_rendered`, the same call
`meshops diff` makes), laid out in the Markdown comment's order with the route summary first:
traffic, then the table of changes, then each object's unified diff. Every diff goes through
`diff.output.unified_diff`, which masks Secret values; the Markdown itself is `to_markdown`.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..diff.output import EMOJI, MARKDOWN_BUDGET, MARKDOWN_TABLE_ROWS, to_markdown, unified_diff
from ..diff.plan import Action, Plan
from ..diff.routes import route_changes

# How a unified diff line is coloured (a CSS class), by its first characters; first match wins.
LINE_CLASSES = (("+++", "file"), ("---", "file"), ("@@", "hunk"), ("+", "add"), ("-", "del"))


@dataclass(frozen=True)
class ChangeRow:
    action: str
    emoji: str
    kind: str
    namespace: str
    name: str
    detail: str


@dataclass(frozen=True)
class ObjectDiff:
    title: str
    action: str
    lines: tuple[tuple[str, str], ...]  # (css class, text)


@dataclass(frozen=True)
class PlanView:
    environment: str
    cluster: str
    revision: str | None
    summary: str
    routes: tuple[str, ...]
    changes: tuple[ChangeRow, ...]
    more_changes: int  # rows left out of the table (as the Markdown comment does)
    diffs: tuple[ObjectDiff, ...]
    diffs_left_out: int
    markdown: str


def line_class(line: str) -> str:
    return next((css for prefix, css in LINE_CLASSES if line.startswith(prefix)), "context")


def plan_view(plan: Plan, *, cluster: str) -> PlanView:
    """The plan as the page shows it (see module docstring)."""
    visible = [change for change in plan.changes if change.action is not Action.UNCHANGED]
    rows = tuple(
        ChangeRow(action=change.action.value, emoji=EMOJI[change.action], kind=change.key.kind,
                  namespace=change.key.namespace or "—", name=change.key.name,
                  detail=change.action.value + (f": {change.reason}" if change.reason else ""))
        for change in visible[:MARKDOWN_TABLE_ROWS])
    diffs: list[ObjectDiff] = []
    used, left_out = 0, 0
    for change in visible:
        if change.action is Action.CONFLICT:
            continue
        lines = unified_diff(change)
        size = sum(len(line) + 1 for line in lines)
        if used + size > MARKDOWN_BUDGET:
            left_out += 1
            continue
        used += size
        diffs.append(ObjectDiff(title=str(change.key), action=change.action.value,
                                lines=tuple((line_class(line), line) for line in lines)))
    return PlanView(environment=plan.environment, cluster=cluster, revision=plan.revision, summary=plan.summary(),
                    routes=tuple(line for change in visible for line in route_changes(change)), changes=rows,
                    more_changes=max(0, len(visible) - MARKDOWN_TABLE_ROWS), diffs=tuple(diffs), diffs_left_out=left_out,
                    markdown=to_markdown(plan))
