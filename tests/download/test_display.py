"""What a person at a terminal ends up seeing: no empty bar, a label while a resumed file's kept
part is checked. The console scripts run with stderr on a real pseudo-terminal; `screen` replays
what they wrote (the few control sequences rbee uses) into the lines left on screen."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

from rbee.cli.progress import BarProgress, PoolBoard
from tests.download.conftest import COMMIT, HIVE, Pool, big_safetensors, write_config
from tests.hubserver import FakeHub
from tests.terminal import run_with_stderr_on_a_terminal

_CONTROL = re.compile(r"\r|\n|\x1b\[(\d*)([A-Za-z])")


def screen(text: str) -> list[str]:
    """The lines on screen after `text` is written to a terminal: CR, LF, erase to the end of
    the line (`ESC[K`), up N lines to their start (`ESC[NF`), erase below (`ESC[J`); colours
    are dropped."""
    lines = [""]
    row = column = 0
    position = 0
    for match in _CONTROL.finditer(text):
        chunk = text[position : match.start()]
        position = match.end()
        if chunk:
            line = lines[row].ljust(column)
            lines[row] = line[:column] + chunk + line[column + len(chunk) :]
            column += len(chunk)
        token = match.group(0)
        if token == "\r":
            column = 0
        elif token == "\n":
            row += 1
            column = 0
            if row == len(lines):
                lines.append("")
        elif match.group(2) == "K":
            lines[row] = lines[row][:column]
        elif match.group(2) == "F":
            row = max(0, row - int(match.group(1) or 1))
            column = 0
        elif match.group(2) == "J":
            lines[row] = lines[row][:column]
            del lines[row + 1 :]
    tail = text[position:]
    if tail:
        line = lines[row].ljust(column)
        lines[row] = line[:column] + tail + line[column + len(tail) :]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def test_screen_replays_the_control_sequences() -> None:
    assert screen("a\r\x1b[Kb\nc\nd\n\x1b[2F\x1b[Je\n") == ["b", "e"]
    assert screen("one\r\x1b[Ktwo") == ["two"]


def test_notes_and_empty_tasks_draw_no_bar() -> None:
    stream = io.StringIO()
    bar = BarProgress(stream, width=100)
    bar.note("looking for models in folder /srv/models")  # no task yet: a line, no bar
    bar.begin("hash 0 file(s)", 0, 0)  # nothing to count
    bar.note("done looking")
    bar.end()
    bar.note("after the task")
    assert "[--" not in stream.getvalue()
    assert screen(stream.getvalue()) == [
        "looking for models in folder /srv/models",
        "done looking",
        "after the task",
    ]
    # A task that counts files and no bytes counts files.
    bar.begin("scan", 0, 4)
    bar.file_started("phi3", 0)
    bar.file_done("phi3", 0)
    assert "1/4 file(s)" in bar.line()
    assert "0 B/0 B" not in bar.line()


def test_a_resumed_file_is_labelled_while_its_kept_part_is_checked(
    pool: Pool, hub: FakeHub, tmp_path: Path
) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    big_safetensors(folder / "model.safetensors", 4_000_000)
    write_config(folder)
    repo = hub.repo("org/big", COMMIT)
    repo.add_folder(folder)
    pool.register("big", "org/big")
    big = repo.files["model.safetensors"]
    kept = pool.partial_dir() / "big" / f"{big.content_sha256()}.part"
    kept.parent.mkdir(parents=True)
    kept.write_bytes((folder / "model.safetensors").read_bytes()[:3_000_000])

    process, text = run_with_stderr_on_a_terminal(
        [str(HIVE), "models", "download", "big"], cwd=pool.root, env=pool.env(), timeout=60
    )

    assert process.returncode == 0, text
    assert "[2/2] checking kept 3.0 MB of model.safetensors" in text
    assert screen(text) == []  # the bar leaves nothing behind
    assert "(1.0 MB transferred)" in process.stdout.decode()


def test_adopt_flashes_no_empty_bar(tmp_path: Path) -> None:
    root = tmp_path / "pool"
    empty = tmp_path / "empty"
    root.mkdir()
    empty.mkdir()
    process, text = run_with_stderr_on_a_terminal(
        [str(HIVE), "models", "adopt", str(empty)],
        cwd=root,
        env={**os.environ, "HOME": str(tmp_path)},
        timeout=60,
    )
    assert process.returncode == 0, text
    assert "0 B/0 B" not in text
    assert "[--" not in text
    assert screen(text) == [f"looking for models in folder {empty}"]


def test_a_board_nobody_began_leaves_nothing_on_screen() -> None:
    stream = io.StringIO()
    board = PoolBoard(stream, ["gpu.home.arpa"], width=100)
    board.print_above("gpu.home.arpa: a note")  # draws the board: connecting...
    assert screen(stream.getvalue())[-1].endswith("connecting...")
    board.close()
    assert screen(stream.getvalue()) == ["gpu.home.arpa: a note"]
    cleared = io.StringIO()
    board = PoolBoard(cleared, ["gpu.home.arpa"], width=100)
    board.feed(
        "gpu.home.arpa", 'rbee-progress {"event":"begin","task":"download x","bytes":10,"files":1}'
    )
    board.clear()
    assert screen(cleared.getvalue()) == []
