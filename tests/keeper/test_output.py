"""llorch prints through the shared output module (`rbee.cli.output.Output`), as rbee-hive does:
one place decides colour per stream, writes JSON and relays a pool's bytes. A `print()` or a
`sys.stdout.write(...)` in llorch's code would bypass it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

KEEPER = Path(__file__).resolve().parents[2] / "src" / "rbee" / "keeper"
MODULES = sorted(KEEPER.rglob("*.py"))


def _direct_writes(source: str) -> list[str]:
    """`print(...)` calls and `sys.stdout`/`sys.stderr` writes, as `line: code`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id == "print":
            found.append(f"{node.lineno}: print(...)")
            continue
        # sys.stdout.write(...), sys.stderr.buffer.write(...), sys.stdout.writelines(...)
        if isinstance(function, ast.Attribute) and function.attr in ("write", "writelines"):
            text = ast.unparse(function.value)
            if text.startswith(("sys.stdout", "sys.stderr")):
                found.append(f"{node.lineno}: {text}.{function.attr}(...)")
    return found


@pytest.mark.parametrize("module", MODULES, ids=lambda path: str(path.relative_to(KEEPER)))
def test_llorch_writes_only_through_output(module: Path) -> None:
    found = _direct_writes(module.read_text(encoding="utf-8"))
    assert not found, (
        f"src/rbee/keeper/{module.relative_to(KEEPER)} writes around rbee.cli.output.Output: "
        f"{found}; use rbee.keeper.commands.common.output(args)"
    )


def test_the_check_finds_what_it_looks_for() -> None:
    source = "import sys\nprint('x')\nsys.stdout.write('y')\nsys.stderr.buffer.write(b'z')\n"
    assert [item.split(":")[0] for item in _direct_writes(source)] == ["2", "3", "4"]
    assert _direct_writes("out.line('x')\nout.stdout.write('y')\n") == []
