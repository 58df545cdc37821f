"""Colour, terminals, Ctrl-C and concurrent writers, through the installed console script."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

from .conftest import HIVE, HiveRunner

ESC = "\x1b["


@pytest.mark.parametrize(
    ("env", "options", "coloured"),
    [
        ({}, [], False),  # a pipe: no colour
        ({"FORCE_COLOR": "1"}, [], True),
        ({"FORCE_COLOR": ""}, [], False),  # empty means unset
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, [], False),  # NO_COLOR wins over FORCE_COLOR
        ({"NO_COLOR": "1"}, ["--color", "always"], True),  # --color wins over both
        ({"FORCE_COLOR": "1"}, ["--color", "never"], False),
        ({}, ["--color", "auto"], False),
        ({"FORCE_COLOR": "1"}, ["--color", "auto"], False),  # a typed auto: the pipe decides
    ],
)
def test_colour_rules(
    seeded: HiveRunner, env: dict[str, str], options: list[str], coloured: bool
) -> None:
    result = seeded.run(*options, "models", "catalog", env=env)
    assert result.code == 0
    assert (ESC in result.out) is coloured
    # Colour never moves the columns: without the escape codes the table is the same.
    plain = seeded.run("models", "catalog").out
    import re

    assert re.sub(r"\x1b\[[0-9;]*m", "", result.out) == plain


def test_json_is_never_coloured(seeded: HiveRunner) -> None:
    for arguments in (
        ["models", "catalog", "--json"],
        ["models", "show", "phi3", "--json"],
        [
            "models",
            "register",
            "phi3",
            "--name",
            "Phi-3 Mini 4K Instruct",
            "--arch",
            "phi3",
            "--json",
        ],
    ):
        result = seeded.run("--color", "always", *arguments, env={"FORCE_COLOR": "1"})
        assert result.code == 0, result.err
        assert ESC not in result.out
        json.loads(result.out)


def test_hints_go_to_stderr_coloured_only_by_stderr_rules(hive: HiveRunner) -> None:
    result = hive.run("--color", "always", "models", "catalog")
    assert result.out == ""
    assert result.err.startswith(ESC)
    assert "No catalog found" in result.err
    assert ESC not in hive.run("models", "catalog").err


def _run_in_terminal(
    command: list[str], cwd: Path, columns: int, extra_env: dict[str, str] | None = None
) -> tuple[int, str]:
    """Run `command` with stdout on a real pseudo-terminal `columns` wide."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "FORCE_COLOR")}
    env.update(extra_env or {})
    process = subprocess.Popen(command, cwd=cwd, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    code = process.wait(timeout=60)
    return code, b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def test_in_a_narrow_terminal_long_names_are_shortened_and_coloured(hive: HiveRunner) -> None:
    long_name = "A Model Whose Name Is Far Too Long For An Eighty Column Terminal Window Really"
    assert (
        hive.run("models", "register", "long", "--name", long_name, "--architecture", "llama").code
        == 0
    )
    code, output = _run_in_terminal([str(HIVE), "models", "catalog"], hive.pool, 80)
    assert code == 0
    assert ESC in output  # a terminal gets colour
    import re

    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    row = next(line for line in plain.splitlines() if line.startswith("long "))
    assert long_name not in row
    assert "…" in row
    from rbee.cli.table import cell_width

    assert cell_width(row) <= 80
    # A wide terminal shows the whole name.
    code, output = _run_in_terminal([str(HIVE), "models", "catalog"], hive.pool, 200)
    assert long_name in output


def test_a_terminal_narrower_than_80_columns_gets_a_narrower_table(seeded: HiveRunner) -> None:
    import re

    wide = seeded.run("models", "register", "cjk", "--name", "中文模型" * 8, "--arch", "llama")
    assert wide.code == 0, wide.err
    code, output = _run_in_terminal([str(HIVE), "models", "catalog"], seeded.pool, 60)
    assert code == 0
    from rbee.cli.table import cell_width

    lines = re.sub(r"\x1b\[[0-9;]*m", "", output).splitlines()
    assert max(cell_width(line) for line in lines) == 60  # nothing wraps
    assert lines[1] == "=" * 60
    assert "mistral         Mistral 7B Instruct v0.2 ❌           0.0 GB" in lines
    # Every row's status starts in the same cell, wide characters or not.
    starts = [cell_width(line.split("❌")[0]) for line in lines if "❌" in line]
    assert len(starts) == 5
    assert len(set(starts)) == 1


def _wait_until_open(pid: int, path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            targets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            targets = []
        if str(path) in targets:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never opened {path}")


def test_ctrl_c_while_waiting_for_the_lock_exits_130_and_changes_nothing(
    seeded: HiveRunner,
) -> None:
    before = seeded.catalog_bytes()
    lock_path = seeded.catalog.with_name("catalog.json.lock")
    with open(lock_path, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        process = subprocess.Popen(
            [str(HIVE), "models", "register", "late", "--name", "Late", "--architecture", "llama"],
            cwd=seeded.pool,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        # Once it holds the lock file open it is inside Python, waiting for our lock.
        _wait_until_open(process.pid, lock_path)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert out == b""
    assert b"Traceback" not in err
    assert seeded.catalog_bytes() == before


@pytest.mark.slow
def test_eight_concurrent_registering_processes_lose_nothing(hive: HiveRunner) -> None:
    script = (
        "for i in 0 1 2 3 4 5 6 7 8 9; do "
        '"$HIVE" models register "w$1-m$i" --name "Worker $1 model $i" --architecture llama -q '
        "|| exit 1; done"
    )
    env = dict(os.environ, HIVE=str(HIVE))
    workers = [
        subprocess.Popen(["sh", "-c", script, "sh", str(worker)], cwd=hive.pool, env=env)
        for worker in range(8)
    ]
    assert [worker.wait(timeout=240) for worker in workers] == [0] * 8
    result = hive.run("models", "catalog", "-q")
    ids = result.out.split()
    assert len(ids) == 80
    assert sorted(ids) == sorted(f"w{w}-m{i}" for w in range(8) for i in range(10))
    # Each worker's own models are in the order it registered them.
    for worker in range(8):
        mine = [model_id for model_id in ids if model_id.startswith(f"w{worker}-")]
        assert mine == [f"w{worker}-m{i}" for i in range(10)]


def test_waiting_for_another_writer_is_said_on_stderr(seeded: HiveRunner) -> None:
    lock_path = seeded.catalog.with_name("catalog.json.lock")
    with open(lock_path, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        process = subprocess.Popen(
            [str(HIVE), "models", "unregister", "phi3"],
            cwd=seeded.pool,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stderr is not None
        # The note comes while we still hold the lock: the command is waiting, not done.
        note = process.stderr.readline().decode()
        assert (
            note
            == "Waiting for another rbee process to finish writing .test-models/catalog.json...\n"
        )
        assert process.poll() is None
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert b"phi3 unregistered" in out
    assert seeded.run("models", "catalog", "-q").out.split() == [
        "tinyllama",
        "qwen-0.5b",
        "mistral",
    ]


def test_quiet_waits_without_a_note(seeded: HiveRunner) -> None:
    lock_path = seeded.catalog.with_name("catalog.json.lock")
    with open(lock_path, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        process = subprocess.Popen(
            [str(HIVE), "models", "unregister", "phi3", "-q"],
            cwd=seeded.pool,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _wait_until_open(process.pid, lock_path)
        time.sleep(0.2)  # long enough for a note to be written, were there one
        assert process.poll() is None
    out, err = process.communicate(timeout=60)
    assert (process.returncode, out, err) == (0, b"", b"")


def test_no_waiting_note_when_nobody_holds_the_lock(seeded: HiveRunner) -> None:
    result = seeded.run("models", "unregister", "phi3")
    assert (result.code, result.err) == (0, "")


def test_on_a_terminal_no_color_holds_unless_color_auto_is_typed(seeded: HiveRunner) -> None:
    catalog = [str(HIVE), "models", "catalog"]
    code, output = _run_in_terminal(catalog, seeded.pool, 100, {"NO_COLOR": "1"})
    assert (code, ESC in output) == (0, False)
    code, output = _run_in_terminal(
        [*catalog, "--color", "auto"], seeded.pool, 100, {"NO_COLOR": "1"}
    )
    assert (code, ESC in output) == (0, True)


def test_register_from_a_terminal_says_how_to_end_the_list(hive: HiveRunner) -> None:
    # `--from -` with nothing piped in: the user is told it reads the terminal, then types.
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    process = subprocess.Popen(
        [str(HIVE), "--color", "never", "models", "register", "--from", "-"],
        cwd=hive.pool,
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(follower)
    assert process.stderr is not None
    hint = process.stderr.readline().decode()
    assert hint == "Reading the models (TOML or JSON) from the terminal; end with Ctrl-D\n"
    typed = '[[models]]\nid = "typed"\nname = "Typed"\narchitecture = "llama"\n'
    os.write(leader, typed.encode() + b"\x04")  # Ctrl-D at the start of a line: end of input
    out, err = process.communicate(timeout=60)
    os.close(leader)
    assert process.returncode == 0, err
    assert "Model typed registered" in out.decode()
    assert hive.run("models", "catalog", "-q").out == "typed\n"
    # Piped input gets no such note.
    piped = hive.run("models", "register", "--from", "-", stdin=typed)
    assert (piped.code, piped.err) == (0, "")


def test_catalog_and_show_escape_what_would_reorder_the_terminal(hive: HiveRunner) -> None:
    """A right-to-left override in a name, path or pool id is shown as `\\u202e`, not obeyed."""
    name = "Evil \u202egnp.exe, a name wider than the thirty-cell column"
    registered = hive.run(
        "--pool-id",
        "pool\u202e",
        "models",
        "register",
        "evil",
        "--name",
        name,
        "--architecture",
        "llama",
        "--path",
        ".test-models/x\u202eexe.gguf",
    )
    assert registered.code == 0, registered.err
    table = hive.run("models", "catalog")
    shown = hive.run("models", "show", "evil")
    assert table.code == shown.code == 0
    for output in (table.out, shown.out):
        assert "\u202e" not in output
    assert "Model Catalog for pool\\u202e" in table.out
    header, row = table.out.splitlines()[2], table.out.splitlines()[4]
    assert row.startswith("evil            Evil \\u202egnp.exe, a name wider")
    # Columns are measured on what is printed: the status lines up under its heading.
    assert row.index("\u274c") == header.index("Downloaded")
    assert "Name          Evil \\u202egnp.exe, a name" in shown.out
    assert "Path          .test-models/x\\u202eexe.gguf" in shown.out
    # JSON keeps the exact values.
    document = json.loads(hive.run("models", "show", "evil", "--json").out)
    assert document["name"] == name
    assert document["path"] == ".test-models/x\u202eexe.gguf"
