"""Interrupted downloads: kill -9, Ctrl-C, dropped connections, and two processes at once.

The server pauses a file at a known byte (`pause_after`) instead of the test racing a timer, so
nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.download.conftest import COMMIT, HIVE, Pool, big_safetensors, write_config
from tests.hubserver import FakeHub, HubFile, sha256_of_file

BIG = 100_000_000
WAIT = 60.0


def wait_for(condition: object, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def one_big_file_repo(hub: FakeHub, tmp_path: Path, size: int) -> HubFile:
    folder = tmp_path / "src"
    folder.mkdir()
    big_safetensors(folder / "model.safetensors", size)
    write_config(folder)
    repo = hub.repo("org/big", COMMIT)
    repo.add_folder(folder)
    return repo.files["model.safetensors"]


def partial_size(pool: Pool) -> int:
    files = pool.partial_files()
    return files[0].stat().st_size if files else 0


def assert_complete(pool: Pool, big: HubFile) -> None:
    assert pool.files_in("big") == ["config.json", "model.safetensors"]
    assert big.source is not None
    assert sha256_of_file(pool.model_dir("big") / "model.safetensors") == big.content_sha256()
    assert pool.partial_files() == []
    entry = pool.entry("big")
    assert entry["downloaded"] is True
    files = {f["path"]: f for f in entry["record"]["files"]}
    assert files["model.safetensors"]["sha256"] == big.content_sha256()
    assert files["model.safetensors"]["size"] == big.size


def test_resume_after_kill_9(pool: Pool, hub: FakeHub, tmp_path: Path) -> None:
    big = one_big_file_repo(hub, tmp_path, BIG)
    big.pause_after = big.size // 2
    pool.register("big", "org/big")
    before = pool.catalog.read_bytes()

    process = pool.start("models", "download", "big", stderr=tmp_path / "err1")
    try:
        assert big.paused.wait(WAIT)
        # Everything the server sent before its pause reaches the partial file.
        wait_for(lambda: partial_size(pool) >= big.size // 2, "the first half on disk")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        big.released.set()
    assert process.returncode == -signal.SIGKILL
    kept = partial_size(pool)
    assert kept == big.size // 2
    # The model folder holds only complete, verified files; the catalog is as it was.
    assert "model.safetensors" not in pool.files_in("big")
    assert pool.catalog.read_bytes() == before

    hub.clear_log()
    result = pool.run("models", "download", "big")

    assert result.code == 0, result
    (request,) = hub.downloads("model.safetensors")
    assert request.headers["range"] == f"bytes={kept}-"
    assert request.status == 206
    assert request.body_bytes == big.size - kept  # the missing half, not the whole file
    assert_complete(pool, big)


def test_ctrl_c_exits_130_and_keeps_the_partial_file(
    pool: Pool, hub: FakeHub, tmp_path: Path
) -> None:
    big = one_big_file_repo(hub, tmp_path, 4_000_000)
    big.pause_after = 3_000_000
    pool.register("big", "org/big")
    before = pool.catalog.read_bytes()

    process = pool.start("models", "download", "big", stderr=tmp_path / "err")
    try:
        assert big.paused.wait(WAIT)
        wait_for(lambda: partial_size(pool) >= 3_000_000, "the partial file")
        process.send_signal(signal.SIGINT)
        process.wait(WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        big.released.set()
    assert process.returncode == 130
    # One line says what was kept, where, and that a rerun resumes (as llorch's do).
    interrupted = [
        line for line in (tmp_path / "err").read_text().splitlines() if "interrupted" in line
    ]
    assert interrupted == [
        "interrupted: download of big stopped; 3.0 MB of partial data kept in "
        ".test-models/.rbee-partial/big/: run the same command again to resume"
    ]
    assert partial_size(pool) == 3_000_000
    assert pool.catalog.read_bytes() == before
    assert "model.safetensors" not in pool.files_in("big")

    hub.clear_log()
    result = pool.run("models", "download", "big", "--json")
    assert result.code == 0, result
    (request,) = hub.downloads("model.safetensors")
    assert request.body_bytes == big.size - 3_000_000
    assert_complete(pool, big)


def test_dropped_connection_resumes_in_the_same_run(
    pool: Pool, hub: FakeHub, tmp_path: Path
) -> None:
    big = one_big_file_repo(hub, tmp_path, 6_000_000)
    big.drop_after = 2_500_000  # the server cuts the connection there, once
    pool.register("big", "org/big")

    result = pool.run("models", "download", "big")

    assert result.code == 0, result
    first, second = hub.downloads("model.safetensors")
    assert first.body_bytes == 2_500_000
    assert second.headers["range"] == "bytes=2500000-"
    assert second.body_bytes == big.size - 2_500_000
    assert "resuming" in result.err
    assert_complete(pool, big)


def test_a_connection_that_keeps_dropping_fails_and_a_rerun_resumes(
    pool: Pool, hub: FakeHub, tmp_path: Path
) -> None:
    big = one_big_file_repo(hub, tmp_path, 6_000_000)
    big.drop_after = 1_000_000
    big.drop_times = 100  # every attempt is cut at the same byte
    pool.register("big", "org/big")
    before = pool.catalog.read_bytes()

    failed = pool.run("models", "download", "big")

    assert failed.code == 1, failed
    error = [line for line in failed.err.splitlines() if line.startswith("error: ")]
    assert len(error) == 1
    assert error[0].startswith("error: big: model.safetensors: the connection kept failing")
    assert "run the download again to resume" in error[0]
    assert partial_size(pool) == 1_000_000
    assert pool.catalog.read_bytes() == before
    assert "model.safetensors" not in pool.files_in("big")

    big.drop_after = None
    hub.clear_log()
    result = pool.run("models", "download", "big")
    assert result.code == 0, result
    (request,) = hub.downloads("model.safetensors")
    assert request.body_bytes == big.size - 1_000_000
    assert_complete(pool, big)


def test_two_processes_download_the_same_model_once(
    pool: Pool, hub: FakeHub, tmp_path: Path
) -> None:
    big = one_big_file_repo(hub, tmp_path, 3_000_000)
    big.pause_after = 1_000_000
    pool.register("big", "org/big")
    pool.register("other", "org/big")  # another model: it does not wait

    first = pool.start("models", "download", "big", stderr=tmp_path / "err1")
    second = None
    try:
        assert big.paused.wait(WAIT)
        second = pool.start("models", "download", "big", stderr=tmp_path / "err2")
        wait_for(
            lambda: "waiting for another download of big" in (tmp_path / "err2").read_text(),
            "the second download to say it waits",
        )
        note = (tmp_path / "err2").read_text()
        assert f"(pid {first.pid} on {os.uname().nodename}, since " in note
        # A different model is not held up by the lock (its file is not paused any more).
        big.pause_after = None
        other = pool.run("models", "download", "other")
        assert other.code == 0, other
        big.released.set()
        assert first.wait(WAIT) == 0, (tmp_path / "err1").read_text()
        assert second.wait(WAIT) == 0, (tmp_path / "err2").read_text()
    finally:
        big.released.set()
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    # The second found the model complete: the server sent the big file twice in all, once per
    # model, never twice for `big`.
    sizes = [r.body_bytes for r in hub.downloads("model.safetensors")]
    assert sum(sizes) == 2 * big.size, sizes
    assert_complete(pool, big)
    assert pool.entry("other")["downloaded"] is True
    assert not pool.partial_dir().exists()


def test_a_full_disk_mid_transfer_keeps_the_partial_file(
    pool: Pool, hub: FakeHub, tmp_path: Path
) -> None:
    """The kernel refuses writes past 2 MB (RLIMIT_FSIZE, as a full disk would refuse them):
    the error names the file and where its partial data is kept; a rerun with room resumes."""
    big = one_big_file_repo(hub, tmp_path, 4_000_000)
    pool.register("big", "org/big")
    before = pool.catalog.read_bytes()
    limit = 2_000_000

    completed = subprocess.run(
        ["prlimit", f"--fsize={limit}", str(HIVE), "models", "download", "big"],
        cwd=pool.root,
        env=pool.env(),
        capture_output=True,
        timeout=WAIT,
        check=False,
    )

    assert completed.returncode == 1, completed
    (line,) = [x for x in completed.stderr.decode().splitlines() if x.startswith("error: ")]
    assert line.startswith(
        "error: big: model.safetensors: the disk is full (File too large) after "
    )
    assert "the partial file is kept in " in line
    assert "run the download again to resume" in line
    assert partial_size(pool) == limit
    assert pool.catalog.read_bytes() == before
    assert "model.safetensors" not in pool.files_in("big")

    hub.clear_log()
    result = pool.run("models", "download", "big")
    assert result.code == 0, result
    (request,) = hub.downloads("model.safetensors")
    assert request.body_bytes == big.size - limit
    assert_complete(pool, big)


def test_a_complete_model_drops_the_partial_file_an_interrupted_force_left(
    pool: Pool, hub: FakeHub, tmp_path: Path
) -> None:
    """`download --force` of a complete model, killed: its partial file would never be used
    (the model is complete); the next run that finds the model complete removes it, and says so."""
    big = one_big_file_repo(hub, tmp_path, 4_000_000)
    pool.register("big", "org/big")
    assert pool.run("models", "download", "big").code == 0

    big.pause_after = 2_000_000
    process = pool.start("models", "download", "big", "--force", stderr=tmp_path / "err")
    try:
        assert big.paused.wait(WAIT)
        wait_for(lambda: partial_size(pool) >= 2_000_000, "the forced partial file")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        big.released.set()
    assert partial_size(pool) == 2_000_000

    hub.clear_log()
    again = pool.run("models", "download", "big")
    assert again.code == 0, again
    assert again.out == (
        "✅ Model big downloaded: 2 file(s), 4.0 MB in .test-models/big (already complete, "
        "nothing transferred; removed 2.0 MB of stale partial data from "
        ".test-models/.rbee-partial/big)\n"
    )
    assert hub.downloads() == []
    assert_complete(pool, big)
    assert not pool.partial_dir().exists()
    # --json says it too; nothing is left to remove the next time.
    document = json.loads(pool.run("models", "download", "big", "--json").out)
    assert document["models"][0]["removed_partial_bytes"] == 0
