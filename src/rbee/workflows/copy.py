"""Copying a model between pools: the rules of both ends, run on the pools.

`llorch models copy` (the orchestrator, `rbee.keeper.copy`) drives three steps on the pools over
ssh and relays the bytes between them; no pool ever reaches another. Each step is a function here
and a hidden `rbee-hive models` plumbing command:

1. `source_manifest` (`rbee-hive models send ID --manifest`), on the source: the entry must be
   downloaded; its file record is made first when it has none (hashing its files, one catalog
   transaction); every recorded file must be there with its recorded size.
2. `prepare_receive` (`rbee-hive models receive ID`, first half), on each destination: which
   entry and where (`--path`, else the source's relative path, else `.test-models/ID`), refused
   when the catalog holds the id with different fields (unless `update`) or a file would
   overwrite one that is not this model's; how much of each file is already there (files are
   received into a hidden staging folder beside the model's folder, `.rbee-copy.ID`, with
   `partial/` and `verified/` trees, so an interrupted copy resumes); free space for the rest.
3. `send_ranges` (`rbee-hive models send ID`), on the source, writes the missing byte ranges of
   the recorded files, back to back, to its stdout; `receive_files` on the destination reads
   them into the partial files, hashing as it goes (a resumed file's first part is hashed from
   disk), and a file whose sha256 matches the record moves to `verified/`; one that does not is
   deleted and the copy fails (the source file changed).
4. `finish` (same `receive` command, once every file is verified): under the catalog's lock, the
   files take their final names in the model's folder and the entry (the source's, with
   `downloaded` true and a record whose source is `{"type": "pool", "pool": SRC, "from": ...}`)
   is added or replaced in one transaction; the staging folder is removed.

Nothing reaches the model's folder or the catalog before every file is verified: an error at any
step leaves only the staging folder, which the next run continues from.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
from collections.abc import Iterator
from typing import IO, Any

from rbee.catalog.record import FileDigest, record_files, resolve_path
from rbee.workflows.errors import WorkflowError
from rbee.workflows.progress import NO_PROGRESS, Progress

STAGING_PREFIX = ".rbee-copy."
"""The hidden staging folder beside the model's folder: `.rbee-copy.ID`."""
CHUNK = 1 << 20
MARGIN_VARIABLE = "RBEE_COPY_MARGIN"
"""Bytes that must stay free on the destination after the copy (default: 100 MB). Tests set it
to reach the free-space check without filling a disk; negative values let the writes run into a
full disk."""
DEFAULT_MODELS_DIR = ".test-models"
PLAN_PREFIX = "rbee-copy-plan "
"""The receiver's stdout line with its plan (`Reception.plan()` as JSON), once planned."""
DONE_PREFIX = "rbee-copy-done "
"""The receiver's stdout line once every file is verified, in place and registered."""
MAX_HEADER = 64 << 20
"""The manifest line's limit (a record of a few thousand files is well under 1 MB)."""
LOCK_WAIT = 10.0
"""Seconds a receiver waits for the staging folder's lock (held by another receiver)."""


class CopyError(WorkflowError):
    """A copy step failed; the message names the model and the file."""


def read_ranges(stream: IO[bytes]) -> list[tuple[str, int]]:
    """The sender's stdin: a JSON list of `[path, offset]`, the byte ranges to send."""
    import json

    try:
        document = json.loads(stream.read(MAX_HEADER))
        return [(str(path), int(offset)) for path, offset in document]
    except (ValueError, TypeError) as exc:
        raise CopyError(f"send: stdin is not a JSON list of [path, offset]: {exc}") from None


def read_manifest(stream: IO[bytes], model_id: str) -> dict[str, Any]:
    """The receiver's first stdin line, `{"manifest": ...}`: model `model_id`'s manifest."""
    import json

    try:
        header = json.loads(stream.readline(MAX_HEADER))
        manifest = header["manifest"]
        if not isinstance(manifest, dict):
            raise TypeError("manifest is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        raise CopyError(f"receive: the first line on stdin is not a copy header: {exc}") from None
    if manifest.get("entry", {}).get("id") != model_id:
        raise CopyError(f"receive: the manifest on stdin is not model {model_id!r}'s")
    return manifest


class SourceChangedError(CopyError):
    """A source file is missing, or its size or sha256 does not match its record."""


class CopyConflictError(CopyError):
    """The destination holds this id with different fields, or other files in the way."""


class TransferIncompleteError(CopyError):
    """The byte stream ended early (connection lost); what arrived is kept for the next run."""


class DiskFullError(CopyError):
    """The destination's file system filled up while receiving."""


# -- records (format 1.1, rbee.catalog.record) ------------------------------------------------


def record_of(entry_dict: dict[str, Any]) -> dict[str, Any] | None:
    record = entry_dict.get("record")
    return record if isinstance(record, dict) else None


def entry_directory(entry_dict: dict[str, Any], root: str) -> str:
    """The folder a record's paths are relative to (`rbee.catalog.record.entry_directory`)."""
    from rbee.catalog import ModelEntry
    from rbee.catalog.record import entry_directory as directory_of

    return directory_of(ModelEntry.from_dict(entry_dict), root)


def _now() -> str:
    from rbee.catalog.model import now_timestamp

    return now_timestamp()


# -- 1. the source ----------------------------------------------------------------------------


def source_manifest(
    catalog_path: str, root: str, model_id: str, progress: Progress = NO_PROGRESS
) -> dict[str, Any]:
    """What a copy of `model_id` from this pool needs: the entry (with its record) and layout.

    Raises `CopyError` when the model is not downloaded, `SourceChangedError` when a recorded
    file is missing or has another size. An entry without a record gets one first (its files
    hashed, then one catalog transaction that changes nothing else).
    """
    from rbee.catalog import load_catalog

    entry = load_catalog(catalog_path, track_changes=False).get_model(model_id)
    document = entry.to_dict()
    if not entry.downloaded:
        raise CopyError(
            f"model {entry.id!r} is not downloaded on this pool: there are no files to copy"
        )
    resolved = resolve_path(entry.path, root)
    if not os.path.exists(resolved):
        raise SourceChangedError(f"model {entry.id!r}: its path {entry.path} does not exist")
    if record_of(document) is None:
        # `rbee-hive models record ID`: hash the files, store the record (one transaction).
        from rbee.workflows.verify import record_models

        report = record_models(catalog_path, root, [entry.id], progress=progress)
        if not report.ok:
            raise CopyError(
                f"model {entry.id!r} changed in the catalog while its files were hashed; "
                "run the copy again"
            )
        document = load_catalog(catalog_path, track_changes=False).get_model(model_id).to_dict()
    record = record_of(document)
    assert record is not None
    directory = entry_directory(document, root)
    for recorded in record_files(record):
        path, size = recorded.path, recorded.size
        full = os.path.join(directory, path)
        try:
            actual = os.stat(full).st_size
        except FileNotFoundError:
            raise SourceChangedError(
                f"model {entry.id!r}: source file {path} is missing (its record lists it)"
            ) from None
        if actual != size:
            raise SourceChangedError(
                f"model {entry.id!r}: source file {path} has {actual} bytes, its record says "
                f"{size}: the file changed (run `rbee-hive models verify {entry.id}`)"
            )
    return {
        "entry": document,
        "layout": "directory" if os.path.isdir(resolved) else "file",
    }


def send_ranges(
    catalog_path: str,
    root: str,
    model_id: str,
    ranges: list[tuple[str, int]],
    out: IO[bytes],
) -> int:
    """Write bytes `offset..size` of each recorded file `(path, offset)`, back to back, to `out`.

    Every file is checked against its record (it exists and has the recorded size) before the
    first byte is written; a path that is not in the record is refused. Returns the bytes sent.
    """
    from rbee.catalog import load_catalog

    document = load_catalog(catalog_path, track_changes=False).get_model(model_id).to_dict()
    record = record_of(document)
    if record is None:
        raise CopyError(f"model {model_id!r} has no file record on this pool")
    sizes = {f.path: f.size for f in record_files(record)}
    directory = entry_directory(document, root)
    opened: list[tuple[Any, int, int]] = []
    try:
        for path, offset in ranges:
            if path not in sizes:
                raise CopyError(f"model {model_id!r}: {path!r} is not one of its files")
            full = os.path.join(directory, path)
            try:
                file = open(full, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                raise SourceChangedError(
                    f"model {model_id!r}: source file {path} is missing"
                ) from None
            opened.append((file, offset, sizes[path]))
            actual = os.fstat(file.fileno()).st_size
            if actual != sizes[path]:
                raise SourceChangedError(
                    f"model {model_id!r}: source file {path} has {actual} bytes, its record "
                    f"says {sizes[path]}: the file changed"
                )
            if not 0 <= offset <= actual:
                raise CopyError(f"{path}: offset {offset} is outside the file")
        out.flush()
        fd = out.fileno()
        sent = 0
        for file, offset, size in opened:
            sent += _send_file(file.fileno(), fd, offset, size - offset)
        return sent
    finally:
        for file, _, _ in opened:
            file.close()


def _send_file(source: int, target: int, offset: int, count: int) -> int:
    """Copy `count` bytes from `offset` of `source` to `target` (sendfile when it can)."""
    done = 0
    use_sendfile = hasattr(os, "sendfile")
    while done < count:
        want = min(count - done, 8 * CHUNK)
        if use_sendfile:
            try:
                n = os.sendfile(target, source, offset + done, want)
            except OSError as exc:
                if exc.errno in (errno.EINVAL, errno.ENOSYS) and done == 0:
                    use_sendfile = False
                    continue
                raise
        else:
            data = os.pread(source, min(want, CHUNK), offset + done)
            n = 0
            view = memoryview(data)
            while view:
                written = os.write(target, view)
                view = view[written:]
                n += written
        if n == 0:
            raise SourceChangedError("a source file became shorter while it was sent")
        done += n
    return done


# -- 2. the destination -----------------------------------------------------------------------


class FilePlan:
    """One file on the receiving end: what the record says and what is here already."""

    __slots__ = ("offset", "path", "sha256", "size", "state")

    def __init__(self, path: str, size: int, sha256: str, state: str, offset: int) -> None:
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.state = state  # "verified" (complete), "partial" (offset bytes there), "new"
        self.offset = offset

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "state": self.state, "offset": self.offset}


class Reception:
    """A copy being received: the entry it will register, where, and each file's state.

    Holds the staging folder's lock until `close()` (also a context manager).
    """

    def __init__(
        self,
        *,
        catalog_path: str,
        root: str,
        pool_id: str,
        entry: dict[str, Any],
        directory: str,
        staging: str,
        files: list[FilePlan],
        update: bool,
        up_to_date: bool,
        lock_fd: int | None,
    ) -> None:
        self.catalog_path = catalog_path
        self.root = root
        self.pool_id = pool_id
        self.entry = entry
        self.directory = directory
        self.staging = staging
        self.files = files
        self.update = update
        self.up_to_date = up_to_date
        self._lock_fd = lock_fd

    @property
    def missing_bytes(self) -> int:
        return sum(f.size - f.offset for f in self.files if f.state != "verified")

    def plan(self) -> dict[str, Any]:
        """What the orchestrator needs: the files still to send and from which offset."""
        return {
            "path": self.entry["path"],
            "staging": self._shown(self.staging),
            "up_to_date": self.up_to_date,
            "files": [f.to_dict() for f in self.files],
            "missing_bytes": self.missing_bytes,
        }

    def _shown(self, path: str) -> str:
        """`path` relative to the pool's root when it is under it (as entry paths are)."""
        relative = os.path.relpath(path, os.path.abspath(self.root))
        return path if relative.startswith("..") else relative

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Reception:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def copied_entry(
    manifest: dict[str, Any], source_pool: str, dest_path: str | None
) -> tuple[dict[str, Any], str]:
    """The destination's entry for a source manifest, and its folder (as the entry states it).

    The folder is `dest_path`, else the source's own folder when its path is relative to its
    root, else `.test-models/ID`; a single-file entry keeps its file name inside that folder.
    """
    source = dict(manifest["entry"])
    record = record_of(source)
    if record is None:
        raise CopyError("the source manifest has no file record")
    layout = manifest.get("layout", "directory")
    path = str(source["path"])
    if dest_path is not None:
        folder = dest_path.rstrip("/") or dest_path
    elif not os.path.isabs(path):
        folder = path if layout == "directory" else (os.path.dirname(path) or ".")
    else:
        folder = f"{DEFAULT_MODELS_DIR}/{source['id']}"
    entry_path = folder if layout == "directory" else f"{folder}/{os.path.basename(path)}"
    if entry_path.startswith("./"):
        entry_path = entry_path[2:]
    new_record = {
        "source": {"type": "pool", "pool": source_pool, "from": record.get("source", {})},
        "recorded_at": _now(),
        "files": record["files"],
    }
    entry = {**source, "path": entry_path, "downloaded": True, "record": new_record}
    from rbee.catalog import ModelEntry

    # Validated here (record paths are relative, without '..'): a bad entry fails before any
    # byte moves.
    ModelEntry.from_dict(entry)
    return entry, folder


_IDENTITY_FIELDS = ("name", "format", "architecture")


def _differences(existing: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The fields in which `existing` differs from the entry a copy would write.

    A downloaded entry must match in everything but its record's source and time; one that is
    not downloaded (registered, waiting for its files) only in name, format and architecture:
    the rest describes files it does not have yet, and the copy fills it in.
    """
    if not existing.get("downloaded"):
        keys: tuple[str, ...] = (*_IDENTITY_FIELDS, "path")
    else:
        keys = tuple(k for k in {**existing, **new} if k not in ("record", "downloaded", "id"))
    changed = [k for k in keys if existing.get(k) != new.get(k)]
    if existing.get("downloaded"):
        old_record = record_of(existing)
        if old_record is None or old_record.get("files") != new["record"]["files"]:
            changed.append("record.files")
    return changed


def prepare_receive(
    catalog_path: str,
    root: str,
    pool_id: str,
    manifest: dict[str, Any],
    *,
    source_pool: str,
    dest_path: str | None = None,
    update: bool = False,
    margin: int | None = None,
) -> Reception:
    """Decide what this pool receives for `manifest`, and lock its staging folder.

    Raises `CopyConflictError` (different entry without `update`; files in the way),
    `CopyError` (another copy of the model is being received here), `NotEnoughSpaceError`.
    """
    from rbee.catalog import CatalogNotFoundError, load_catalog
    from rbee.workflows.disk import DEFAULT_MARGIN, check_free_space

    entry, folder = copied_entry(manifest, source_pool, dest_path)
    model_id = str(entry["id"])
    try:
        catalog = load_catalog(catalog_path, track_changes=False)
        existing_entry = catalog.find_model_ignoring_case(model_id)
    except CatalogNotFoundError:
        existing_entry = None
    if existing_entry is not None and existing_entry.id != model_id:
        raise CopyConflictError(
            f"this pool has a model {existing_entry.id!r} already (ids are unique ignoring case)"
        )
    existing = existing_entry.to_dict() if existing_entry is not None else None
    if existing is not None:
        different = _differences(existing, entry)
        if different and not update:
            raise CopyConflictError(
                f"model {model_id!r} is already in the catalog with a different "
                f"{', '.join(different)}; use --update to replace it"
                + (" (or --path to put it elsewhere)" if different == ["path"] else "")
            )
    directory = resolve_path(folder, root)
    files = record_files(entry["record"])
    same_files = (
        existing is not None
        and existing.get("downloaded") is True
        and resolve_path(str(existing["path"]), root) == resolve_path(str(entry["path"]), root)
        and (record_of(existing) or {}).get("files") == entry["record"]["files"]
    )
    up_to_date = bool(
        same_files
        and existing is not None
        and not _differences(existing, entry)
        and all(_size_or_none(os.path.join(directory, f.path)) == f.size for f in files)
    )
    if not same_files:
        in_the_way = [f.path for f in files if os.path.lexists(os.path.join(directory, f.path))]
        ours = existing is not None and (update or not existing.get("downloaded"))
        if in_the_way and not ours:
            raise CopyConflictError(
                f"{os.path.join(folder, in_the_way[0])} already exists on this pool and is not "
                f"a copy of {model_id!r}; choose another --path, or remove it"
            )
    staging = os.path.join(os.path.dirname(os.path.abspath(directory)), STAGING_PREFIX + model_id)
    plans = [] if up_to_date else _plans(staging, files)
    if not up_to_date:
        # Checked before the staging folder exists: a refused copy leaves nothing behind.
        if margin is None:
            margin = _margin_from_environment(DEFAULT_MARGIN)
        check_free_space(staging, sum(p.size - p.offset for p in plans), margin)
    lock_fd = None
    if not up_to_date:
        os.makedirs(staging, exist_ok=True)
        lock_fd = _lock(staging, model_id)
        try:
            _forget_stale(staging, files)
        except BaseException:
            os.close(lock_fd)
            raise
        plans = _plans(staging, files)  # again, now that no other receiver can change them
    return Reception(
        catalog_path=catalog_path,
        root=root,
        pool_id=pool_id,
        entry=entry,
        directory=directory,
        staging=staging,
        files=plans,
        update=update,
        up_to_date=up_to_date,
        lock_fd=lock_fd,
    )


def _forget_stale(staging: str, files: list[FileDigest]) -> None:
    """Drop what an earlier copy staged for other bytes (the source's files changed since).

    `expected.json` in the staging folder names the sha256 each staged file was received for;
    a file now recorded with another digest starts again from nothing.
    """
    import json

    expected_path = os.path.join(staging, "expected.json")
    try:
        with open(expected_path, "rb") as file:
            expected = json.load(file)
        if not isinstance(expected, dict):
            expected = {}
    except (OSError, ValueError):
        expected = {}
    wanted = {f.path: f.sha256 for f in files}
    for path, sha in wanted.items():
        if expected.get(path) != sha:
            for tree in ("verified", "partial"):
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    os.unlink(os.path.join(staging, tree, path))
    temporary = expected_path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(wanted, file)
    os.replace(temporary, expected_path)


def _plans(staging: str, files: list[FileDigest]) -> list[FilePlan]:
    """Each file's state in the staging folder: verified, partial (and how much), or new."""
    plans = []
    for f in files:
        path, size, sha = f.path, f.size, f.sha256
        verified = _size_or_none(os.path.join(staging, "verified", path))
        partial = _size_or_none(os.path.join(staging, "partial", path))
        if verified == size:
            plans.append(FilePlan(path, size, sha, "verified", size))
        elif partial is not None and partial <= size:
            plans.append(FilePlan(path, size, sha, "partial", partial))
        else:
            plans.append(FilePlan(path, size, sha, "new", 0))
    return plans


def _margin_from_environment(default: int) -> int:
    text = os.environ.get(MARGIN_VARIABLE, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise CopyError(f"{MARGIN_VARIABLE}={text!r}: not a whole number of bytes") from None


def _size_or_none(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _lock(staging: str, model_id: str) -> int:
    import fcntl

    fd = os.open(os.path.join(staging, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    import time

    # An interrupted run's receiver may still be noticing that its stream ended: wait a little.
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise CopyError(
                    f"another copy of {model_id!r} is being received here right now ({staging})"
                ) from None
            time.sleep(0.05)


def receive_files(reception: Reception, stream: IO[bytes], progress: Progress = NO_PROGRESS) -> int:
    """Read the missing bytes of every file (in the plan's order) from `stream`.

    Each completed file is hashed (a resumed one including the part already there); when it
    matches the record it moves to `verified/`, else it is deleted and `SourceChangedError`
    raised. A stream that ends early raises `TransferIncompleteError` and keeps what arrived.
    Returns the bytes read.
    """
    received = 0
    view = memoryview(bytearray(CHUNK))
    _widen_pipe(stream)
    for plan in reception.files:
        if plan.state == "verified":
            continue
        partial = os.path.join(reception.staging, "partial", plan.path)
        verified = os.path.join(reception.staging, "verified", plan.path)
        os.makedirs(os.path.dirname(partial), exist_ok=True)
        digest = hashlib.sha256()
        progress.file_started(plan.path, plan.size, plan.offset)
        with _writing(partial, reception.staging) as file:
            if plan.offset:
                file.seek(0)
                remaining = plan.offset
                while remaining:
                    block = file.read(min(CHUNK, remaining))
                    if not block:
                        raise CopyError(f"{plan.path}: the partial file shrank; run again")
                    digest.update(block)
                    remaining -= len(block)
            file.seek(plan.offset)
            file.truncate()
            file.flush()
            fd = file.fileno()  # opened for appending: each write lands at the end
            remaining = plan.size - plan.offset
            while remaining:
                n = stream.readinto(view[: min(CHUNK, remaining)])  # type: ignore[attr-defined]
                if not n:
                    raise TransferIncompleteError(
                        f"the transfer of {plan.path} ended after "
                        f"{plan.size - remaining} of {plan.size} bytes; run the copy again to "
                        "resume"
                    )
                pending = view[:n]
                while pending:
                    pending = pending[os.write(fd, pending) :]
                digest.update(view[:n])
                remaining -= n
                received += n
                progress.advance(plan.path, n)
            file.flush()
            os.fsync(file.fileno())
        if digest.hexdigest() != plan.sha256:
            os.unlink(partial)
            progress.file_done(plan.path, plan.size, "changed")
            raise SourceChangedError(
                f"{plan.path}: its sha256 does not match the source's record: the source file "
                f"changed since it was recorded (check it with `rbee-hive models verify "
                f"{reception.entry['id']}` there); nothing was registered"
            )
        os.makedirs(os.path.dirname(verified), exist_ok=True)
        os.replace(partial, verified)
        plan.state = "verified"
        plan.offset = plan.size
        progress.file_done(plan.path, plan.size)
    return received


def _widen_pipe(stream: IO[bytes]) -> None:
    """Let a pipe hold 1 MiB (Linux): fewer, larger reads for the same bytes."""
    import fcntl

    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is None:
        return
    with contextlib.suppress(OSError, ValueError, AttributeError):
        fcntl.fcntl(stream.fileno(), set_size, CHUNK)


@contextlib.contextmanager
def _writing(path: str, staging: str) -> Iterator[IO[bytes]]:
    """The partial file opened for reading and writing; a full disk becomes `DiskFullError`."""
    try:
        with open(path, "a+b") as file:
            yield file
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            from rbee.workflows.disk import free_space

            where, free = free_space(staging)
            raise DiskFullError(
                f"the disk is full on this pool ({where}: {free} bytes free) while receiving "
                f"{os.path.relpath(path, os.path.join(staging, 'partial'))}; free some space "
                "and run the copy again to resume"
            ) from None
        raise


def finish(reception: Reception) -> dict[str, Any]:
    """Every file verified: move them to their final names and register the entry, under the
    catalog's lock, in one transaction. Returns the entry as registered."""
    from rbee.catalog import edit_catalog

    if reception.up_to_date:
        return reception.entry
    entry = reception.entry
    for plan in reception.files:
        if plan.state != "verified":
            raise CopyError(f"{plan.path} has not been received yet")
    with edit_catalog(reception.catalog_path, create_pool_id=reception.pool_id) as catalog:
        existing = catalog.find_model_ignoring_case(str(entry["id"]))
        if existing is not None and existing.id != entry["id"]:
            raise CopyConflictError(f"this pool has a model {existing.id!r} already")
        if existing is not None:
            different = _differences(existing.to_dict(), entry)
            if different and not reception.update:
                raise CopyConflictError(
                    f"model {entry['id']!r} was registered here with a different "
                    f"{', '.join(different)} during the copy; use --update to replace it"
                )
        from rbee.catalog import ModelEntry

        new = ModelEntry.from_dict(entry)
        _move_into_place(reception)
        if existing is None:
            catalog.add_model(new)
        else:
            catalog.replace_model(new)
    shutil.rmtree(reception.staging, ignore_errors=True)
    return entry


def _move_into_place(reception: Reception) -> None:
    # File by file (renames within one file system): only the recorded files, never anything
    # else an earlier run may have left in the staging folder.
    verified = os.path.join(reception.staging, "verified")
    target = reception.directory
    for plan in reception.files:
        destination = os.path.join(target, plan.path)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        os.replace(os.path.join(verified, plan.path), destination)
