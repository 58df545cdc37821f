"""rbee.catalog's modules import one another in one direction only: no circle, not even lazily.

(The type-checking-only imports under `if TYPE_CHECKING:` are left out: they never run.)
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "rbee" / "catalog"


def _imports(path: Path) -> set[str]:
    """The rbee.catalog modules `path` imports at run time, at the top or inside functions."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
        ):
            for statement in node.orelse:
                visit(statement)
            return
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "rbee.catalog":
                found.add("__init__")
            elif node.module.startswith("rbee.catalog."):
                found.add(node.module.removeprefix("rbee.catalog."))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("rbee.catalog."):
                    found.add(alias.name.removeprefix("rbee.catalog."))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def test_the_catalog_modules_import_in_one_direction() -> None:
    graph = {path.stem: _imports(path) for path in PACKAGE.glob("*.py")}
    done: set[str] = set()

    def check(module: str, stack: list[str]) -> None:
        if module in stack:
            raise AssertionError("import circle: " + " -> ".join([*stack, module]))
        if module in done:
            return
        for imported in sorted(graph.get(module, set())):
            check(imported, [*stack, module])
        done.add(module)

    for module in sorted(graph):
        check(module, [])
    # The layers: the rules and the files know no type; the types know no storage.
    assert graph["rules"] <= {"errors"}
    assert graph["files"] <= {"errors"}
    assert "storage" not in graph["document"] | graph["entry"] | graph["migrations"]
    assert "__init__" not in set().union(*(graph[m] for m in graph if m != "__init__"))


def test_storage_uses_only_the_catalog_types_public_api() -> None:
    for name in ("storage.py", "files.py", "codec.py", "migrations.py"):
        text = (PACKAGE / name).read_text(encoding="utf-8")
        assert "._baseline" not in text, name
        assert "._file_state" not in text, name
