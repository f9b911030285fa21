"""The house rules of docs/ARCHITECTURE.md, checked by reading every module's imports (ast).

Floors: a room may import rooms on its own floor rule (listed in ALLOWED) and nothing above it;
the simulated world (`sim`) and the test rig (`sandbox`) are never imported by the product; and no
module, counting imports inside functions too (not those only for type checkers), takes part in
an import cycle.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "meshops"

GROUND = {"model", "yamlio", "schema"}
EDGES = GROUND | {"cluster", "metrics"}
# room -> the rooms it may import (its own room always allowed). Reading down this table is reading
# the pipeline from the bottom: ground, edges, stages (each only earlier ones), use cases, drivers.
ALLOWED: dict[str, set[str]] = {
    "model": GROUND,
    "yamlio": GROUND,
    "schema": GROUND,
    "cluster": GROUND,
    "metrics": GROUND,
    "source": GROUND,
    "render": GROUND | {"source"},
    "validate": GROUND | {"source"},
    "diff": EDGES,
    "apply": EDGES | {"diff"},
    "rollout": EDGES | {"source"},
    "pipeline": EDGES | {"source", "render", "validate", "diff", "apply", "rollout"},
    "reconcile": EDGES | {"source", "render", "validate", "diff", "apply", "rollout", "pipeline"},
    "webhook": EDGES | {"reconcile"},
    "controller": EDGES | {"reconcile", "webhook"},
    # Read-only: it reads through the use cases, the records and the rollout state, and never writes.
    "dashboard": EDGES | {"source", "render", "diff", "rollout", "pipeline", "reconcile"},
    "sandbox": GROUND,
    "sim": EDGES | {"source", "rollout", "sandbox"},
    "demo": EDGES | {"source", "pipeline", "rollout", "validate", "sandbox", "sim"},
    "cli": set(),  # the top floor: anything (checked below: the product never imports it)
}
ROOT_MODULES = {"meshops", "meshops.__main__"}  # the package itself: version and `python -m meshops`


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside `if TYPE_CHECKING:` blocks (never executed)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            skipped.update(id(child) for statement in node.body for child in ast.walk(statement))
    return skipped


def _imports(path: Path, module: str, *, runtime_only: bool = False) -> set[str]:
    """Every meshops module `module` imports, at the top or inside functions."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    skipped = _type_checking_only(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("meshops"):
                for alias in node.names:  # `from . import kinds` imports a module
                    candidate = f"{target}.{alias.name}"
                    found.add(candidate if _exists(candidate) else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("meshops"))
    found.discard(module)
    return found


def _exists(module: str) -> bool:
    relative = Path(*module.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").is_file() or (PACKAGE / relative / "__init__.py").is_file()


def _graph(*, runtime_only: bool = False) -> dict[str, set[str]]:
    return {_module_name(path): _imports(path, _module_name(path), runtime_only=runtime_only) for path in PACKAGE.rglob("*.py")}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_module_lives_in_a_room():
    loose = sorted(m for m in _graph() if _room(m) and "." not in m.removeprefix("meshops.") and m not in ROOT_MODULES
                   and not (PACKAGE / _room(m)).is_dir())
    assert loose == [], f"modules at the package root belong in a room: {loose}"


def test_every_room_is_in_the_floor_plan():
    rooms = {_room(m) for m in _graph() if m not in ROOT_MODULES}
    assert rooms <= set(ALLOWED), f"rooms missing from ALLOWED (and docs/ARCHITECTURE.md): {rooms - set(ALLOWED)}"


def test_imports_only_point_down_the_floors():
    wrong = []
    for module, targets in _graph().items():
        room = _room(module)
        if module in ROOT_MODULES or room == "cli":
            continue
        for target in targets:
            if target in ROOT_MODULES or _room(target) == room:
                continue
            if _room(target) not in ALLOWED[room]:
                wrong.append(f"{module} -> {target}")
    assert wrong == [], "imports against the floor plan:\n" + "\n".join(sorted(wrong))


def test_the_product_never_imports_the_cli_the_simulation_or_the_drivers():
    forbidden = {"cli", "sim", "demo", "reconcile", "webhook", "controller", "dashboard"}
    stages = {"render", "validate", "diff", "apply", "rollout"}
    wrong = [f"{module} -> {target}" for module, targets in _graph().items() if _room(module) in stages
             for target in targets if _room(target) in forbidden]
    assert wrong == [], "\n".join(sorted(wrong))


def test_no_module_takes_part_in_an_import_cycle():
    graph = _graph(runtime_only=True)
    state: dict[str, int] = defaultdict(int)  # 0 unseen, 1 on the stack, 2 done
    cycles: list[list[str]] = []

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if target not in graph:
                continue
            if state[target] == 1:
                cycles.append(stack[stack.index(target):] + [target])
            elif state[target] == 0:
                visit(target, stack)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if state[module] == 0:
            visit(module, [])
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)
