"""File digests for records and checks: SHA-256 of model files, git blob SHA-1 of small files.

`sha256_file` hashes one file; `hash_files` hashes many, one file per core at a time, in threads
(hashlib releases the GIL while it hashes a buffer larger than 2 KiB, so threads run in parallel
with no process start-up or pickling). Files are read with `readinto` into one reused 1 MiB
buffer per thread: the read size measured fastest on Linux with SHA-NI (64 KiB reads are ~20%
slower, 16 MiB no faster), and at least as fast as `openssl dgst -sha256`, which reads 8 KiB at a
time (bench/bench_hashing.py measures both targets).

The Hub names a large (LFS) file by its SHA-256 and a small (regular git) file by its git blob
SHA-1: `git_blob_sha1` computes the latter.

Progress: each file reports `file_started`, `advance` (every few MiB) and `file_done` through the
`progress` object, named by its path as given (or `names[path]`). Neither function calls
`begin`/`end`: the caller owns the task, which may hash and do other work. Calls may come from
several threads at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Mapping

# `typing` and `dataclasses` (which imports `inspect`) would cost every importer ~30 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from rbee.workflows.progress import Progress

READ_SIZE = 1 << 20
"""Bytes per read: 1 MiB measured fastest (see the module docstring)."""

_REPORT_EVERY = 8 << 20
"""Bytes between two `advance` calls: a bar moves smoothly without a call per read."""

StrPath = str | os.PathLike[str]


class FileHash:
    """What hashing one file found: its size in bytes (as read) and its SHA-256 (lowercase hex)."""

    __slots__ = ("sha256", "size")

    def __init__(self, size: int, sha256: str) -> None:
        self.size = size
        self.sha256 = sha256

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FileHash):
            return NotImplemented
        return (self.size, self.sha256) == (other.size, other.sha256)

    def __hash__(self) -> int:
        return hash((self.size, self.sha256))

    def __repr__(self) -> str:
        return f"FileHash(size={self.size!r}, sha256={self.sha256!r})"


class _Stopped(BaseException):
    """Raised in a worker thread when the caller is gone (Ctrl-C): not an `OSError` result."""


def default_workers() -> int:
    """How many files to hash at once: one per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS has no sched_getaffinity
        return max(1, os.cpu_count() or 1)


def _hash_fd(
    fd: int,
    algorithm: str,
    buffer: bytearray,
    name: str,
    progress: Progress | None,
    *,
    prefix: bytes = b"",
    stop: threading.Event | None = None,
) -> tuple[int, str]:
    digest = hashlib.new(algorithm)
    if prefix:
        digest.update(prefix)
    view = memoryview(buffer)
    total = 0
    unreported = 0
    if hasattr(os, "posix_fadvise"):
        # Not a regular file, or a file system that refuses advice: read anyway.
        with contextlib.suppress(OSError):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
    while True:
        if stop is not None and stop.is_set():
            raise _Stopped
        n = os.readv(fd, [view])
        if n == 0:
            break
        digest.update(view[:n])
        total += n
        if progress is not None:
            unreported += n
            if unreported >= _REPORT_EVERY:
                progress.advance(name, unreported)
                unreported = 0
    if progress is not None and unreported:
        progress.advance(name, unreported)
    return total, digest.hexdigest()


def _hash_one(
    path: StrPath,
    name: str,
    progress: Progress | None,
    *,
    buffer: bytearray | None = None,
    status: Callable[[FileHash], str] | None = None,
    stop: threading.Event | None = None,
) -> FileHash:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        if progress is not None:
            progress.file_started(name, os.fstat(fd).st_size)
        size, sha = _hash_fd(
            fd, "sha256", buffer or bytearray(READ_SIZE), name, progress, stop=stop
        )
    finally:
        os.close(fd)
    result = FileHash(size, sha)
    if progress is not None:
        progress.file_done(name, size, "ok" if status is None else status(result))
    return result


def sha256_file(path: StrPath, progress: Progress | None = None) -> str:
    """The SHA-256 of the file at `path`, lowercase hex; raises `OSError` if it cannot be read."""
    return _hash_one(path, os.fspath(path), progress).sha256


def hash_file(path: StrPath, progress: Progress | None = None) -> FileHash:
    """Size and SHA-256 of the file at `path` (the size counted while reading it)."""
    return _hash_one(path, os.fspath(path), progress)


def try_hash_files(
    paths: Iterable[StrPath],
    workers: int | None = None,
    progress: Progress | None = None,
    names: Mapping[str, str] | None = None,
    status: Callable[[str, FileHash], str] | None = None,
) -> dict[str, FileHash | OSError]:
    """Hash every file, `workers` at a time (default: one per core); a file that cannot be read
    maps to its `OSError` instead of stopping the others. Keys are `os.fspath(path)`, in the
    order given; the largest files start first so the cores finish together.

    `names` maps a key to the name progress shows; `status(key, hash)` gives the word
    `file_done` reports for a hashed file (default `ok`: e.g. `changed` when a check failed);
    an unreadable file is reported `unreadable`."""
    keys = list(dict.fromkeys(os.fspath(p) for p in paths))
    results: dict[str, FileHash | OSError] = dict.fromkeys(keys, OSError("not hashed"))
    if not keys:
        return results
    n_workers = max(1, min(workers or default_workers(), len(keys)))

    def size_of(key: str) -> int:
        try:
            return os.stat(key).st_size
        except OSError:
            return 0

    order = sorted(keys, key=size_of, reverse=True)

    stop = threading.Event()

    def one(key: str, buffer: bytearray) -> FileHash | OSError:
        shown = names.get(key, key) if names is not None else key
        try:
            verdict = None if status is None else (lambda found: status(key, found))
            return _hash_one(key, shown, progress, buffer=buffer, status=verdict, stop=stop)
        except OSError as exc:
            if progress is not None:
                progress.file_done(shown, 0, "unreadable")
            return exc

    if n_workers == 1:
        buffer = bytearray(READ_SIZE)
        for key in order:
            results[key] = one(key, buffer)
        return results

    local = threading.local()

    def task(key: str) -> tuple[str, FileHash | OSError]:
        buffer = getattr(local, "buffer", None)
        if buffer is None:
            buffer = local.buffer = bytearray(READ_SIZE)
        return key, one(key, buffer)

    from concurrent.futures import ThreadPoolExecutor  # only when there are files to share

    pool = ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="rbee-hash")
    try:
        for key, result in pool.map(task, order):
            results[key] = result
    except BaseException:
        # Ctrl-C (or a failing progress): the workers stop within one read instead of
        # finishing files that may take minutes each.
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


def hash_files(
    paths: Iterable[StrPath],
    workers: int | None = None,
    progress: Progress | None = None,
    names: Mapping[str, str] | None = None,
) -> dict[str, FileHash]:
    """Like `try_hash_files`, but raises the first file's `OSError` (after all are done)."""
    found = try_hash_files(paths, workers=workers, progress=progress, names=names)
    hashed: dict[str, FileHash] = {}
    for key, result in found.items():
        if isinstance(result, OSError):
            raise result
        hashed[key] = result
    return hashed


def git_blob_sha1(path: StrPath) -> str:
    """The git blob SHA-1 of a file (`git hash-object`): the Hub's id for a non-LFS file."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        size = os.fstat(fd).st_size
        read, sha = _hash_fd(fd, "sha1", bytearray(READ_SIZE), "", None, prefix=b"blob %d\0" % size)
    finally:
        os.close(fd)
    if read != size:  # the file changed while it was read: the header would be wrong
        raise OSError(f"{os.fspath(path)} changed size while it was hashed")
    return sha
