"""Diff normalization cases as data: tests/data/diff/<case>/{desired,live,expected}.yaml (+ ignore.yaml, scope.yaml).

A new diff bug becomes a new directory, not new code. Every plan is made for the owner
`cases/prod` (repository `cases`, environment `prod`); its scope is the namespaces of the desired
objects plus `bookinfo`, inside the default allow-list, unless scope.yaml says otherwise
(`namespaces`: what meshops.yaml declares, `allowed`: the operator's --allowed-namespaces).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshops.diff.normalize import ignore_rules
from meshops.diff.output import text_lines, to_json, to_markdown
from meshops.diff.plan import make_plan
from meshops.diff.routes import route_changes
from meshops.model.identity import Owner
from meshops.model.manifest import FileSource, Manifest, key_of
from meshops.model.scope import AllowList, Scope
from meshops.yamlio.documents import load_documents

CASES_DIR = Path(__file__).parent / "data" / "diff"
CASES = sorted(path.name for path in CASES_DIR.iterdir() if path.is_dir())
OWNER = Owner(repo="cases", environment="prod")


def _documents(path: Path):
    return load_documents(path.read_text(), filename=str(path)) if path.exists() else []


def _plan(case: str):
    directory = CASES_DIR / case
    desired = [Manifest(obj=d.data, source=FileSource(str(directory / "desired.yaml"), d)) for d in _documents(directory / "desired.yaml")]
    live = {key_of(d.data): d.data for d in _documents(directory / "live.yaml")}
    ignore_file = directory / "ignore.yaml"
    ignore = ignore_rules(_documents(ignore_file)[0].data) if ignore_file.exists() else []
    scope_file = directory / "scope.yaml"
    declared = _documents(scope_file)[0].data if scope_file.exists() else {}
    namespaces = declared.get("namespaces") or ["bookinfo", *(m.namespace for m in desired)]
    allowed = AllowList(tuple(declared["allowed"])) if "allowed" in declared else AllowList()
    return make_plan(desired, live, owner=OWNER, scope=Scope.of(namespaces, allowed), ignore=ignore)


@pytest.mark.parametrize("case", CASES)
def test_diff_case(case):
    plan = _plan(case)
    expected = _documents(CASES_DIR / case / "expected.yaml")[0].data
    got = [
        {"action": c.action.value, "kind": c.key.kind, "namespace": c.key.namespace, "name": c.key.name}
        for c in plan.changes
    ]
    assert got == [{k: e[k] for k in ("action", "kind", "namespace", "name")} for e in expected]
    outputs = "\n".join(line for line, _ in text_lines(plan)) + to_json(plan) + to_markdown(plan)
    for change, want in zip(plan.changes, expected):
        if "patch" in want:
            masked = json.loads(to_json(plan))["changes"][plan.changes.index(change)]["patch"]
            assert masked == want["patch"]
        if "routes" in want:
            assert route_changes(change) == want["routes"]
        if "reason" in want:
            assert change.reason == want["reason"]
        for secret in want.get("never_shown", []):
            assert secret not in outputs


def test_every_default_of_the_shipped_gateway_api_schemas_is_a_server_default_diff_ignores():
    from meshops.diff.normalize import SERVER_DEFAULTS
    from meshops.model.kinds import GATEWAY_API_GROUP
    from meshops.validate.schemas import SHIPPED_KINDS, SchemaSet

    def defaults(node, path=()):
        if "default" in node:
            yield path, node["default"]
        for name, sub in (node.get("properties") or {}).items():
            yield from defaults(sub, path + (name,))
        if isinstance(node.get("items"), dict):
            yield from defaults(node["items"], path + ("*",))

    ignored = {(d.kind, d.path, repr(d.value)) for d in SERVER_DEFAULTS if d.group == GATEWAY_API_GROUP}
    declared = set()
    for kind in SHIPPED_KINDS:
        if kind.group == GATEWAY_API_GROUP:
            schema = SchemaSet.shipped().schema_for(f"{kind.group}/{kind.versions[0]}", kind.kind)
            declared |= {(kind.kind, path, repr(value)) for path, value in defaults(schema)}
    assert declared and sorted(declared - ignored) == [] and sorted(ignored - declared) == []


@pytest.mark.parametrize("case", CASES)
def test_a_portable_plan_shows_exactly_what_the_plan_shows(case):
    import pickle

    plan = _plan(case)
    portable = pickle.loads(pickle.dumps(plan.portable()))  # as it comes back from a forked process
    for show_unchanged in (False, True):
        assert list(text_lines(portable, show_unchanged=show_unchanged)) == list(text_lines(plan, show_unchanged=show_unchanged))
    assert to_json(portable) == to_json(plan)
    assert to_markdown(portable) == to_markdown(plan)
    assert all(change.manifest is None and change.live is None and change.desired is None for change in portable.changes)
