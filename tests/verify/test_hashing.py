"""`rbee.hashing`: digests equal to hashlib's, sha256sum's and git's, on real files."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from pathlib import Path

import pytest

from rbee.hashing import (
    READ_SIZE,
    FileHash,
    git_blob_sha1,
    hash_file,
    hash_files,
    sha256_file,
    try_hash_files,
)
from rbee.workflows.progress import Progress

SIZES = [0, 1, 2047, 2048, READ_SIZE - 1, READ_SIZE, READ_SIZE + 1, 3 * READ_SIZE + 5]


class Recorder(Progress):
    """Keeps every call, from whichever thread made it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: dict[str, int] = {}
        self.advanced: dict[str, int] = {}
        self.done: dict[str, tuple[int, str]] = {}
        self.threads: set[str] = set()

    def file_started(self, name: str, size: int, already: int = 0) -> None:
        with self.lock:
            self.started[name] = size
            self.threads.add(threading.current_thread().name)

    def advance(self, name: str, n_bytes: int) -> None:
        with self.lock:
            self.advanced[name] = self.advanced.get(name, 0) + n_bytes

    def file_done(self, name: str, size: int, status: str = "ok") -> None:
        with self.lock:
            self.done[name] = (size, status)


def _write(path: Path, size: int, seed: int = 0) -> bytes:
    data = (hashlib.sha512(str(seed).encode()).digest() * (size // 64 + 1))[:size]
    data = bytes(b ^ (i % 251) for i, b in enumerate(data[:4096])) + data[4096:]
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("size", SIZES)
def test_sha256_matches_hashlib_and_sha256sum(tmp_path: Path, size: int) -> None:
    path = tmp_path / f"f{size}.bin"
    data = _write(path, size, size)
    expected = hashlib.sha256(data).hexdigest()
    assert sha256_file(path) == expected
    assert hash_file(str(path)) == FileHash(size, expected)
    if size in (0, 3 * READ_SIZE + 5):
        tool = subprocess.run(["sha256sum", str(path)], capture_output=True, check=True, text=True)
        assert tool.stdout.split()[0] == expected


def test_git_blob_sha1_matches_git(tmp_path: Path) -> None:
    for size in (0, 10, READ_SIZE + 3):
        path = tmp_path / f"g{size}.bin"
        _write(path, size, size + 1)
        git = subprocess.run(
            ["git", "hash-object", "--no-filters", str(path)],
            capture_output=True,
            check=True,
            text=True,
            cwd=tmp_path,
        )
        assert git_blob_sha1(path) == git.stdout.strip()


def test_hash_files_same_answers_for_any_number_of_workers(tmp_path: Path) -> None:
    paths = []
    expected = {}
    for n in range(7):
        path = tmp_path / f"part-{n}.bin"
        data = _write(path, (n * 337_000) % (2 * READ_SIZE), n)
        paths.append(str(path))
        expected[str(path)] = FileHash(len(data), hashlib.sha256(data).hexdigest())
    for workers in (None, 1, 2, 5, 64):
        found = hash_files(paths + paths[:2], workers=workers)
        assert found == expected
        assert list(found) == paths  # the order given, duplicates once


def test_unreadable_file_does_not_stop_the_others(tmp_path: Path) -> None:
    good = tmp_path / "good.bin"
    data = _write(good, 5000)
    found = try_hash_files([tmp_path / "gone.bin", good, tmp_path], workers=2)
    assert isinstance(found[str(tmp_path / "gone.bin")], FileNotFoundError)
    assert isinstance(found[str(tmp_path)], IsADirectoryError)
    assert found[str(good)] == FileHash(5000, hashlib.sha256(data).hexdigest())
    with pytest.raises(FileNotFoundError):
        hash_files([good, tmp_path / "gone.bin"])
    with pytest.raises(FileNotFoundError):
        sha256_file(tmp_path / "gone.bin")


def test_progress_reports_every_byte_per_file_from_the_worker_threads(tmp_path: Path) -> None:
    paths = {}
    for n in range(4):
        path = tmp_path / f"p{n}.bin"
        _write(path, 9 * READ_SIZE + n, n)
        paths[str(path)] = f"model/p{n}.bin"
    recorder = Recorder()

    def status(key: str, found: FileHash) -> str:
        assert found.size == os.path.getsize(key)
        return "changed" if key.endswith("p1.bin") else "ok"

    try_hash_files(paths, workers=2, progress=recorder, names=paths, status=status)
    for n, name in enumerate(paths.values()):
        size = 9 * READ_SIZE + n
        assert recorder.started[name] == size
        assert recorder.advanced[name] == size
        assert recorder.done[name][0] == size
    assert recorder.done["model/p1.bin"][1] == "changed"
    assert all(name.startswith("rbee-hash") for name in recorder.threads)


class Rendezvous(Recorder):
    """The first two files wait for each other to start: only parallel hashing gets past."""

    def __init__(self) -> None:
        super().__init__()
        self.barrier = threading.Barrier(2, timeout=60)
        self.calls = 0

    def file_started(self, name: str, size: int, already: int = 0) -> None:
        with self.lock:
            self.calls += 1
            first_two = self.calls <= 2
        super().file_started(name, size, already)
        if first_two:
            self.barrier.wait()  # BrokenBarrierError if the other never starts


def test_two_files_are_hashed_at_the_same_time(tmp_path: Path) -> None:
    paths = []
    for n in range(4):
        path = tmp_path / f"p{n}.bin"
        _write(path, READ_SIZE, n)
        paths.append(path)
    rendezvous = Rendezvous()
    assert len(hash_files(paths, workers=2, progress=rendezvous)) == 4
    assert len(rendezvous.threads) == 2


def test_unreadable_file_is_reported_to_progress(tmp_path: Path) -> None:
    recorder = Recorder()
    try_hash_files([tmp_path / "gone.bin"], progress=recorder)
    assert recorder.done == {str(tmp_path / "gone.bin"): (0, "unreadable")}


def test_sparse_file_hashes_as_its_zeros(tmp_path: Path) -> None:
    path = tmp_path / "sparse.bin"
    with open(path, "wb") as file:
        file.truncate(64 * READ_SIZE)
    expected = hashlib.sha256(bytes(64 * READ_SIZE)).hexdigest()
    assert sha256_file(path) == expected


def test_fifo_is_read_like_a_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    payload = b"x" * (READ_SIZE + 17)

    def feed() -> None:
        with open(fifo, "wb") as writer:
            writer.write(payload)

    thread = threading.Thread(target=feed)
    thread.start()
    try:
        assert sha256_file(fifo) == hashlib.sha256(payload).hexdigest()
    finally:
        thread.join()
