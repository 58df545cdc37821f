"""`llorch pool models X --help` documents rbee-hive's options with rbee-hive's own words."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rbee.keeper.cli import REMOTE_SUBCOMMANDS

BIN = Path(sys.executable).parent


def help_sections(*argv: str) -> dict[str, str]:
    """`--help` output split into its sections (`usage`, `options:`, ...), keyed by title."""
    result = subprocess.run(
        [*argv, "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "100"},
        timeout=60,
        check=True,
    )
    sections: dict[str, str] = {}
    title = "description"
    for block in result.stdout.split("\n\n"):
        first, _, rest = block.partition("\n")
        if first.startswith("usage:"):
            sections["usage"] = block
        elif first.endswith(":") and not first.startswith(" "):
            title = first
            sections[title] = rest
        else:
            sections[title] = (sections.get(title, "") + "\n\n" + block).strip("\n")
    return sections


@pytest.mark.parametrize("name", REMOTE_SUBCOMMANDS)
def test_every_rbee_hive_option_is_offered_with_the_same_help(name: str) -> None:
    hive = help_sections(str(BIN / "rbee-hive"), "models", name)
    llorch = help_sections(str(BIN / "llorch"), "pool", "models", name)
    # Usage and examples name the program; global options (--root, ...) are the pool's business.
    compared = [title for title in hive if title not in ("usage", "global options:", "examples:")]
    assert "options:" in compared
    for title in compared:
        if title == "description":
            assert llorch[title].startswith(hive[title])
        elif title == "options:":
            # llorch's own options live in their own groups; -h is the only one here.
            assert llorch[title] == hive[title]
        else:
            assert llorch[title] == hive[title], title
    assert "--host NAME" in llorch["pools:"]
    if "examples:" in llorch:
        assert llorch["examples:"].startswith(f"  llorch pool models {name} --host ")


def test_version() -> None:
    from rbee import __version__

    result = subprocess.run(
        [str(BIN / "rbee-keeper"), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == f"llorch {__version__}\n"
