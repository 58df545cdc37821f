"""docs/cli.md's `--help` reference is the installed rbee-hive's real `--help` output."""

from __future__ import annotations

import difflib
import os
import subprocess
from pathlib import Path

import pytest

import rbee.hive.helpdoc as help_document

from .conftest import HIVE, REPO

DOC = REPO / "docs" / "cli.md"
REGENERATE = ".venv/bin/python -m rbee.hive.helpdoc docs/cli.md"


def test_every_command_is_documented_with_its_real_help() -> None:
    recorded = help_document.sections_in(DOC.read_text(encoding="utf-8"))
    commands = [" ".join(["rbee-hive", *path]) for path in help_document.command_paths()]
    assert sorted(recorded) == sorted(commands), (
        f"docs/cli.md documents {sorted(recorded)} but rbee-hive has {sorted(commands)}; "
        f"run {REGENERATE}"
    )
    env = dict(os.environ, COLUMNS=help_document.HELP_COLUMNS)
    problems: list[str] = []
    for command in commands:
        real = subprocess.run(
            [str(HIVE), *command.split()[1:], "--help"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        if recorded[command] != real:
            diff = difflib.unified_diff(
                recorded[command].splitlines(keepends=True),
                real.splitlines(keepends=True),
                f"docs/cli.md: {command} --help",
                f"real: {command} --help",
            )
            problems.append("".join(diff))
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
