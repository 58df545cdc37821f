"""What a pool writes on stderr reaches our terminal escaped, as `pool check` shows it: an
rbee-hive (or a shell start-up file) writing control characters cannot retitle, clear or
recolour the orchestrator's terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.ssh

MAC = "mac.home.arpa"
WS = "workstation.home.arpa"

# An OSC sequence that retitles the terminal, a bell, a colour, a carriage return mid-line.
HOSTILE = r"printf 'note: \033]0;owned\007 \033[33myellow\033[0m x\rover\n' >&2"
ESCAPED = "note: \\x1b]0;owned\\x07 {yellow} x\\x0dover"


def _odd_pools(keeper: Any, tmp_path: Path) -> None:
    script = tmp_path / "odd-rbee-hive"
    script.write_text(f"#!/bin/sh\necho result\n{HOSTILE}\nexit 0\n", encoding="utf-8")
    script.chmod(0o755)
    keeper.pools_file.write_text(
        f'[pools.odd]\nssh = "{MAC}"\nhive = "{script}"\n'
        f'[pools.fine]\nssh = "{WS}"\n'
        f'[pools.odd2]\nssh = "{WS}"\nhive = "{script}"\n',
        encoding="utf-8",
    )


def test_one_pool_stdout_as_it_is_stderr_escaped(keeper: Any, tmp_path: Path) -> None:
    _odd_pools(keeper, tmp_path)
    result = keeper.run("pool", "models", "catalog", "--host", "odd")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"result\n"
    assert result.stderr.decode() == ESCAPED.format(yellow="\\x1b[33myellow\\x1b[0m") + "\n"


def test_colour_we_asked_for_stays_and_nothing_else_does(keeper: Any, tmp_path: Path) -> None:
    # With --color always, llorch runs `rbee-hive --color always`: its colour is expected.
    _odd_pools(keeper, tmp_path)
    result = keeper.run("--color", "always", "pool", "models", "catalog", "--host", "odd")
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode() == ESCAPED.format(yellow="\x1b[33myellow\x1b[0m") + "\n"


def test_several_pools_each_line_named_and_escaped(keeper: Any, tmp_path: Path) -> None:
    _odd_pools(keeper, tmp_path)
    for extra in ([], ["--json"]):
        result = keeper.run("pool", "models", "catalog", "--all", *extra)
        assert b"\x1b" not in result.stderr
        assert b"\x07" not in result.stderr
        line = ESCAPED.format(yellow="\\x1b[33myellow\\x1b[0m")
        lines = result.stderr.decode().splitlines()
        assert f"odd: {line}" in lines, lines
        assert f"odd2: {line}" in lines, lines
