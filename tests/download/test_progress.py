"""Progress on stderr: the bar on a terminal, lines elsewhere, nothing with -q, and the JSON
events llorch turns into one line per pool."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

from rbee.cli.progress import (
    JSON_PREFIX,
    BarProgress,
    JsonProgress,
    LineProgress,
    PoolBoard,
    bar_line,
    format_bytes,
    format_duration,
    make_progress,
    replay,
)
from rbee.workflows.progress import NO_PROGRESS
from tests.download.conftest import HIVE, SAFETENSORS_SELECTED, Pool, safetensors_repo
from tests.hubserver import FakeHub
from tests.terminal import run_with_stderr_on_a_terminal


def test_formats() -> None:
    assert format_bytes(512) == "512 B"
    assert format_bytes(4_200) == "4.2 kB"
    assert format_bytes(12_000_000) == "12.0 MB"
    assert format_bytes(1_234_000_000) == "1.23 GB"
    assert format_duration(5) == "0:05"
    assert format_duration(3725) == "1:02:05"


def test_make_progress_picks_by_stream() -> None:
    assert make_progress(io.StringIO(), quiet=True) is NO_PROGRESS
    assert isinstance(make_progress(io.StringIO()), LineProgress)
    assert isinstance(make_progress(io.StringIO(), mode="bar"), BarProgress)
    assert isinstance(make_progress(io.StringIO(), mode="json"), JsonProgress)
    with open(os.devnull, "w") as devnull:
        assert isinstance(make_progress(devnull), LineProgress)


def test_bar_shows_bytes_rate_eta_and_the_current_file() -> None:
    stream = io.StringIO()
    bar = BarProgress(stream, width=120)
    bar.begin("download tiny", 2_000_000_000, 2)
    bar.file_started("model-00001-of-00002.safetensors", 1_000_000_000, already=200_000_000)
    bar.state.started -= 10  # as if 10 s had passed
    bar.advance("model-00001-of-00002.safetensors", 300_000_000)
    line = bar.line()
    assert line.startswith("download tiny [#####")
    assert "500.0 MB/2.00 GB" in line
    assert "30.0 MB/s" in line  # what moved in this run, not what was there before
    assert "0:50 left" in line
    assert "[1/2] model-00001-of-00002.safetensors 50%" in line
    bar.end()
    assert stream.getvalue().endswith("\r\x1b[K")  # the bar leaves no line behind
    narrow = bar_line(bar.state, 40, time.monotonic())
    assert len(narrow) < 40


def test_lines_off_a_terminal_and_threads() -> None:
    stream = io.StringIO()
    lines = LineProgress(stream)
    lines.begin("download x", 4000, 4)

    def work(name: str) -> None:
        lines.file_started(name, 1000)
        for _ in range(10):
            lines.advance(name, 100)
        lines.file_done(name, 1000)

    threads = [threading.Thread(target=work, args=(f"f{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines.note("a note")
    out = stream.getvalue().splitlines()
    assert [line.split()[0] for line in out[:4]] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert {line.split()[2] for line in out[:4]} == {"f0", "f1", "f2", "f3"}
    assert all(line.endswith("  1.0 kB") for line in out[:4])
    assert out[4] == "a note"
    assert "\r" not in stream.getvalue()
    assert lines.state.done_bytes == 4000


def test_json_events_replay_onto_a_board() -> None:
    events = io.StringIO()
    source = JsonProgress(events)
    source.begin("download big", 3000, 2)
    source.file_started("a", 1000)
    source.advance("a", 1000)
    source.file_done("a", 1000)
    source.file_started("b", 2000, already=500)
    source.advance("b", 700)
    source.note("b: resuming")
    lines = events.getvalue().splitlines()
    assert all(line.startswith(JSON_PREFIX) for line in lines)

    screen = io.StringIO()
    board = PoolBoard(screen, ["mac.home.arpa", "gpu.home.arpa"], width=120)
    for line in lines:
        assert board.feed("mac.home.arpa", line)
    assert not board.feed("mac.home.arpa", "an ordinary line")
    assert not replay(LineProgress(io.StringIO()), "rbee-progress {not json")
    mac, gpu = board.lines()
    assert mac.startswith("mac.home.arpa  download big [")
    assert "2.2 kB/3.0 kB" in mac
    assert "[2/2] b 60%" in mac
    assert gpu.startswith("gpu.home.arpa  connecting...")
    assert "mac.home.arpa: b: resuming\n" in screen.getvalue()
    source.end()
    for line in events.getvalue().splitlines()[len(lines) :]:
        board.feed("mac.home.arpa", line)
    assert board.lines()[0].startswith("mac.home.arpa  done: ")
    board.close()


def test_console_script_draws_a_bar_on_a_terminal(pool: Pool, hub: FakeHub, tmp_path: Path) -> None:
    safetensors_repo(hub, tmp_path / "src")
    pool.register("tiny", "org/tiny-st")
    process, text = run_with_stderr_on_a_terminal(
        [str(HIVE), "models", "download", "tiny"], cwd=pool.root, env=pool.env(), timeout=60
    )
    out = process.stdout
    assert process.returncode == 0
    assert "download tiny [" in text
    assert "\r\x1b[K" in text
    assert "✅ Model tiny downloaded" in out.decode()
    assert pool.files_in("tiny") == SAFETENSORS_SELECTED
    assert pool.entry("tiny")["downloaded"] is True


def test_quiet_prints_nothing_and_json_events_on_request(
    pool: Pool, hub: FakeHub, tmp_path: Path
) -> None:
    safetensors_repo(hub, tmp_path / "src")
    pool.register("tiny", "org/tiny-st")
    pool.register("again", "org/tiny-st")
    quiet = pool.run("models", "download", "tiny", "-q")
    assert quiet.code == 0
    assert quiet.out == ""
    assert quiet.err == ""
    events = pool.run("models", "download", "again", "--progress=json")
    assert events.code == 0
    kinds = [line.split('"event":"')[1].split('"')[0] for line in events.err.splitlines()]
    assert kinds[0] == "begin"
    assert kinds[-1] == "end"
    assert kinds.count("file_done") == 9
    for model_id in ("tiny", "again"):
        assert pool.files_in(model_id) == SAFETENSORS_SELECTED
        assert pool.entry(model_id)["downloaded"] is True
