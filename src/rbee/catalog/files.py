"""The catalog's files, below any catalog type: the lock, atomic writes, reads with identity.

- Reads never lock: writers replace the file by `rename`, so a reader sees the old or the new
  file, never half of one.
- Writes go to a temp file in the same directory, are fsynced, and are renamed over the target;
  the directory is fsynced after. The file's mode is kept. The previous file stays as `.bak`.
- Every read-modify-write holds an exclusive `flock` on `<catalog>.lock` (a separate file that
  is never deleted, so two processes can never hold locks on different inodes).

Paths are plain strings here: `pathlib` (with `urllib.parse` and `ipaddress`) would cost every
CLI start-up a few milliseconds. Errors still offer `.path` as a `pathlib.Path`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from _thread import get_ident
from collections.abc import Iterator

from rbee.catalog.errors import CatalogIOError, CatalogLockError, CatalogNotFoundError

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` is left out of the CLIs' start-up (see rbee.catalog.rules)
    StrPath = str | os.PathLike[str]

DEFAULT_LOCK_TIMEOUT = 30.0
_held_locks: dict[tuple[str, int], int] = {}
"""Locks held by each thread of this process, with their nesting depth.

`flock` is not re-entrant across file descriptors, so a thread that already holds a catalog's
lock must not take it again; other threads open their own descriptor and wait like any process.
"""


# Paths are plain strings here: `pathlib` (with `urllib.parse` and `ipaddress`) would cost every


def lock_path_for(path: StrPath) -> str:
    return os.fspath(path) + ".lock"


def backup_path_for(path: StrPath) -> str:
    return os.fspath(path) + ".bak"


@contextlib.contextmanager
def catalog_lock(path: StrPath, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the exclusive write lock of the catalog at `path` (re-entrant in one process).

    Keyed on the real path: the same catalog reached through a symlinked directory is the
    same lock (a thread holding it does not wait for itself).
    """
    target = os.path.realpath(path)
    key = (target, get_ident())
    if key in _held_locks:
        _held_locks[key] += 1
        try:
            yield
        finally:
            _held_locks[key] -= 1
        return
    lock_path = lock_path_for(target)
    make_catalog_folder(path, target)
    fd = _open_lock_file(lock_path)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise CatalogLockError(lock_path, timeout) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        _held_locks[key] = 1
        try:
            yield
        finally:
            del _held_locks[key]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _open_lock_file(lock_path: str) -> int:
    """A descriptor to `flock`: the lock file, created if need be.

    A lock file we may not write (left by `sudo rbee-hive`, say) still serves: `flock` takes
    an exclusive lock through a read-only descriptor too.
    """
    try:
        return os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        error = exc
    if error.errno in (errno.EACCES, errno.EPERM):
        try:
            return os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            pass  # not there, and the directory does not let us create it
        except OSError as exc:
            raise CatalogIOError(lock_path, "open the lock file", exc) from None
    action = "open the lock file" if os.path.lexists(lock_path) else "create the lock file"
    raise CatalogIOError(lock_path, action, error) from None


FileState = tuple[int, int, int, int]
"""(device, inode, size, mtime_ns) of a catalog file: which version of the file we hold."""


def read_with_state(path: StrPath) -> tuple[bytes, FileState]:
    try:
        with open(path, "rb") as file:
            data = file.read()
            return data, state_of(os.fstat(file.fileno()))
    except FileNotFoundError:
        raise CatalogNotFoundError(path) from None
    except IsADirectoryError as exc:
        raise CatalogIOError(path, "read", exc) from None
    except OSError as exc:
        raise CatalogIOError(path, "read", exc) from None


def state_of(stat: os.stat_result) -> FileState:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def current_state(target: str) -> FileState | None:
    try:
        return state_of(os.stat(target))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CatalogIOError(target, "read", exc) from None


def real_target(path: StrPath) -> str:
    """Where a catalog really is: a symlinked catalog is written (and locked) at its target,
    so that saving keeps the link instead of replacing it with a file."""
    if os.path.islink(path):
        target = os.path.realpath(path)
        if not os.path.isdir(os.path.dirname(target)):
            raise _dangling_link_error(path, os.fspath(path), target)
        return target
    return os.fspath(path)


def make_catalog_folder(path: StrPath, target: str) -> None:
    """Create the folder of the catalog at `path` (really at `target`) when it is missing.

    Only the folders `path` itself names are created, never a symlink's missing target: a
    catalog that is (or lies below) a symlink to nowhere is an error and nothing is created.
    """
    if os.path.isdir(os.path.dirname(target)):
        return
    given = os.path.abspath(path)
    link = given
    while True:
        if os.path.islink(link) and not os.path.exists(link):
            raise _dangling_link_error(path, link, os.path.realpath(link))
        parent = os.path.dirname(link)
        if parent == link:
            break
        link = parent
    folder = os.path.dirname(given)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise CatalogIOError(folder, "create the catalog directory", exc) from None


def _dangling_link_error(path: StrPath, link: str, where: str) -> CatalogIOError:
    missing = os.path.dirname(where) if link == os.path.abspath(path) else where
    return CatalogIOError(
        path,
        "write the catalog",
        OSError(
            errno.ENOENT,
            f"{link} is a symlink to {where}, and {missing} does not exist "
            "(nothing was created: create it, or fix the link)",
        ),
    )


def write_atomically(target: StrPath, data: bytes) -> None:
    """Replace `target` with `data` so that a crash leaves the old or the new file, whole.

    The old file, when there is one, becomes `<target>.bak`.
    """
    target = os.fspath(target)
    directory = os.path.dirname(target) or "."
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise CatalogIOError(directory, "create the catalog directory", exc) from None
    mode = _existing_mode(target)
    name = os.path.basename(target)
    temp = os.path.join(directory, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise CatalogIOError(directory, "write to the catalog directory", exc) from None
    try:
        try:
            if mode is not None:
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if mode is not None:
            _keep_backup(target)
        os.replace(temp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise CatalogIOError(target, "write", exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_directory(directory)


def remove_stale_temp_files(target: str) -> None:
    """Temp files left by a writer that was killed mid-save; only called under the lock."""
    directory, base = os.path.split(target)
    prefix = f".{base}."
    with contextlib.suppress(OSError):
        for name in os.listdir(directory or "."):
            if name.startswith(prefix) and name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(directory, name))


def _existing_mode(target: str) -> int | None:
    try:
        return os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CatalogIOError(target, "read", exc) from None


def _keep_backup(target: str) -> None:
    """Make `<target>.bak` the current file, atomically: a hard link, or a copy where links fail."""
    backup = backup_path_for(target)
    directory, base = os.path.split(target)
    staging = os.path.join(directory, f".{base}.{os.getpid()}.bak.tmp")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(staging)
    try:
        os.link(target, staging)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
            raise
        import shutil

        shutil.copy2(target, staging)
    os.replace(staging, backup)


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the rename is still atomic
    finally:
        os.close(fd)
