"""docs/cli.md's `--help` reference is the installed rbee-hive's real `--help` output."""

from __future__ import annotations

from pathlib import Path

import pytest

import rbee.hive.helpdoc as help_document
from tests.shared import help_reference_problems

from .conftest import HIVE, REPO

DOC = REPO / "docs" / "cli.md"
REGENERATE = ".venv/bin/python -m rbee.hive.helpdoc docs/cli.md"


def test_every_command_is_documented_with_its_real_help() -> None:
    problems = help_reference_problems(DOC, "rbee-hive", str(HIVE), REGENERATE)
    assert not problems, f"docs/cli.md is stale; run {REGENERATE}\n" + "\n".join(problems)


def test_help_does_not_depend_on_the_terminal_width_when_generated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    narrow = help_document.generated_block()
    monkeypatch.setenv("COLUMNS", "100")
    assert narrow == help_document.generated_block()


def test_the_regenerator_reports_and_fixes_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "cli.md"
    stale.write_text(DOC.read_text().replace("show the catalog as a table", "old words"))
    assert help_document.main(["--check", str(stale)]) == 1
    assert help_document.main([str(stale)]) == 0
    assert help_document.main(["--check", str(stale)]) == 0
    assert stale.read_text() == DOC.read_text()
