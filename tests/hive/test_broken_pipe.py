"""A reader that quits early (`rbee-hive models scan | head -1`) gives the same exit code every
time, the command's own, with nothing on stderr (issue 8 §2; README "Exit codes").

Real pipes, many times over: the reader quits before, while or after the command writes.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from rbee.catalog import ModelCatalog, ModelEntry

from .conftest import HIVE, HiveRunner

ROUNDS = 6


def run_into_closed_pipe(
    pool: HiveRunner, args: list[str], *, read_lines: int, env: dict[str, str]
) -> tuple[int, bytes]:
    """Run rbee-hive with stdout on a pipe; read `read_lines` lines (0: the read end is closed
    before it starts), then close it. Returns the exit code and stderr."""
    read_end, write_end = os.pipe()
    if read_lines == 0:
        os.close(read_end)
    process = subprocess.Popen(
        [str(HIVE), *args],
        cwd=pool.pool,
        stdout=write_end,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(write_end)
    if read_lines:
        with os.fdopen(read_end, "rb") as reader:
            for _ in range(read_lines):
                reader.readline()
    _, err = process.communicate(timeout=60)
    return process.returncode, err


@pytest.fixture
def big_pool(hive: HiveRunner) -> HiveRunner:
    """A catalog whose table is far larger than a pipe's buffer (64 KiB)."""
    catalog = ModelCatalog.new("mac.home.arpa")
    catalog.add_models(
        ModelEntry(id=f"model-{n:04d}", name=f"Model number {n}", architecture="llama")
        for n in range(1500)
    )
    catalog.save(hive.catalog)
    return hive


@pytest.mark.parametrize("unbuffered", ["", "1"])
@pytest.mark.parametrize(
    "args", [["models", "scan"], ["models", "catalog"], ["models", "catalog", "--json"]]
)
def test_a_reader_quitting_early_changes_nothing(
    big_pool: HiveRunner, args: list[str], unbuffered: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = unbuffered  # a write per line: the reader quits in between
    for round_ in range(ROUNDS):
        code, err = run_into_closed_pipe(big_pool, args, read_lines=round_ % 3, env=env)
        assert (code, err) == (0, b""), (round_, err)


def test_a_small_output_and_a_failure_keep_their_own_codes(seeded: HiveRunner) -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    for round_ in range(ROUNDS):
        lines = round_ % 2
        assert run_into_closed_pipe(seeded, ["models", "scan"], read_lines=lines, env=env) == (
            0,
            b"",
        )
        code, err = run_into_closed_pipe(
            seeded, ["models", "show", "nosuch"], read_lines=lines, env=env
        )
        assert code == 1
        assert err.startswith(b"error: model 'nosuch' is not in the catalog")
    # scan's work is done even though nobody read its report.
    assert run_into_closed_pipe(seeded, ["--help"], read_lines=0, env=env) == (0, b"")
