"""Moving one file from the Hub to its final name: resumable across processes, hash-checked.

`huggingface_hub` >= 2 resumes a download only inside the process that started it: each
download writes `<etag>.<random>.incomplete` and deletes it in a `finally`, and since its PR
#4306 a new process never picks a partial file up again (issue #4196). A pool downloading
14 GB over a home connection is stopped by Ctrl-C, a reboot or `kill -9`, so rbee keeps the
partial files itself:

- a file being fetched lives in the model's hidden partial folder (`PartialFolder`), next to
  the model folder, named by the digest the Hub vouches for (`<sha256>.part` or
  `<git-sha1>.part`), so a rerun finds it again and a new version of the file never continues
  an old one;
- a rerun asks for the rest only (`Range: bytes=N-`); a server that answers 200 instead of 206
  gets the whole file again (the partial data is dropped);
- the bytes are hashed as they arrive (after re-hashing the kept part on a resume), and the file
  takes its final name, with `os.replace`, only when its sha256 (LFS files) or git blob sha1
  (small files) is the Hub's; otherwise it is deleted and `HashMismatchError` names it;
- inside one run, a dropped connection or a stalled read is retried from where it stopped, a
  few times; after that `TransferError` says to run again (which resumes);
- `ENOSPC` keeps what was written (a rerun after freeing space resumes) and raises
  `DiskFullError`.

The bytes travel over `huggingface_hub`'s own HTTP session (`get_session()`, an `httpx2.Client`
with its headers and hooks), with the token headers `huggingface_hub` builds.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import time

from rbee.hub.errors import DiskFullError, HashMismatchError, HubHTTPError, TransferError
from rbee.hub.listing import RemoteFile
from rbee.workflows.progress import NO_PROGRESS, Progress

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

PARTIAL_FOLDER = ".rbee-partial"
"""The hidden folder, beside the model folders, that holds unfinished downloads."""
PARTIAL_SUFFIX = ".part"
RETRIES = 3
"""Connection failures in a row, without progress, survived inside one run (a rerun resumes)."""
READ_SIZE = 1 << 20
RETRY_PAUSE = 0.25
"""Seconds before the first retry; doubled for each further failure in a row."""


class PartialFolder:
    """Where model `model_id`'s unfinished files wait: `<models dir>/.rbee-partial/<model_id>/`.

    `<models dir>` is the folder holding the model folder, so partial files are on the same file
    system as their final names (a rename, not a copy) and never inside the model folder.
    """

    def __init__(self, model_dir: str, model_id: str) -> None:
        parent = os.path.dirname(os.path.abspath(model_dir))
        self.base = os.path.join(parent, PARTIAL_FOLDER)
        self.path = os.path.join(self.base, model_id)
        self.lock_path = os.path.join(self.base, model_id + ".lock")

    def file_for(self, remote: RemoteFile) -> str:
        return os.path.join(self.path, remote.expected_digest + PARTIAL_SUFFIX)

    def kept_bytes(self, remote: RemoteFile) -> int:
        """How much of `remote` an earlier run left (0 if none, or if it cannot be used)."""
        try:
            size = os.stat(self.file_for(remote)).st_size
        except OSError:
            return 0
        return size if size <= remote.size else 0


class _Digests:
    """The sha256 of the content and, for a non-LFS file, its git blob sha1."""

    def __init__(self, remote: RemoteFile) -> None:
        self.sha256 = hashlib.sha256()
        self.sha1 = None
        if remote.lfs_sha256 is None:
            self.sha1 = hashlib.sha1(f"blob {remote.size}\0".encode(), usedforsecurity=False)

    def update(self, data: bytes | memoryview) -> None:
        self.sha256.update(data)
        if self.sha1 is not None:
            self.sha1.update(data)

    def hash_prefix(self, path: str, length: int) -> None:
        buffer = bytearray(READ_SIZE)
        view = memoryview(buffer)
        remaining = length
        with open(path, "rb", buffering=0) as file:
            while remaining > 0:
                n = file.readinto(view[: min(READ_SIZE, remaining)])
                if not n:
                    raise OSError(errno.EIO, "partial file shrank while reading", path)
                self.update(view[:n])
                remaining -= n

    def check(self, remote: RemoteFile) -> str:
        """The sha256; raises `HashMismatchError` unless the Hub's digest matches."""
        sha256 = self.sha256.hexdigest()
        if remote.lfs_sha256 is not None:
            if sha256 != remote.lfs_sha256:
                raise HashMismatchError(remote.path, "sha256", remote.lfs_sha256, sha256)
        else:
            assert self.sha1 is not None
            sha1 = self.sha1.hexdigest()
            if sha1 != remote.blob_id:
                raise HashMismatchError(remote.path, "git blob sha1", remote.blob_id, sha1)
        return sha256


class FileResult:
    """One fetched file: its sha256, and how many bytes came over the network this run."""

    __slots__ = ("resumed_from", "sha256", "transferred")

    def __init__(self, sha256: str, transferred: int, resumed_from: int) -> None:
        self.sha256 = sha256
        self.transferred = transferred
        self.resumed_from = resumed_from


def fetch_file(
    url: str,
    remote: RemoteFile,
    partial: str,
    final: str,
    *,
    headers: dict[str, str] | None = None,
    progress: Progress = NO_PROGRESS,
    session: object = None,
    retries: int = RETRIES,
    on_retry: Callable[[str], None] | None = None,
    fresh: bool = False,
) -> FileResult:
    """Fetch `remote` from `url` into `partial` (continuing what is there), check its digest,
    then rename it to `final`. Returns its sha256 and the bytes transferred.

    `session` is an `httpx2.Client` (default: `huggingface_hub`'s); `fresh` drops any partial
    data first. Raises `TransferError`,
    `DiskFullError`, `HashMismatchError` or `HubHTTPError`; `KeyboardInterrupt` keeps `partial`.
    """
    import httpx2

    if session is None:
        from huggingface_hub import get_session

        session = get_session()
    assert isinstance(session, httpx2.Client)
    os.makedirs(os.path.dirname(partial), exist_ok=True)
    if fresh:
        _remove(partial)  # --force, or a partial that appeared after the plan: start over
    have = _usable_size(partial, remote.size)
    resumed_from = have
    progress.file_started(remote.path, remote.size, already=have)
    digests = _Digests(remote)
    if have:
        digests.hash_prefix(partial, have)
    elif not os.path.exists(partial):
        _create(partial)
    job = _Job(have, digests)
    failures = 0
    stuck_at = -1
    while job.have < remote.size:
        try:
            _stream(session, url, headers or {}, partial, job=job, remote=remote, progress=progress)
        except httpx2.TransportError as exc:  # dropped, reset, timed out
            # Only failures in a row without progress count: a long download on a flaky line
            # keeps going as long as each attempt moves it forward.
            failures = failures + 1 if job.have == stuck_at else 1
            stuck_at = job.have
            if failures > retries:
                raise TransferError(
                    f"{remote.path}: the connection kept failing ({_reason(exc)}); "
                    f"{_size_on_disk(partial)} bytes are kept: run the download again to resume"
                ) from None
            if on_retry is not None:
                on_retry(f"{remote.path}: {_reason(exc)}; resuming")
            time.sleep(RETRY_PAUSE * 2 ** (failures - 1))
            # What reached the disk is the truth: hash it again rather than trust the stream.
            job.have = _usable_size(partial, remote.size)
            job.digests = _Digests(remote)
            job.digests.hash_prefix(partial, job.have)
    if job.restarted:
        resumed_from = 0
    digests = job.digests
    try:
        sha256 = digests.check(remote)
    except HashMismatchError:
        _remove(partial)
        raise
    _sync(partial)  # on disk before it takes its name: a crash never leaves a named hole
    _place(partial, final)
    progress.file_done(remote.path, remote.size, "ok")
    return FileResult(sha256, job.moved, resumed_from)


class _Job:
    """A file under way: bytes on disk, bytes moved this run, their digests."""

    __slots__ = ("digests", "have", "moved", "restarted")

    def __init__(self, have: int, digests: _Digests) -> None:
        self.have = have
        self.digests = digests
        self.moved = 0
        self.restarted = False


def _stream(
    session: object,
    url: str,
    headers: dict[str, str],
    partial: str,
    *,
    job: _Job,
    remote: RemoteFile,
    progress: Progress,
) -> None:
    """One GET from byte `job.have` on, appended to `partial` and hashed as it arrives.

    A transport error propagates after what was received is on disk (`job` tells how much).
    """
    import httpx2

    from rbee.hub.listing import timeout

    assert isinstance(session, httpx2.Client)
    request_headers = dict(headers)
    request_headers["Accept-Encoding"] = "identity"
    if job.have:
        request_headers["Range"] = f"bytes={job.have}-"
    with session.stream("GET", url, headers=request_headers, timeout=timeout()) as response:
        status = response.status_code
        if status == 206 and job.have:
            start = _range_start(response.headers.get("Content-Range", ""))
            if start != job.have:
                raise HubHTTPError(
                    f"{remote.path}: the server answered a resume from byte {job.have} with "
                    f"bytes from {start} ({url})"
                )
            mode = "ab"
        elif status == 200:
            if job.have:
                # The server ignores ranges: all of it again.
                job.restarted = True
                progress.note(f"{remote.path}: the server cannot resume; downloading it again")
                progress.advance(remote.path, -job.have)
                job.have = 0
            job.digests = _Digests(remote)
            mode = "wb"
        else:
            _raise_for_status(response, remote, url)
            raise AssertionError("unreachable")
        try:
            # Unbuffered: what arrived is on disk (in the page cache) even after `kill -9`.
            with open(partial, mode, buffering=0) as file:
                for chunk in response.iter_raw():
                    size = len(chunk)
                    if job.have + size > remote.size:
                        raise HashMismatchError(
                            remote.path, "size", str(remote.size), f"more than {remote.size} bytes"
                        )
                    _write_all(file, chunk)
                    job.digests.update(chunk)
                    job.have += size
                    job.moved += size
                    progress.advance(remote.path, size)
        except HashMismatchError:
            _remove(partial)
            raise
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                # EFBIG: a file size limit (ulimit -f, or the file system's own) hit first.
                raise DiskFullError(
                    f"{remote.path}: the disk is full ({exc.strerror}) after {job.have} of "
                    f"{remote.size} bytes; the partial file is kept in "
                    f"{os.path.dirname(partial)}: free some space and run the download again "
                    "to resume"
                ) from None
            raise
    if job.have < remote.size:
        # The server closed a complete-looking answer early: resume like a dropped connection.
        raise httpx2.RemoteProtocolError(f"the server ended the file after {job.have} bytes")


def _write_all(file: Any, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = file.write(view)
        view = view[written:]


def _range_start(content_range: str) -> int | None:
    # "bytes 100-199/200"
    try:
        unit, _, rest = content_range.partition(" ")
        if unit.strip().lower() != "bytes":
            return None
        return int(rest.split("-", 1)[0])
    except ValueError:
        return None


def _raise_for_status(response: object, remote: RemoteFile, url: str) -> None:
    import httpx2

    assert isinstance(response, httpx2.Response)
    status = response.status_code
    if status in (401, 403):
        raise HubHTTPError(
            f"{remote.path}: access denied ({status}) by {url}: accept the repo's licence on "
            "the Hub and set HF_TOKEN (or run `hf auth login`)"
        )
    if status == 404:
        raise HubHTTPError(f"{remote.path}: not found at {url} (404)")
    raise HubHTTPError(f"{remote.path}: HTTP {status} from {url}")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _usable_size(path: str, size: int) -> int:
    try:
        have = os.stat(path).st_size
    except FileNotFoundError:
        return 0
    if have > size:
        os.truncate(path, 0)  # not a prefix of this file: start again
        return 0
    return have


def _size_on_disk(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _create(path: str) -> None:
    with open(path, "wb"):
        pass


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _sync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_directory(path: str) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be synced
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _place(partial: str, final: str) -> None:
    """Give a checked file its final name atomically (a copy first across file systems)."""
    os.makedirs(os.path.dirname(final) or ".", exist_ok=True)
    try:
        os.replace(partial, final)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        import shutil

        temporary = final + ".rbee-tmp"
        shutil.copyfile(partial, temporary)
        _sync(temporary)
        os.replace(temporary, final)
        os.unlink(partial)
    _sync_directory(os.path.dirname(final) or ".")
