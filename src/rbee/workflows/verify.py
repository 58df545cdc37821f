"""Check a pool's model files against their records offline (`verify`), and record them (`record`).

    from rbee.workflows.verify import record_models, verify_models

    report = verify_models(".test-models/catalog.json", root=".", ids=["tinyllama"])
    for model in report.models:
        print(model.id, model.status, [f.path for f in model.problems()])

`verify_models` hashes every recorded file again (several at once, one per core) and reports each
as ok, missing, changed (size or sha256) or unreadable, plus the weight files in the model's folder
that its record does not list. An entry without a record is reported as such (and as not
downloaded when its files are not there: nothing to record yet); it is a failure only with
`strict`. The catalog is never changed: a changed file does not flip `downloaded`
(`rbee-hive models scan` does that).

`record_models` hashes the files as they are now and stores them as the entry's record, with the
source `{"type": "local"}` (trust on first use, for models registered by hand). Recording again
(`force`) an entry that has a record keeps its source (a download's repo and commit) when every
file is as recorded, only `recorded_at` moves; when files changed, the source becomes
`{"type": "local", "previous": <the old source>}`. The files are
hashed without the catalog's lock; one `edit_catalog` transaction then stores every record,
leaving out (and reporting) an entry that was edited or removed meanwhile.

Where the files are: an entry's `path` is relative to the pool's `root`, or absolute (adopted in
place); a record's file paths are relative to the entry's directory (`rbee.catalog.record`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from rbee.workflows.errors import WorkflowError
from rbee.workflows.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from rbee.catalog import ModelCatalog, ModelEntry
    from rbee.catalog.record import FileDigest
    from rbee.hashing import FileHash

WEIGHT_SUFFIXES = (
    ".safetensors",
    ".gguf",
    ".bin",
    ".pt",
    ".pth",
    ".ckpt",
    ".onnx",
    ".msgpack",
    ".h5",
)
"""File name endings of model weights: an unrecorded one in a model's folder is reported."""

EXTRA_WALK_DEPTH = 4
"""How many folder levels below a model's directory `verify` looks for unrecorded weights."""

SCAN_NOTE = "verify does not change the catalog: 'rbee-hive models scan' updates downloaded"
"""What `verify` says when something failed: it reports, `scan` changes entries."""

OK, MISSING, CHANGED, UNREADABLE = "ok", "missing", "changed", "unreadable"
NO_RECORD, FAILED = "no-record", "failed"
EDITED_MEANWHILE = "edited meanwhile, while its files were hashed: not recorded (run record again)"
REMOVED_MEANWHILE = "removed from the catalog meanwhile, while its files were hashed"


class RecordExistsError(WorkflowError):
    """`record` was asked for an entry that has a record already (replace it with `force`)."""


class NothingToRecordError(WorkflowError):
    """An entry's path holds no model files to record."""


class FileCheck:
    """One recorded file as verify found it.

    `status`: ok, missing, changed or unreadable; `size`/`sha256` are what was found (None when
    not known: missing, or not hashed because the size already differs); `reason` says why a
    file is not ok.
    """

    __slots__ = ("path", "reason", "recorded_sha256", "recorded_size", "sha256", "size", "status")

    def __init__(
        self,
        path: str,
        recorded_size: int,
        recorded_sha256: str,
        status: str = OK,
        *,
        size: int | None = None,
        sha256: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.path = path
        self.recorded_size = recorded_size
        self.recorded_sha256 = recorded_sha256
        self.status = status
        self.size = size
        self.sha256 = sha256
        self.reason = reason

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "size": self.size,
            "sha256": self.sha256,
            "recorded_size": self.recorded_size,
            "recorded_sha256": self.recorded_sha256,
            "reason": self.reason,
        }

    def __repr__(self) -> str:
        return f"FileCheck({self.path!r}, {self.status!r}, reason={self.reason!r})"


class ModelCheck:
    """One entry as verify found it: `status` ok, failed or no-record."""

    __slots__ = ("directory", "downloaded", "extra", "files", "id", "recorded_at", "repo", "source")

    def __init__(
        self,
        model_id: str,
        directory: str,
        source: dict[str, Any] | None = None,
        recorded_at: str | None = None,
        *,
        downloaded: bool = True,
        repo: str | None = None,
    ) -> None:
        self.id = model_id
        self.directory = directory
        self.source = source
        self.recorded_at = recorded_at
        self.downloaded = downloaded
        """False for an entry without a record that is not downloaded, or whose files are not
        there (nothing `record` could hash): download it rather than record it."""
        self.repo = repo
        """The entry's Hub repo (metadata `repo`), when it has one: where to download it from."""
        self.files: list[FileCheck] = []
        self.extra: list[str] = []
        """Weight files in the model's folder that the record does not list (relative paths)."""

    @property
    def has_record(self) -> bool:
        return self.source is not None

    @property
    def status(self) -> str:
        if not self.has_record:
            return NO_RECORD
        return OK if not self.extra and all(f.ok for f in self.files) else FAILED

    def problems(self) -> list[FileCheck]:
        """The recorded files that are not ok, in the record's order."""
        return [f for f in self.files if not f.ok]

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def recorded_bytes(self) -> int:
        return sum(f.recorded_size for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "directory": self.directory,
            "source": self.source,
            "recorded_at": self.recorded_at,
            "downloaded": self.downloaded,
            "repo": self.repo,
            "files": [f.to_dict() for f in self.files],
            "extra": list(self.extra),
        }


class VerifyReport:
    """What `verify_models` found, model by model, in the order asked for."""

    def __init__(self, models: list[ModelCheck], *, strict: bool = False) -> None:
        self.models = models
        self.strict = strict

    @property
    def failed(self) -> list[ModelCheck]:
        return [m for m in self.models if m.status == FAILED]

    @property
    def without_record(self) -> list[ModelCheck]:
        return [m for m in self.models if m.status == NO_RECORD]

    @property
    def not_downloaded(self) -> list[ModelCheck]:
        """The models without a record that are not downloaded (nothing to record yet)."""
        return [m for m in self.models if m.status == NO_RECORD and not m.downloaded]

    @property
    def ok(self) -> bool:
        """Every recorded file is as recorded, nothing extra; no record only fails `strict`."""
        return not self.failed and not (self.strict and self.without_record)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "strict": self.strict,
            "checked": sum(1 for m in self.models if m.has_record),
            "failed": [m.id for m in self.failed],
            "no_record": [m.id for m in self.without_record],
            "not_downloaded": [m.id for m in self.not_downloaded],
            "catalog_changed": False,
            "note": SCAN_NOTE,
            "models": [m.to_dict() for m in self.models],
        }


def _chosen(catalog: ModelCatalog, ids: Iterable[str] | None) -> list[ModelEntry]:
    """The entries asked for (all of them when `ids` is empty), each id looked up first."""
    wanted = list(dict.fromkeys(ids or ()))
    return [catalog.get_model(model_id) for model_id in wanted] or list(catalog.models)


def _entry_directories(catalog: ModelCatalog, root: str) -> set[str]:
    """The real paths of every entry's folder (an entry nested in another's is not its extra)."""
    from rbee.catalog.record import resolve_entry_path

    found = set()
    for entry in catalog.models:
        path = resolve_entry_path(entry, root)
        if os.path.isdir(path):
            found.add(os.path.realpath(path))
    return found


def _walk(
    directory: str, skip: set[str], max_depth: int = EXTRA_WALK_DEPTH
) -> Iterable[tuple[str, str]]:
    """(relative '/' path, absolute path) of each file below `directory`, hidden names left out,
    folders in `skip` (real paths) not entered, at most `max_depth` levels down."""
    base_depth = directory.rstrip(os.sep).count(os.sep)
    for folder, dirnames, filenames in os.walk(directory):
        depth = folder.rstrip(os.sep).count(os.sep) - base_depth
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith(".")
            and depth + 1 <= max_depth
            and os.path.realpath(os.path.join(folder, d)) not in skip
        )
        relative_folder = os.path.relpath(folder, directory)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            relative = name if relative_folder == "." else os.path.join(relative_folder, name)
            yield relative.replace(os.sep, "/"), os.path.join(folder, name)


def _is_weight(name: str) -> bool:
    return name.lower().endswith(WEIGHT_SUFFIXES)


# -- verify ---------------------------------------------------------------------------------------


def verify_models(
    catalog_path: str | os.PathLike[str],
    root: str,
    ids: Sequence[str] | None = None,
    *,
    strict: bool = False,
    progress: Progress = NO_PROGRESS,
    workers: int | None = None,
) -> VerifyReport:
    """Hash each chosen entry's recorded files again and compare them with the record.

    `ids`: the entries to check (default: every entry); an unknown id raises
    `ModelNotFoundError` before anything is read. Offline and read-only: the catalog is only
    read, never written. Files of every model are hashed together, `workers` at a time (default:
    one per core). A file whose size differs from the record is `changed` without being hashed.
    """
    from rbee.catalog import load_catalog
    from rbee.catalog.record import entry_directory, record_files, resolve_entry_path
    from rbee.hashing import try_hash_files

    catalog = load_catalog(catalog_path, track_changes=False)
    entries = _chosen(catalog, ids)
    nested = _entry_directories(catalog, root)
    checks: list[ModelCheck] = []
    to_hash: dict[str, list[FileCheck]] = {}  # absolute path -> the checks waiting for its hash
    shown: dict[str, str] = {}
    for entry in entries:
        directory = entry_directory(entry, root)
        record = entry.record
        if record is None:
            repo = entry.metadata.get("repo")
            checks.append(
                ModelCheck(
                    entry.id,
                    os.path.abspath(directory),
                    downloaded=entry.downloaded and _has_files(entry, root, nested),
                    repo=repo if isinstance(repo, str) else None,
                )
            )
            continue
        check = ModelCheck(
            entry.id, os.path.abspath(directory), dict(record["source"]), record["recorded_at"]
        )
        checks.append(check)
        for digest in record_files(record):
            item = FileCheck(digest.path, digest.size, digest.sha256)
            check.files.append(item)
            full = os.path.join(directory, *digest.path.split("/"))
            if _check_stat(item, full):
                to_hash.setdefault(full, []).append(item)
                shown.setdefault(full, f"{entry.id}/{digest.path}")
        if os.path.isdir(resolve_entry_path(entry, root)):
            listed = {f.path for f in check.files}
            own = os.path.realpath(directory)
            check.extra = [
                relative
                for relative, _ in _walk(directory, nested - {own})
                if _is_weight(relative) and relative not in listed
            ]

    def verdict(key: str, found: FileHash) -> str:
        waiting = to_hash[key]
        return OK if all(_matches(item, found) for item in waiting) else CHANGED

    total_files = sum(len(c.files) for c in checks)
    total_bytes = sum(items[0].recorded_size for items in to_hash.values())
    with_record = sum(1 for c in checks if c.has_record)
    progress.begin(f"verify {with_record} model(s)", total_bytes, total_files)
    try:
        for check in checks:
            for item in check.problems():
                progress.file_done(f"{check.id}/{item.path}", 0, item.status)
        results = try_hash_files(
            list(to_hash), workers=workers, progress=progress, names=shown, status=verdict
        )
    finally:
        progress.end()
    for key, result in results.items():
        for item in to_hash[key]:
            _judge(item, result)
    return VerifyReport(checks, strict=strict)


def _has_files(entry: ModelEntry, root: str, nested: set[str]) -> bool:
    """Whether `record` would find model files to hash for `entry`."""
    try:
        files_to_record(entry, root, nested)
    except NothingToRecordError:
        return False
    return True


def _check_stat(item: FileCheck, full: str) -> bool:
    """Judge what `stat` can tell (missing, not a file, other size); True: it must be hashed."""
    try:
        info = os.stat(full)
    except (FileNotFoundError, NotADirectoryError):
        item.status, item.reason = MISSING, "not on disk"
        return False
    except OSError as exc:
        item.status, item.reason = UNREADABLE, exc.strerror or str(exc)
        return False
    if not stat.S_ISREG(info.st_mode):
        item.status, item.reason = CHANGED, "not a regular file any more"
        return False
    if info.st_size != item.recorded_size:
        item.status, item.size = CHANGED, info.st_size
        item.reason = f"size {info.st_size} bytes, recorded {item.recorded_size}"
        return False
    return True


def _matches(item: FileCheck, found: FileHash) -> bool:
    return found.size == item.recorded_size and found.sha256 == item.recorded_sha256


def _judge(item: FileCheck, result: FileHash | OSError) -> None:
    if isinstance(result, OSError):
        if isinstance(result, FileNotFoundError):  # removed since its stat
            item.status, item.reason = MISSING, "not on disk"
        else:
            item.status, item.reason = UNREADABLE, result.strerror or str(result)
        return
    item.size, item.sha256 = result.size, result.sha256
    if result.size != item.recorded_size:
        item.status = CHANGED
        item.reason = f"size {result.size} bytes, recorded {item.recorded_size}"
    elif result.sha256 != item.recorded_sha256:
        item.status = CHANGED
        item.reason = "same size, other sha256"
    else:
        item.status, item.reason = OK, None


# -- record ---------------------------------------------------------------------------------------


class RecordedModel:
    """One entry `record_models` hashed: `status` recorded, or why its record was not stored."""

    __slots__ = ("directory", "files", "id", "replaced", "source", "source_kept", "status")

    def __init__(
        self,
        model_id: str,
        directory: str,
        files: list[FileDigest],
        *,
        replaced: bool,
        source: dict[str, Any] | None = None,
        source_kept: bool = False,
    ) -> None:
        self.id = model_id
        self.directory = directory
        self.files = files
        self.replaced = replaced
        self.source: dict[str, Any] = {"type": "local"} if source is None else source
        """The record's source: `local`, or the old record's when `source_kept`."""
        self.source_kept = source_kept
        """Recorded again with every file as the old record had it: its source was kept."""
        self.status = "recorded"

    @property
    def recorded(self) -> bool:
        return self.status == "recorded"

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "directory": self.directory,
            "replaced": self.replaced,
            "source": self.source,
            "source_kept": self.source_kept,
            "files": [f.to_dict() for f in self.files],
            "total_bytes": self.total_bytes,
        }


class RecordReport:
    """What `record_models` stored, entry by entry, in the order asked for."""

    def __init__(self, models: list[RecordedModel]) -> None:
        self.models = models

    @property
    def ok(self) -> bool:
        return all(m.recorded for m in self.models)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "recorded": [m.id for m in self.models if m.recorded],
            "not_recorded": [m.id for m in self.models if not m.recorded],
            "models": [m.to_dict() for m in self.models],
        }


def files_to_record(
    entry: ModelEntry, root: str, skip: Iterable[str] = ()
) -> tuple[str, list[tuple[str, str]]]:
    """(the entry's directory, [(relative path, absolute path)]) of the files a record lists.

    A directory entry: every file below it (hidden names and other entries' folders, given as
    real paths in `skip`, left out). A one-file entry: that file, with the other parts of a
    split GGUF (`name-00001-of-00003.gguf`), whatever its name (an Ollama blob has no
    extension). Raises `NothingToRecordError` when there is nothing, or a folder holds no weight
    file (a folder without weights is not worth trusting).
    """
    import re

    from rbee.catalog.record import entry_directory, resolve_entry_path

    path = resolve_entry_path(entry, root)
    directory = entry_directory(entry, root)
    if os.path.isdir(path):
        files = list(_walk(directory, set(skip) - {os.path.realpath(directory)}, max_depth=64))
    elif os.path.isfile(path):
        name = os.path.basename(path)
        split = re.fullmatch(r"(?P<stem>.+)-(?P<part>\d{5})-of-(?P<count>\d{5})\.gguf", name)
        names = [name]
        if split:
            count = int(split["count"])
            names = [f"{split['stem']}-{n:05d}-of-{count:05d}.gguf" for n in range(1, count + 1)]
        files = [(n, os.path.join(directory, n)) for n in names]
        for _, full in files:
            if not os.path.isfile(full):
                raise NothingToRecordError(
                    f"{entry.id}: {full} is missing (a part of a split GGUF): nothing recorded"
                )
    elif os.path.lexists(path):
        raise NothingToRecordError(f"{entry.id}: {path} is not a file or folder: nothing recorded")
    else:
        raise NothingToRecordError(f"{entry.id}: {path} does not exist: nothing to record")
    if os.path.isdir(path) and not any(_is_weight(relative) for relative, _ in files):
        raise NothingToRecordError(
            f"{entry.id}: no model weights ({', '.join(WEIGHT_SUFFIXES[:2])}, ...) in {path}: "
            "nothing to record"
        )
    return directory, files


def source_after(
    old: dict[str, Any] | None, digests: Sequence[FileDigest]
) -> tuple[dict[str, Any], bool]:
    """(the source a new record of `digests` gets, whether it is `old`'s source kept).

    No old record: `{"type": "local"}`. The same files (paths, sizes, sha256) as the old
    record: its source, unchanged (a download keeps its repo and commit). Files changed:
    `{"type": "local", "previous": <old source>}` (an old `local` source passes its own
    `previous` on, so the last real origin is kept).
    """
    from rbee.catalog.record import record_files

    if old is None:
        return {"type": "local"}, False
    previous = dict(old["source"])
    if set(record_files(old)) == set(digests) and len(old["files"]) == len(digests):
        return previous, True
    if previous.get("type") == "local":
        origin = previous.get("previous")
        return (
            {"type": "local"} if origin is None else {"type": "local", "previous": origin}
        ), False
    return {"type": "local", "previous": previous}, False


def _file_state(full: str) -> tuple[int, int, int]:
    info = os.stat(full)
    return info.st_size, info.st_mtime_ns, info.st_ino


def record_models(
    catalog_path: str | os.PathLike[str],
    root: str,
    ids: Sequence[str],
    *,
    force: bool = False,
    progress: Progress = NO_PROGRESS,
    workers: int | None = None,
) -> RecordReport:
    """Hash the chosen entries' files as they are now and store each as the entry's record
    (source `{"type": "local"}`; see `source_after` for an entry recorded again).

    Every id is looked up (`ModelNotFoundError`) and every entry's files listed first; an
    entry that has a record already raises `RecordExistsError` unless `force`. The files are
    hashed outside the catalog's lock; a file that cannot be read, or that changes while it
    is hashed, raises `WorkflowError` and nothing is stored. One `edit_catalog` transaction
    then stores the records of the entries that are as they were when their files were listed;
    one edited or removed meanwhile is left as it is and reported.
    """
    from rbee.catalog import edit_catalog, load_catalog
    from rbee.catalog.record import FileDigest, make_record
    from rbee.hashing import try_hash_files

    if not ids:
        raise WorkflowError("record: name the models to record (their ids)")
    catalog = load_catalog(catalog_path, track_changes=False)
    entries = _chosen(catalog, ids)
    for entry in entries:
        if entry.record is not None and not force:
            source = entry.record["source"].get("type", "?")
            raise RecordExistsError(
                f"{entry.id} has a record already (source {source}, recorded "
                f"{entry.record['recorded_at']}): verify checks the files against it; "
                "record it again with --force to replace it"
            )
    nested = _entry_directories(catalog, root)
    listed: list[tuple[ModelEntry, str, list[tuple[str, str]]]] = []
    for entry in entries:
        directory, files = files_to_record(entry, root, nested)
        listed.append((entry, directory, files))

    shown: dict[str, str] = {}
    before: dict[str, tuple[int, int, int]] = {}
    for entry, _, files in listed:
        for relative, full in files:
            shown.setdefault(full, f"{entry.id}/{relative}")
            try:
                before[full] = _file_state(full)
            except OSError as exc:
                raise WorkflowError(
                    f"{entry.id}: cannot read {full}: {exc.strerror or exc}: nothing recorded"
                ) from None
    progress.begin(
        f"record {len(listed)} model(s)", sum(s[0] for s in before.values()), len(before)
    )
    try:
        hashed = try_hash_files(list(before), workers=workers, progress=progress, names=shown)
    finally:
        progress.end()
    digest_of: dict[str, FileHash] = {}
    for full, result in hashed.items():
        if isinstance(result, OSError):
            raise WorkflowError(
                f"cannot read {full}: {result.strerror or result}: nothing recorded"
            )
        try:
            unchanged = _file_state(full) == before[full] and result.size == before[full][0]
        except OSError:
            unchanged = False
        if not unchanged:
            raise WorkflowError(
                f"{full} changed while it was hashed: nothing recorded (record again once "
                "nothing writes to it)"
            )
        digest_of[full] = result

    results: list[RecordedModel] = []
    with edit_catalog(catalog_path) as editable:
        for entry, directory, files in listed:
            digests = [
                FileDigest(relative, digest_of[full].size, digest_of[full].sha256)
                for relative, full in files
            ]
            source, kept = source_after(entry.record, digests)
            model = RecordedModel(
                entry.id,
                os.path.abspath(directory),
                digests,
                replaced=entry.record is not None,
                source=source,
                source_kept=kept,
            )
            results.append(model)
            current = editable.find_model_mut(entry.id)
            if current is None:
                model.status = REMOVED_MEANWHILE
            elif current != entry:
                model.status = EDITED_MEANWHILE
            else:
                current.record = make_record(source, digests)
    return RecordReport(results)
