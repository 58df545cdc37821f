"""docs/remote.md's `--help` reference is the installed llorch's real `--help` output."""

from __future__ import annotations

from pathlib import Path

import pytest

import rbee.hive.helpdoc as help_document
from tests.shared import help_reference_problems

from .conftest import LLORCH

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "remote.md"
REGENERATE = ".venv/bin/python -m rbee.hive.helpdoc docs/remote.md"


def test_every_llorch_command_is_documented_with_its_real_help() -> None:
    problems = help_reference_problems(DOC, "llorch", LLORCH, REGENERATE)
    assert not problems, f"docs/remote.md is stale; run {REGENERATE}\n" + "\n".join(problems)


def test_the_generated_part_does_not_depend_on_the_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    narrow = help_document.generated_block("llorch")
    monkeypatch.setenv("COLUMNS", "100")
    assert narrow == help_document.generated_block("llorch")


def test_the_regenerator_tells_the_program_by_the_marker(tmp_path: Path) -> None:
    stale = tmp_path / "remote.md"
    stale.write_text(
        DOC.read_text().replace("can each pool be reached, and is rbee-hive there", "old words")
    )
    assert help_document.main(["--check", str(stale)]) == 1
    assert help_document.main([str(stale)]) == 0
    assert help_document.main(["--check", str(stale)]) == 0
    assert stale.read_text() == DOC.read_text()
    # Both references in one run.
    cli = REPO / "docs" / "cli.md"
    assert help_document.program_of(cli.read_text()) == "rbee-hive"
    assert help_document.program_of(stale.read_text()) == "llorch"
    with pytest.raises(ValueError, match="lacks a begin marker"):
        help_document.program_of("# no markers\n")
