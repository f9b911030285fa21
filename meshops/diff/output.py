"""Showing a plan: coloured unified YAML diffs, JSON for machines, Markdown for pull requests.

Every renderer works on masked copies (`secrets.mask_pair`), so no output format can leak a
Secret value. Exit codes are the caller's business and the same for every format.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Iterator

from ..yamlio.emitter import to_text
from .plan import Action, Change, Plan
from .routes import route_changes
from .secrets import mask_pair, mask_patch

# GitHub rejects comments over 65,536 characters; leave room for the header and table.
MARKDOWN_BUDGET = 60_000
MARKDOWN_TABLE_ROWS = 200
SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.PRUNE: "-", Action.CONFLICT: "!", Action.UNCHANGED: "=",
           Action.KEEP: "#"}
EMOJI = {Action.CREATE: "➕", Action.UPDATE: "✏️", Action.PRUNE: "🗑️", Action.CONFLICT: "⛔", Action.UNCHANGED: "",
         Action.KEEP: "🛡️"}
# Changes that show no YAML diff: nothing of theirs would be written.
NO_DIFF = (Action.CONFLICT, Action.KEEP)


def unified_diff(change: Change) -> list[str]:
    """Unified diff lines (without trailing newlines) from live to desired, Secrets masked."""
    desired, live = mask_pair(change.desired_normalized, change.live_normalized)
    before = to_text(live).splitlines() if live is not None else []
    after = to_text(desired).splitlines() if desired is not None else []
    name = f"{change.key.kind.lower()}/{change.key.namespace + '/' if change.key.namespace else ''}{change.key.name}"
    return list(difflib.unified_diff(before, after, fromfile=f"live/{name}", tofile=f"desired/{name}", lineterm="", n=3))


def _colour(line: str) -> tuple[str, str | None]:
    if line.startswith(("+++", "---")):
        return line, "bright_black"
    if line.startswith("+"):
        return line, "green"
    if line.startswith("-"):
        return line, "red"
    if line.startswith("@@"):
        return line, "cyan"
    return line, None


def text_lines(plan: Plan, *, show_unchanged: bool = False) -> Iterator[tuple[str, str | None]]:
    """(line, colour) pairs of the human-readable plan; colour None = default."""
    for change in plan.changes:
        if change.action is Action.UNCHANGED and not show_unchanged:
            continue
        header = f"{SYMBOLS[change.action]} {change.key} ({change.action.value}{': ' + change.reason if change.reason else ''})"
        yield header, "yellow" if change.action in NO_DIFF else "bold"
        if change.action in (Action.CREATE, Action.UPDATE, Action.PRUNE):
            for line in unified_diff(change):
                yield _colour(line)
        for route in route_changes(change):
            yield f"  route {route}", "magenta"
    yield plan.summary(), "bold"


def _shown_object(change: Change) -> dict | None:
    """The object whose kind decides what is masked: either normalized side (a portable change has no other)."""
    return change.desired_normalized if change.desired_normalized is not None else change.live_normalized


def _pointer_label(pointer: str) -> str:
    """`/spec/http/0/route` -> `spec.http[0].route`."""
    parts = [part.replace("~1", "/").replace("~0", "~") for part in pointer.lstrip("/").split("/")]
    return "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in parts).lstrip(".")


def _at_pointer(document: object, pointer: str) -> object:
    node = document
    for part in [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _short(value: object) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def field_changes(change: Change) -> list[str]:
    """One line per changed field, from the (masked) patch: `+ path: value`, `~ path: old -> new`, `- path`."""
    obj = _shown_object(change)
    _, live = mask_pair(change.desired_normalized, change.live_normalized)
    lines = []
    for op in mask_patch(obj, change.patch):
        label = _pointer_label(op.get("path", ""))
        if op["op"] == "add":
            lines.append(f"+ {label}: {_short(op.get('value'))}")
        elif op["op"] == "remove":
            lines.append(f"- {label} (was {_short(_at_pointer(live, op['path']))})")
        elif op["op"] == "replace":
            lines.append(f"~ {label}: {_short(_at_pointer(live, op['path']))} -> {_short(op.get('value'))}")
        else:
            lines.append(f"~ {label} ({op['op']})")
    return lines


def plan_document(plan: Plan) -> dict:
    """The plan as a JSON-ready dict: summary counts and every change with its (masked) patch."""
    changes = []
    for change in plan.changes:
        obj = _shown_object(change)
        changes.append(
            {
                "action": change.action.value,
                "group": change.key.group,
                "kind": change.key.kind,
                "namespace": change.key.namespace,
                "name": change.key.name,
                "patch": mask_patch(obj, change.patch),
                "routes": route_changes(change),
                "reason": change.reason or None,
                "adopt": change.adopt,
            }
        )
    return {
        "environment": plan.environment,
        "revision": plan.revision,
        "summary": {action.value: len(plan.of(action)) for action in Action},
        "changes": changes,
    }


def to_json(plan: Plan) -> str:
    """The plan as JSON (`plan_document`)."""
    return json.dumps(plan_document(plan), indent=2, sort_keys=True)


@dataclass
class ClusterPlan:
    """One cluster's part of an environment's diff: its plan, or why there is none."""

    cluster: str
    plan: Plan | None
    error: str | None = None  # the one-line error that stopped this cluster
    exit_code: int = 0
    label: str = ""  # how the cluster was reached (context and server)


def fleet_document(environment: str, revision: str | None, clusters: list[ClusterPlan]) -> dict:
    """An environment's diff over its clusters as a JSON-ready dict: one entry per cluster."""
    return {
        "environment": environment,
        "revision": revision,
        "clusters": [
            {"cluster": entry.cluster, "exitCode": entry.exit_code, "error": entry.error,
             "plan": plan_document(entry.plan) if entry.plan is not None else None}
            for entry in clusters
        ],
    }


def _header(plan: Plan, title: str | None) -> str:
    revision = (plan.revision or "working tree")[:12]
    return f"### {title or 'meshops diff'} — `{plan.environment}` @ `{revision}`"


def to_markdown(plan: Plan, *, title: str | None = None) -> str:
    """A pull-request comment: summary, table, route summary, collapsible diffs, sized to fit."""
    parts = [_header(plan, title), "", *_markdown_body(plan, budget=MARKDOWN_BUDGET)]
    while parts[-1] == "":
        parts.pop()
    return "\n".join(parts) + "\n"


def fleet_markdown(environment: str, revision: str | None, clusters: list[ClusterPlan], *, title: str | None = None) -> str:
    """One comment for an environment over its clusters: a section per cluster, the budget shared."""
    parts = [f"### {title or 'meshops diff'} — `{environment}` @ `{(revision or 'working tree')[:12]}`", ""]
    for entry in clusters:
        parts.append(f"#### `{entry.cluster}`" + (f" ({entry.label})" if entry.label else ""))
        parts.append("")
        if entry.plan is None:
            parts += [f":x: {entry.error} (exit {entry.exit_code})", ""]
            continue
        budget = (MARKDOWN_BUDGET - sum(len(p) + 1 for p in parts)) // max(1, len(clusters) - clusters.index(entry))
        parts += _markdown_body(entry.plan, budget=budget, cluster=entry.cluster)
    return "\n".join(parts) + "\n"


def _markdown_body(plan: Plan, *, budget: int, cluster: str | None = None) -> list[str]:
    """Summary, table, traffic and as many collapsible diffs as `budget` characters allow."""
    parts = [f"**{plan.summary()}**", ""]
    visible = [c for c in plan.changes if c.action is not Action.UNCHANGED]
    if not visible:
        parts.append("No differences: the cluster matches git.")
        parts.append("")
        return parts
    parts += ["| | Kind | Namespace | Name | Change |", "|---|---|---|---|---|"]
    for change in visible[:MARKDOWN_TABLE_ROWS]:
        detail = change.action.value + (f": {change.reason}" if change.reason else "")
        parts.append(f"| {EMOJI[change.action]} | {change.key.kind} | {change.key.namespace or '—'} | {change.key.name} | {detail} |")
    if len(visible) > MARKDOWN_TABLE_ROWS:
        parts.append(f"| | … | | | {len(visible) - MARKDOWN_TABLE_ROWS} more |")
    routes = [line for change in visible for line in route_changes(change)]
    if routes:
        parts += ["", "**Traffic**", ""] + [f"- `{line}`" for line in routes]
    parts.append("")
    used = sum(len(p) + 1 for p in parts)
    shown = 0
    for change in visible:
        if change.action in NO_DIFF:
            continue
        block = "\n".join(
            [f"<details><summary>{change.key} ({change.action.value})</summary>", "", "```diff", *unified_diff(change), "```", "</details>", ""]
        )
        if used + len(block) > budget:
            remaining = sum(1 for c in visible if c.action not in NO_DIFF) - shown
            narrowed = f" --cluster {cluster}" if cluster else ""
            parts.append(f"_… {remaining} more diffs not shown to keep this comment small; run "
                         f"`meshops diff --env {plan.environment}{narrowed}` for all._")
            parts.append("")
            break
        parts.append(block)
        used += len(block) + 1
        shown += 1
    return parts
