"""pyproject.toml's comments on the runtime dependencies say what the code does."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = REPO / "pyproject.toml"
SRC = REPO / "src" / "rbee"


def _comment_before(text: str, line_start: str) -> str:
    """The comment lines right above the line that starts with `line_start`, joined."""
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith(line_start))
    comment: list[str] = []
    for line in reversed(lines[:index]):
        if not line.strip().startswith("#"):
            break
        comment.insert(0, line.strip().lstrip("#").strip())
    return " ".join(comment)


def _importers(package: str) -> set[str]:
    pattern = re.compile(rf"^\s*(import|from)\s+{package}\b", re.MULTILINE)
    return {
        str(path.relative_to(SRC.parent))
        for path in SRC.rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    }


def test_the_header_does_not_claim_rbee_hive_is_standard_library_only() -> None:
    text = PYPROJECT.read_text()
    header = _comment_before(text, "dependencies = [")
    assert "rbee-hive use the standard library only" not in header, header
    assert "as they start" in header, header
    assert "standard library" in header, header


def test_each_dependency_is_imported_only_where_its_comment_says() -> None:
    text = PYPROJECT.read_text()
    dependencies = tomllib.loads(text)["project"]["dependencies"]
    names = [re.split(r"[<>=!~ ]", spec, maxsplit=1)[0] for spec in dependencies]
    assert names == ["platformdirs", "huggingface_hub"]
    assert "llorch only" in _comment_before(text, '"platformdirs')
    assert _importers("platformdirs") == {"rbee/keeper/config.py"}
    assert "`rbee-hive models download` only" in _comment_before(text, '"huggingface_hub')
    for module in _importers("huggingface_hub"):
        assert module.startswith(("rbee/hub/", "rbee/workflows/download.py")), module
