"""Values printed the way Go's `%#v` prints them, for the `Invalid value:` part of apiserver messages.

The apiserver builds many field errors from typed Go values (`field.Invalid(path, spec.ClusterIPs,
...)`), so what users and tools see is Go syntax: `[]string{"10.96.0.1"}`,
`map[string]string{"app":"reviews"}`. Messages that match the real ones keep `kubectl` output and
client-side string matching honest.
"""
from __future__ import annotations

import json
from typing import Any


def string_slice(values: list[Any] | None) -> str:
    """`[]string{"a", "b"}`, or `[]string(nil)` for no list."""
    if values is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(json.dumps(str(value)) for value in values) + "}"


def string_map(values: dict[str, Any] | None) -> str:
    """`map[string]string{"a":"1", "b":"2"}` (keys sorted, as Go's fmt sorts them)."""
    if values is None:
        return "map[string]string(nil)"
    return "map[string]string{" + ", ".join(f"{json.dumps(k)}:{json.dumps(str(values[k]))}"
                                            for k in sorted(values)) + "}"


def label_selector(selector: dict[str, Any] | None) -> str:
    """A metav1.LabelSelector as `%#v` shows it (matchExpressions summarised as Go would list them)."""
    selector = selector or {}
    expressions = selector.get("matchExpressions")
    rendered = "[]v1.LabelSelectorRequirement(nil)"
    if expressions:
        items = [f'v1.LabelSelectorRequirement{{Key:{json.dumps(str(e.get("key", "")))}, '
                 f'Operator:{json.dumps(str(e.get("operator", "")))}, Values:{string_slice(e.get("values"))}}}'
                 for e in expressions if isinstance(e, dict)]
        rendered = "[]v1.LabelSelectorRequirement{" + ", ".join(items) + "}"
    return f"v1.LabelSelector{{MatchLabels:{string_map(selector.get('matchLabels'))}, MatchExpressions:{rendered}}}"
