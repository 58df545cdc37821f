"""docs/library.md's examples run: every ```python block, in order, in one empty directory."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

LIBRARY_DOC = Path(__file__).resolve().parents[2] / "docs" / "library.md"
# An info string of exactly `python`: a block written ```python skip (or ```text) is not run.
_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[str]:
    return [match.group(1) for match in _BLOCK.finditer(text)]


def test_the_doc_has_an_example_for_each_workflow() -> None:
    code = "\n".join(python_blocks(LIBRARY_DOC.read_text(encoding="utf-8")))
    for name in ("register_models", "update_model", "unregister_models", "scan_models"):
        assert f"{name}(" in code, name
    assert "fill_from_files(" in code


def test_every_python_block_of_the_library_doc_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "library_doc"}
    blocks = python_blocks(LIBRARY_DOC.read_text(encoding="utf-8"))
    assert blocks
    for number, block in enumerate(blocks, 1):
        try:
            exec(compile(block, f"docs/library.md (python block {number})", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the failure's report
            pytest.fail(f"docs/library.md, python block {number} fails: {exc!r}\n{block}")
    assert os.path.exists(tmp_path / ".test-models" / "catalog.json")
