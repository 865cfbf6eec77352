"""harness.bench imports go one way (no cycle between its modules) and never reach into harness.cli."""

from __future__ import annotations

import ast
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "harness" / "bench"


def _imports(path: Path) -> set[str]:
    """Every module a file imports, lazy imports inside functions included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    modules = {f"harness.bench.{p.stem}": p for p in BENCH.glob("*.py") if p.stem != "__init__"}
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def test_bench_modules_import_each_other_one_way():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            assert state.get(nxt) != 1, "import cycle: " + " -> ".join([*trail, node, nxt])
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert "harness.bench.suite" not in graph["harness.bench.pipeline"]


def test_bench_never_imports_the_cli():
    for path in sorted(BENCH.glob("*.py")):
        bad = sorted(m for m in _imports(path) if m == "harness.cli" or m.startswith("harness.cli."))
        assert bad == [], (path.name, bad)
