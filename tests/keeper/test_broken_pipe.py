"""`llorch ... | head -1`: the same exit code every time, llorch's own, nothing on stderr
(issue 8 §2; README "Exit codes"). Real pipes, real sshd pools, many rounds."""

from __future__ import annotations

import os
import subprocess

import pytest

from .conftest import HIVE_POOLS, LLORCH, Keeper

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "test-models.toml")
ROUNDS = 6


def run_into_closed_pipe(keeper: Keeper, args: list[str], read_lines: int) -> tuple[int, bytes]:
    read_end, write_end = os.pipe()
    if read_lines == 0:
        os.close(read_end)
    process = subprocess.Popen(
        [LLORCH, *args],
        stdout=write_end,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**keeper.env, "PYTHONUNBUFFERED": "1"},
    )
    os.close(write_end)
    if read_lines:
        with os.fdopen(read_end, "rb") as reader:
            for _ in range(read_lines):
                reader.readline()
    _, err = process.communicate(timeout=120)
    return process.returncode, err


@pytest.mark.ssh
def test_a_reader_quitting_early_changes_nothing(keeper: Keeper) -> None:
    for pool in HIVE_POOLS:
        registered = keeper.hive_locally(pool, "models", "register", "--from", EXAMPLES)
        assert registered.returncode == 0, registered.stderr
    for args in (
        ["pool", "models", "catalog", "--all"],
        ["pool", "models", "scan", "--all"],
        ["pool", "models", "catalog", "--host", "mac.home.arpa"],
        ["pool", "list"],
    ):
        for round_ in range(ROUNDS):
            assert run_into_closed_pipe(keeper, args, round_ % 3) == (0, b""), (args, round_)
    # A failing pool still fails: the exit code is llorch's own, and so is the message.
    code, err = run_into_closed_pipe(
        keeper, ["pool", "models", "show", "nosuch", "--all"], read_lines=0
    )
    assert code == 1
    assert b"nosuch" in err
