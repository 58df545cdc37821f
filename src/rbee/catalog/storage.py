"""Reading and writing catalog files without ever losing one.

- Reads never lock: writers replace the file by `rename`, so a reader sees the old or the new
  file, never half of one.
- Writes go to a temp file in the same directory, are fsynced, and are renamed over the target;
  the directory is fsynced after. The file's mode is kept. The previous file stays as `.bak`.
- Every read-modify-write holds an exclusive `flock` on `<catalog>.lock` (a separate file that
  is never deleted, so two processes can never hold locks on different inodes).
- A file that does not parse or validate is reported and left alone; nothing replaces it, not
  even a `save` of a catalog that was not loaded from that file (see `_check_replaceable`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from _thread import get_ident
from collections.abc import Iterator

from rbee.catalog.errors import (
    CatalogConflictError,
    CatalogCorruptError,
    CatalogError,
    CatalogInvalidError,
    CatalogIOError,
    CatalogLockError,
    CatalogNotFoundError,
)
from rbee.catalog.migrations import migrate
from rbee.catalog.model import ModelCatalog, content_key

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` is left out of the CLIs' start-up (see rbee.catalog.model)
    from typing import Any

    StrPath = str | os.PathLike[str]

DEFAULT_LOCK_TIMEOUT = 30.0
_held_locks: dict[tuple[str, int], int] = {}
"""Locks held by each thread of this process, with their nesting depth.

`flock` is not re-entrant across file descriptors, so a thread that already holds a catalog's
lock must not take it again; other threads open their own descriptor and wait like any process.
"""


# Paths are plain strings here: `pathlib` (with `urllib.parse` and `ipaddress`) would cost every
# CLI start-up a few milliseconds. Errors still offer `.path` as a `pathlib.Path`.


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
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
    except OSError as exc:
        raise CatalogIOError(os.path.dirname(target), "create the catalog directory", exc) from None
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


def parse_catalog(data: bytes, path: StrPath | None = None) -> ModelCatalog:
    """Parse, migrate and validate a catalog document given as bytes."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CatalogCorruptError(path, "the file is not UTF-8 text", line, column) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise CatalogCorruptError(path, f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise CatalogCorruptError(path, "JSON nested too deeply") from None
    except ValueError:  # NaN or Infinity, or an integer with too many digits
        raise _unsupported_number(text, path) from None
    if not isinstance(document, dict):
        error = CatalogInvalidError("(document)", "must be a JSON object with the catalog fields")
        raise error.in_file(path) if path is not None else error
    original_version = document.get("version")
    try:
        catalog = ModelCatalog.from_dict(migrate(document, path))
    except CatalogInvalidError as exc:
        raise exc.in_file(path) if path is not None else exc from None
    except RecursionError:
        raise CatalogCorruptError(path, "JSON nested too deeply") from None
    if original_version != catalog.version:
        catalog.migrated_from = original_version if isinstance(original_version, str) else "0.0"
    return catalog


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in a catalog")


def _unsupported_number(text: str, path: StrPath | None) -> CatalogCorruptError:
    """The error for a number `json` parses but a catalog must not hold, with its position."""
    import re
    import sys

    limit = sys.get_int_max_str_digits() or 4300
    # Strings are matched whole so that "NaN" inside a string is not mistaken for the number.
    digits = f"{{{limit + 1},}}"
    token = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)|(-?[0-9]' + digits + ")")
    for match in token.finditer(text):
        if match.group(1):
            reason = f"{match.group(1)} is not a JSON number and is not allowed in a catalog"
        elif match.group(2):
            reason = f"a number has more than {limit} digits"
        else:
            continue
        start = match.start()
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        return CatalogCorruptError(path, reason, line, column)
    return CatalogCorruptError(path, "a number cannot be read")


FileState = tuple[int, int, int, int]
"""(device, inode, size, mtime_ns) of a catalog file: which version of the file we hold."""


def read_bytes(path: StrPath) -> bytes:
    return _read_with_state(path)[0]


def _read_with_state(path: StrPath) -> tuple[bytes, FileState]:
    try:
        with open(path, "rb") as file:
            data = file.read()
            return data, _state_of(os.fstat(file.fileno()))
    except FileNotFoundError:
        raise CatalogNotFoundError(path) from None
    except IsADirectoryError as exc:
        raise CatalogIOError(path, "read", exc) from None
    except OSError as exc:
        raise CatalogIOError(path, "read", exc) from None


def load_catalog(path: StrPath, *, track_changes: bool = True) -> ModelCatalog:
    """Read and validate the catalog at `path`.

    With `track_changes` (the default), a later `save` can tell whether anything changed and
    stamps `updated_at` only then; read-only callers may skip that bookkeeping.
    """
    target = os.fspath(path)
    data, state = _read_with_state(target)
    catalog = parse_catalog(data, target)
    catalog._file_state = (os.path.abspath(_real_target(target)), state)
    if track_changes and catalog.migrated_from is None:
        # (A migrated catalog has no baseline: its next save writes the current format.)
        # The file's own bytes are the baseline: free now, and what `save` renders for an
        # unchanged catalog, so telling edits apart later is a byte comparison.
        catalog._baseline = (catalog.updated_at, data)
    return catalog


def _state_of(stat: os.stat_result) -> FileState:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _current_state(target: str) -> FileState | None:
    try:
        return _state_of(os.stat(target))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CatalogIOError(target, "read", exc) from None


def _check_replaceable(catalog: ModelCatalog, target: str) -> None:
    """Refuse to replace a file that is not a catalog this rbee can read.

    A catalog saved back to the file it was loaded from (and that nobody has replaced since)
    is the common case and costs one `stat`. Anything else, e.g. a new catalog saved over an
    existing path, first reads what is there: a corrupt, invalid or newer-format file raises
    and stays as it is, instead of being pushed out (and, one save later, out of `.bak` too).
    """
    current = _current_state(target)
    here = os.path.abspath(target)
    if current is None or catalog._file_state == (here, current):
        return
    parse_catalog(read_bytes(target), target)
    if catalog._file_state is not None and catalog._file_state[0] == here:
        # Loaded from this very file, which another writer has replaced since: a lost update.
        raise CatalogConflictError(target)


def render_catalog(catalog: ModelCatalog) -> str:
    """The catalog file's text: pretty JSON in the seed's field order, UTF-8, final newline."""
    return _render(catalog.to_dict()).decode("utf-8")


def _render(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def content_changed(catalog: ModelCatalog, rendered: bytes | None = None) -> bool:
    """Whether anything but `updated_at` differs from the catalog's last load or save.

    A mutating method has already moved `updated_at`; otherwise the rendering is compared with
    the baseline's bytes, and only when those differ (an in-place edit, or a file formatted by
    another writer) are the two parsed and compared field by field.
    """
    baseline = catalog._baseline
    if baseline is None or catalog.updated_at != baseline[0]:
        return True
    if rendered is None:
        rendered = _render(catalog.to_dict())
    if rendered == baseline[1]:
        return False
    try:
        before = parse_catalog(baseline[1]).to_dict()
    except CatalogError:
        return True
    return content_key(before) != content_key(catalog.to_dict())


def save_catalog(catalog: ModelCatalog, path: StrPath) -> None:
    """Validate, stamp `updated_at` if the content changed, and write atomically with a backup."""
    _save(catalog, os.fspath(path), only_if_changed=False)


def _save(catalog: ModelCatalog, target: str, *, only_if_changed: bool) -> bool:
    target = _real_target(target)
    catalog.validate()
    document = catalog.to_dict()
    baseline = catalog._baseline
    if baseline is None or catalog.updated_at != baseline[0]:
        changed, data = True, b""
    else:
        data = _render(document)
        changed = content_changed(catalog, data)
    if changed:
        catalog.touch()
        document["updated_at"] = catalog.updated_at
        data = _render(document)
    elif only_if_changed or _is_on_disk(catalog, target):
        # Writing the same content again would only push the real previous version out of
        # `.bak` (and move the file's mtime): an unchanged catalog is left as it is.
        return False
    with catalog_lock(target):
        _check_replaceable(catalog, target)
        _remove_stale_temp_files(target)
        write_atomically(target, data)
        state = _current_state(target)
    catalog._baseline = (catalog.updated_at, data)
    catalog._file_state = None if state is None else (os.path.abspath(target), state)
    return True


def _is_on_disk(catalog: ModelCatalog, target: str) -> bool:
    """Whether `target` is still the very file version `catalog` was loaded from or saved to."""
    state = catalog._file_state
    return state is not None and state == (os.path.abspath(target), _current_state(target))


def _real_target(path: StrPath) -> str:
    """Where a catalog really is: a symlinked catalog is written (and locked) at its target,
    so that saving keeps the link instead of replacing it with a file."""
    if os.path.islink(path):
        return os.path.realpath(path)
    return os.fspath(path)


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


def _remove_stale_temp_files(target: str) -> None:
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


@contextlib.contextmanager
def edit_catalog(
    path: StrPath,
    *,
    create_pool_id: str | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> Iterator[ModelCatalog]:
    """Read-modify-write under the catalog's lock.

    Takes the lock, loads the catalog (or, when there is none and `create_pool_id` is given,
    starts an empty one for that pool), yields it, then validates and saves it if it changed.
    If the block raises, nothing is saved. A catalog that exists but cannot be read raises and
    is never replaced.
    """
    target = os.fspath(path)
    if create_pool_id is None and _current_state(target) is None:
        # Checked before the lock, which would create the directory and the lock file: asking
        # to edit a catalog that is not there must leave the disk as it was. (A catalog we may
        # not even look at is a `CatalogIOError` from here.)
        raise CatalogNotFoundError(target)
    with catalog_lock(target, lock_timeout):
        try:
            catalog = load_catalog(target)
            existed = True
        except CatalogNotFoundError:
            if create_pool_id is None:
                raise
            catalog = ModelCatalog.new(create_pool_id)
            existed = False
        yield catalog
        _save(catalog, target, only_if_changed=existed)


__all__ = [
    "CatalogError",
    "backup_path_for",
    "catalog_lock",
    "edit_catalog",
    "load_catalog",
    "lock_path_for",
    "parse_catalog",
    "render_catalog",
    "save_catalog",
    "write_atomically",
]
