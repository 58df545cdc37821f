"""`llorch pool models X --help` documents rbee-hive's options with rbee-hive's own words."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rbee.hive.arguments import PLUMBING_SUBCOMMANDS, models_subcommands
from rbee.keeper.cli import REMOTE_SUBCOMMANDS

BIN = Path(sys.executable).parent

NOT_OFFERED_REMOTELY: dict[str, str] = {}
"""`rbee-hive models` subcommands that llorch deliberately does not offer as `llorch pool models
NAME`, each with the reason (local-only commands would go here). rbee-hive's plumbing
(`PLUMBING_SUBCOMMANDS`: `send`/`receive`, for `llorch models copy`) is not in
`models_subcommands()` at all and is checked separately below. Every other subcommand must be
offered: a new one that llorch lacks fails `test_llorch_offers_every_rbee_hive_subcommand`."""

HIVE_SUBCOMMANDS = [subcommand.name for subcommand in models_subcommands()]
OFFERED = [name for name in HIVE_SUBCOMMANDS if name not in NOT_OFFERED_REMOTELY]


def _pool_models_choices() -> list[str]:
    from rbee.hive.helpdoc import command_paths

    return [
        path[2]
        for path in command_paths("llorch")
        if path[:2] == ["pool", "models"] and len(path) == 3
    ]


def test_llorch_offers_every_rbee_hive_subcommand() -> None:
    offered = _pool_models_choices()
    missing = [name for name in OFFERED if name not in offered]
    assert not missing, (
        f"rbee-hive models {missing} not offered by `llorch pool models`: add them to "
        "REMOTE_SUBCOMMANDS in src/rbee/keeper/cli.py, or to NOT_OFFERED_REMOTELY here with a "
        "reason"
    )
    assert sorted(offered) == sorted(REMOTE_SUBCOMMANDS)
    for name in NOT_OFFERED_REMOTELY:
        assert name in HIVE_SUBCOMMANDS, f"{name}: no such rbee-hive subcommand any more"
        assert name not in offered
    for plumbing in PLUMBING_SUBCOMMANDS:
        assert plumbing.name not in offered
    # Nothing llorch offers is unknown to rbee-hive.
    assert set(offered) <= set(HIVE_SUBCOMMANDS)


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


@pytest.mark.parametrize("name", OFFERED)
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
