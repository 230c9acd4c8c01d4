"""The shape of the code, enforced: no import cycles, small functions, small modules.

Layer direction is checked by import-linter (``make lint``); these are the rules it cannot express. A cycle makes
two modules one unit that can be neither read nor tested apart, and a long constructor hides the list of things
a component creates: both creep in one change at a time unless a test refuses them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "components",
    "infra",
    "offline",
    "cost",
    "policies",
    "drift",
    "smoke",
    "finops",
    "release",
    "loopback",
    "bench",
)
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 450


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every strongly connected set of two or more modules (or a module importing itself), sorted (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in sorted(graph.find_modules_directly_imported_by(module)):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1 or module in graph.find_modules_directly_imported_by(module):
                cycles.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return sorted(cycles)


def test_no_import_cycles() -> None:
    # Imports under `if TYPE_CHECKING:` count: a cycle a type checker needs is still a cycle in the design.
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False, exclude_type_checking_imports=False)
    cycles = import_cycles(graph)
    details = [" <-> ".join(group) for group in cycles]
    assert cycles == [], "modules that import each other (directly or in a ring):\n" + "\n".join(details)


def test_cycle_finder_sees_a_ring() -> None:
    graph = grimp.ImportGraph()
    for module in ("p.a", "p.b", "p.c", "p.d"):
        graph.add_module(module)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    graph.add_import(importer="p.c", imported="p.a")
    graph.add_import(importer="p.c", imported="p.d")
    assert import_cycles(graph) == [["p.a", "p.b", "p.c"]]


def _sources() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def oversized(path: Path, root: Path = ROOT) -> list[str]:
    """The module itself if over the line limit, and each function or method over its limit."""
    text = path.read_text()
    where = path.relative_to(root).as_posix()
    found = []
    lines = len(text.splitlines())
    if lines > MAX_MODULE_LINES:
        found.append(f"{where}: {lines} lines (at most {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{where}:{node.lineno} {node.name}: {length} lines (at most {MAX_FUNCTION_LINES})")
    return found


def test_functions_and_modules_stay_small() -> None:
    found = [problem for path in _sources() for problem in oversized(path)]
    assert found == [], "split these into private builders or modules:\n" + "\n".join(found)


def test_size_check_counts_long_functions_and_modules(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    path = tmp_path / "m.py"
    path.write_text(f"def long():\n{body}\n\n\ndef short():\n    return 1\n")
    assert oversized(path, tmp_path) == [f"m.py:1 long: {MAX_FUNCTION_LINES + 1} lines (at most 80)"]
    path.write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    assert oversized(path, tmp_path) == [f"m.py: {MAX_MODULE_LINES + 1} lines (at most {MAX_MODULE_LINES})"]
