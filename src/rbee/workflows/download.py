"""`download_model`: a registered model's files from the Hugging Face Hub onto this pool.

The steps, each with its rule:

1. The entry must have `metadata.repo`. `HF_HUB_OFFLINE` is an error (downloads need the Hub).
2. The Hub lists the repo's files at the revision (a branch, tag or commit; default `main`),
   with the commit it resolves to and each file's size and digest (`rbee.hub.listing`).
3. The files are chosen by the model's format (`rbee.hub.select`): one GGUF quantization, or
   the safetensors set, or the `include` globs.
4. Files already in the model folder with the Hub's digest are kept (the entry's record vouches
   for them by size and sha256, else they are hashed); `force` fetches everything again.
5. Before any byte: the bytes still missing (what partial files hold is not missing) plus a
   margin must be free at the destination, else `NotEnoughSpaceError` and nothing is written.
   `dry_run` stops here and returns the plan.
6. A per-model lock (`<models dir>/.rbee-partial/<id>.lock`) makes a second download of the
   same model, in any process, wait for the first (the progress says who holds it); other
   models download at the same time. The catalog's lock is not held during the transfer.
7. Each file is fetched into the hidden partial folder, resumed from what an earlier run left,
   hash-checked, then renamed into the model folder (`rbee.hub.transfer`): the model folder only
   ever holds complete, verified files. Once every file is in place, any partial file left in
   the model's partial folder (an interrupted `--force` run, say) is stale and removed.
8. One `edit_catalog` transaction at the end: `downloaded` true, `size_gb` = bytes / 1e9,
   `format` from the files, metadata the headers reveal where the entry has none, and
   `record` (source: huggingface, repo, revision, commit; each file's path, size, sha256).

Every failure is a `rbee.workflows.errors.WorkflowError` (most from `rbee.hub.errors`) with a
one-line message that starts with the model's id; the catalog is then unchanged, and partial
files stay for a rerun. Ctrl-C raises `DownloadInterrupted` (what was kept, and where).
"""

from __future__ import annotations

import contextlib
import os

from rbee.hub.errors import AmbiguousQuantError, NoMatchingFilesError
from rbee.workflows.errors import WorkflowError
from rbee.workflows.progress import NO_PROGRESS, Progress

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from typing import Any

    from rbee.catalog import ModelEntry
    from rbee.hub.listing import RemoteFile, RepoListing
    from rbee.hub.transfer import PartialFolder

DEFAULT_REVISION = "main"


class NoRepoError(WorkflowError):
    """The entry does not say which Hub repo its files come from."""

    def __init__(self, model_id: str) -> None:
        super().__init__(
            f"model {model_id!r} has no repo to download from: set one with "
            f"`rbee-hive models update {model_id} --repo OWNER/NAME`"
        )


class DownloadLockedError(WorkflowError):
    """Another process holds the model's download lock and we were told not to wait."""


class ModelFolderError(WorkflowError):
    """The model's path cannot hold its files (it is a file, or outside where we may write)."""


class EntryGoneError(WorkflowError):
    """The entry was removed from the catalog while its files were downloading."""


class EmptyRevisionError(WorkflowError):
    """`revision` was given but empty (leave it out, None, for the default branch)."""


class DownloadInterrupted(KeyboardInterrupt):
    """Ctrl-C (or llorch going away) stopped the download of `model_id`.

    Still a `KeyboardInterrupt` (the CLI exits 130), carrying what a one-line message needs:
    `kept_bytes` of partial data stay in `partial_dir` (0 when none had arrived) for a rerun to
    resume; files that were complete already are in the model folder.
    """

    def __init__(self, model_id: str, partial_dir: str, kept_bytes: int) -> None:
        super().__init__(model_id)
        self.model_id = model_id
        self.partial_dir = partial_dir
        self.kept_bytes = kept_bytes


class PlannedFile:
    """One file of the plan: where it goes and what happens to it.

    `action` is `download` (nothing of it here yet), `resume` (a partial file continues),
    `present` (already in the model folder with the Hub's digest) or `replace` (a different file
    of that name is there; it is replaced once the new one is checked).
    """

    __slots__ = ("action", "already", "remote", "sha256", "target", "transferred")

    def __init__(self, remote: RemoteFile, target: str, action: str, already: int = 0) -> None:
        self.remote = remote
        self.target = target
        self.action = action
        self.already = already
        self.sha256: str | None = None
        self.transferred = 0

    @property
    def missing(self) -> int:
        return 0 if self.action == "present" else self.remote.size - self.already

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.remote.path,
            "size": self.remote.size,
            "action": self.action,
            "already": self.already,
            "transferred": self.transferred,
            "sha256": self.sha256 or self.remote.lfs_sha256,
        }


class DownloadResult:
    """What `download_model` did (or, with `dry_run`, would do)."""

    __slots__ = (
        "commit",
        "destination",
        "dry_run",
        "endpoint",
        "files",
        "format",
        "free_bytes",
        "model_id",
        "quantization",
        "removed_partial_bytes",
        "removed_partial_dir",
        "repo",
        "revision",
        "rule",
        "status",
    )

    def __init__(
        self,
        model_id: str,
        listing: RepoListing,
        destination: str,
        files: list[PlannedFile],
        *,
        rule: str,
        format: str | None,
        quantization: str | None,
        free_bytes: int,
        dry_run: bool,
    ) -> None:
        self.model_id = model_id
        self.repo = listing.repo
        self.revision = listing.revision
        self.commit = listing.commit
        self.endpoint = listing.endpoint
        self.destination = destination
        self.files = files
        self.rule = rule
        self.format = format
        self.quantization = quantization
        self.free_bytes = free_bytes
        self.dry_run = dry_run
        self.status = "planned" if dry_run else "downloaded"
        """planned (dry run), downloaded, or complete (nothing was missing)."""
        self.removed_partial_bytes = 0
        """Bytes of stale partial files removed once the model was complete (an interrupted
        `--force` run, say), from `removed_partial_dir`."""
        self.removed_partial_dir = ""

    @property
    def total_bytes(self) -> int:
        return sum(f.remote.size for f in self.files)

    @property
    def missing_bytes(self) -> int:
        return sum(f.missing for f in self.files)

    @property
    def transferred_bytes(self) -> int:
        return sum(f.transferred for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.model_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "repo": self.repo,
            "revision": self.revision,
            "commit": self.commit,
            "endpoint": self.endpoint,
            "path": self.destination,
            "format": self.format,
            "quantization": self.quantization,
            "rule": self.rule,
            "files": [f.to_dict() for f in self.files],
            "total_bytes": self.total_bytes,
            "missing_bytes": self.missing_bytes,
            "transferred_bytes": self.transferred_bytes,
            "free_bytes": self.free_bytes,
            "removed_partial_bytes": self.removed_partial_bytes,
        }


def download_model(
    catalog_path: str,
    model_id: str,
    root: str = ".",
    *,
    revision: str | None = None,
    quant: str | None = None,
    include: Sequence[str] = (),
    dry_run: bool = False,
    force: bool = False,
    wait: bool = True,
    progress: Progress = NO_PROGRESS,
    endpoint: str | None = None,
) -> DownloadResult:
    """Download model `model_id` of the catalog at `catalog_path` from its `metadata.repo` into
    its `path` under the pool `root`, and record it in the catalog (see the module's steps).

    `wait=False` raises `DownloadLockedError` instead of waiting for another download of the
    same model. `endpoint` overrides `HF_ENDPOINT`. Raises `WorkflowError`s (`rbee.hub.errors`,
    `NotEnoughSpaceError`, `NoRepoError`, ...), whose messages start with the model's id, and
    the catalog's own errors; Ctrl-C raises `DownloadInterrupted` (a `KeyboardInterrupt`).
    """
    from rbee.catalog import load_catalog
    from rbee.catalog.record import resolve_entry_path

    if revision is not None and not revision.strip():
        raise EmptyRevisionError(
            f"model {model_id!r}: the revision is empty: name a branch, tag or commit, or leave "
            f"it out for {DEFAULT_REVISION}"
        )
    entry = load_catalog(catalog_path, track_changes=False).get_model(model_id)
    # The rules an old catalog may still break (a `..` path out of the pool root, a long
    # name) are checked before any byte lands where the entry points.
    entry.validate()
    metadata = entry.metadata if isinstance(entry.metadata, dict) else {}
    repo = metadata.get("repo")
    if not isinstance(repo, str) or not repo:
        raise NoRepoError(model_id)
    destination = os.path.abspath(resolve_entry_path(entry, root))
    names_a_file = destination.lower().endswith((".gguf", ".safetensors"))
    if (os.path.exists(destination) and not os.path.isdir(destination)) or (
        names_a_file and not os.path.isdir(destination)
    ):
        raise ModelFolderError(
            f"model {model_id!r}: its path {entry.path} names a file; downloads go into a "
            f"folder (`rbee-hive models update {model_id} --path DIR`)"
        )
    wanted_revision = revision or DEFAULT_REVISION
    from rbee.hub.transfer import PartialFolder

    partials = PartialFolder(destination, model_id)
    try:
        return _download(
            catalog_path,
            entry,
            root,
            repo=repo,
            destination=destination,
            partials=partials,
            revision=wanted_revision,
            quant=quant,
            include=include,
            dry_run=dry_run,
            force=force,
            wait=wait,
            progress=progress,
            endpoint=endpoint,
        )
    except WorkflowError as exc:
        # Say which model: with several ids on the command line, the repo alone is not enough.
        message = str(exc)
        if not message.startswith((f"{model_id}: ", f"model {model_id!r}")):
            exc.args = (f"{model_id}: {message}",)
        raise
    except KeyboardInterrupt as exc:
        if isinstance(exc, DownloadInterrupted):
            raise
        raise DownloadInterrupted(model_id, partials.path, _kept_bytes(partials.path)) from None


def _download(
    catalog_path: str,
    entry: ModelEntry,
    root: str,
    *,
    repo: str,
    destination: str,
    partials: PartialFolder,
    revision: str,
    quant: str | None,
    include: Sequence[str],
    dry_run: bool,
    force: bool,
    wait: bool,
    progress: Progress,
    endpoint: str | None,
) -> DownloadResult:
    """`download_model` once the entry is known to be downloadable (steps 2 to 8)."""
    model_id = entry.id
    metadata = entry.metadata if isinstance(entry.metadata, dict) else {}
    wanted_revision = revision
    default_quant = quant
    if default_quant is None and not include:
        catalog_quant = metadata.get("quantization")
        if isinstance(catalog_quant, str) and entry.format == "gguf":
            default_quant = catalog_quant

    from rbee.hub.listing import list_repo
    from rbee.hub.select import select_files

    listing = list_repo(repo, wanted_revision, endpoint=endpoint)
    where = f"{repo}@{wanted_revision}"
    try:
        selection = select_files(
            listing.files, format=entry.format, quant=default_quant, include=include, where=where
        )
    except (NoMatchingFilesError, AmbiguousQuantError) as exc:
        if default_quant is not None and quant is None:
            # Say where the quantization came from: the user did not type it this time.
            raise type(exc)(
                f"{exc} (the quantization {default_quant} is the entry's "
                "metadata.quantization; choose one with --quant)"
            ) from None
        raise
    from rbee.workflows.disk import check_free_space, free_space

    plan = _plan(selection.files, destination, partials, entry, force=force)
    result = DownloadResult(
        model_id,
        listing,
        destination,
        plan,
        rule=selection.rule,
        format=selection.format,
        quantization=selection.quant,
        free_bytes=free_space(destination)[1],
        dry_run=dry_run,
    )
    if dry_run:
        return result
    check_free_space(destination, result.missing_bytes)

    with _model_lock(partials, model_id, progress, wait=wait):
        # Another process may have finished (part of) this model while we waited: plan again.
        plan = _plan(selection.files, destination, partials, entry, force=force)
        result.files = plan
        check_free_space(destination, result.missing_bytes)
        _transfer(result, listing, partials, progress)
        # Every file is in place: what the partial folder still holds can never be used (e.g.
        # an interrupted `--force` run of a model that was complete). Drop it.
        result.removed_partial_bytes = _remove_partials(partials.path)
        if result.removed_partial_bytes:
            result.removed_partial_dir = partials.path
        _finish_catalog(catalog_path, entry, result, root)
    return result


def download_models(
    catalog_path: str,
    model_ids: Iterable[str],
    root: str = ".",
    *,
    on_result: Callable[[DownloadResult], None] | None = None,
    revision: str | None = None,
    quant: str | None = None,
    include: Sequence[str] = (),
    dry_run: bool = False,
    force: bool = False,
    wait: bool = True,
    progress: Progress = NO_PROGRESS,
    endpoint: str | None = None,
) -> list[DownloadResult]:
    """`download_model` for each of `model_ids` (a repeated id once), one after another, in the
    order given; every id is looked up in the catalog before any byte moves, so a typo in the
    last one fails at once. `on_result` is called with each model's result as it finishes. The
    options are `download_model`'s, the same for every model; the first failure stops the run
    (the models downloaded before it stay downloaded).
    """
    from rbee.catalog import load_catalog

    ids = list(dict.fromkeys(model_ids))
    catalog = load_catalog(catalog_path, track_changes=False)
    for model_id in ids:
        catalog.get_model(model_id)
    results = []
    for model_id in ids:
        result = download_model(
            catalog_path,
            model_id,
            root,
            revision=revision,
            quant=quant,
            include=include,
            dry_run=dry_run,
            force=force,
            wait=wait,
            progress=progress,
            endpoint=endpoint,
        )
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def _plan(
    files: Sequence[RemoteFile],
    destination: str,
    partials: Any,
    entry: ModelEntry,
    *,
    force: bool,
) -> list[PlannedFile]:
    recorded = _recorded_digests(entry)
    plan = []
    for remote in files:
        target = os.path.join(destination, *remote.path.split("/"))
        if force:
            # Partial data is dropped by the transfer, under the model's lock, not here.
            plan.append(PlannedFile(remote, target, "download"))
            continue
        present = _present_digest(remote, target, recorded)
        if present is not None:
            planned = PlannedFile(remote, target, "present", remote.size)
            planned.sha256 = present
            plan.append(planned)
            continue
        kept = partials.kept_bytes(remote)
        action = "resume" if kept else ("replace" if os.path.lexists(target) else "download")
        plan.append(PlannedFile(remote, target, action, kept))
    return plan


def _recorded_digests(entry: ModelEntry) -> dict[str, tuple[object, object]]:
    record = getattr(entry, "record", None)
    if not isinstance(record, dict):
        return {}
    found: dict[str, tuple[object, object]] = {}
    for item in record.get("files", []):
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            found[item["path"]] = (item.get("size"), item.get("sha256"))
    return found


def _present_digest(
    remote: RemoteFile, target: str, recorded: dict[str, tuple[object, object]]
) -> str | None:
    """The sha256 of the file already at `target` when it is the Hub's file, else None."""
    try:
        size = os.stat(target).st_size
    except OSError:
        return None
    if size != remote.size or not os.path.isfile(target):
        return None
    known = recorded.get(remote.path)
    from rbee.hashing import git_blob_sha1, sha256_file

    if remote.lfs_sha256 is not None:
        if known is not None and known == (remote.size, remote.lfs_sha256):
            return remote.lfs_sha256  # our own record vouches for it: no need to read 10 GB
        digest = sha256_file(target)
        return digest if digest == remote.lfs_sha256 else None
    # A small (regular git) file: the Hub names it by its git blob sha1; the record wants sha256.
    return sha256_file(target) if git_blob_sha1(target) == remote.blob_id else None


@contextlib.contextmanager
def _model_lock(partials: Any, model_id: str, progress: Progress, *, wait: bool) -> Iterator[None]:
    """An exclusive `flock` on the model's lock file, naming its holder for those who wait.

    The file is removed on release (no leftovers after a download), so a waiter checks, once it
    has the lock, that the file it locked is still the one at the path, and tries again if not.
    """
    import fcntl
    import json
    import time

    told = False
    while True:
        os.makedirs(partials.base, exist_ok=True)
        try:
            fd = os.open(partials.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except FileNotFoundError:
            continue  # the folder went away with another download's lock: make it again
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                if not wait:
                    raise DownloadLockedError(
                        f"model {model_id!r} is being downloaded by {holder}"
                    ) from None
                if not told:
                    progress.note(f"waiting for another download of {model_id} ({holder})")
                    told = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.fstat(fd).st_ino == os.stat(partials.lock_path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
        except BaseException:
            os.close(fd)
            raise
        break
    try:
        holder_info = {
            "pid": os.getpid(),
            "host": os.uname().nodename,
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder_info).encode() + b"\n", 0)
        yield
    finally:
        # Tidy up while the lock is still ours: an empty partial folder, then the lock file,
        # then the hidden folder if nothing else (another model's download) is in it.
        with contextlib.suppress(OSError):
            os.rmdir(partials.path)
        with contextlib.suppress(OSError):
            os.unlink(partials.lock_path)
        os.close(fd)
        with contextlib.suppress(OSError):
            os.rmdir(partials.base)


def _kept_bytes(folder: str) -> int:
    """The bytes of the partial files in `folder` (0 if there is none)."""
    total = 0
    with contextlib.suppress(OSError), os.scandir(folder) as found:
        for item in found:
            with contextlib.suppress(OSError):
                if item.is_file(follow_symlinks=False):
                    total += item.stat(follow_symlinks=False).st_size
    return total


def _remove_partials(folder: str) -> int:
    """Remove the partial files in the model's partial `folder`; returns their bytes."""
    from rbee.hub.transfer import PARTIAL_SUFFIX

    removed = 0
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as found:
        for item in list(found):
            if not item.name.endswith(PARTIAL_SUFFIX) or not item.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(FileNotFoundError):
                size = item.stat(follow_symlinks=False).st_size
                os.unlink(item.path)
                removed += size
    return removed


def _read_holder(fd: int) -> str:
    import json

    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {int(info['pid'])} on {info['host']}, since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _transfer(
    result: DownloadResult, listing: RepoListing, partials: Any, progress: Progress
) -> None:
    from huggingface_hub import hf_hub_url
    from huggingface_hub.utils._headers import build_hf_headers

    from rbee.hub.transfer import fetch_file

    missing = [f for f in result.files if f.action != "present"]
    if not missing:
        result.status = "complete"
    headers = build_hf_headers()
    progress.begin(f"download {result.model_id}", result.total_bytes, len(result.files))
    try:
        for planned in result.files:
            if planned.action == "present":
                progress.file_done(planned.remote.path, planned.remote.size, "present")
                continue
            url = hf_hub_url(
                listing.repo,
                planned.remote.path,
                revision=listing.commit,
                endpoint=listing.endpoint,
            )
            fetched = fetch_file(
                url,
                planned.remote,
                partials.file_for(planned.remote),
                planned.target,
                headers=headers,
                progress=progress,
                on_retry=progress.note,
                fresh=planned.action == "download",
            )
            planned.sha256 = fetched.sha256
            planned.transferred = fetched.transferred
    finally:
        progress.end()


def _finish_catalog(
    catalog_path: str, entry: ModelEntry, result: DownloadResult, root: str
) -> None:
    """The one catalog transaction: downloaded, size, format, metadata, record."""
    from rbee.catalog import edit_catalog
    from rbee.catalog.record import FileDigest, make_record

    revealed = _revealed(result)
    files = []
    for planned in result.files:
        assert planned.sha256 is not None
        files.append(FileDigest(planned.remote.path, planned.remote.size, planned.sha256))
    record = make_record(
        {
            "type": "huggingface",
            "repo": result.repo,
            "revision": result.revision,
            "commit": result.commit,
        },
        _relative_to_entry(files, entry, result, root),
    )
    with edit_catalog(catalog_path) as catalog:
        current = catalog.find_model_mut(entry.id)
        if current is None:
            raise EntryGoneError(
                f"model {entry.id!r} was removed from the catalog during the download; its "
                f"files are in {result.destination} (register it again and run `models scan`)"
            )
        current.downloaded = True
        current.size_gb = round(result.total_bytes / 1e9, 9)
        if result.format:
            current.format = result.format
        if not isinstance(current.metadata, dict):
            current.metadata = {}
        for key, value in revealed.items():
            current.metadata.setdefault(key, value)
        previous = current.record
        if (
            isinstance(previous, dict)
            and previous.get("source") == record["source"]
            and previous.get("files") == record["files"]
        ):
            record["recorded_at"] = previous.get("recorded_at", record["recorded_at"])
        current.record = record  # an unchanged entry leaves the catalog file as it is


def _relative_to_entry(
    files: list[Any], entry: ModelEntry, result: DownloadResult, root: str
) -> list[Any]:
    """Record paths relative to the entry's directory (the model folder itself, normally)."""
    from rbee.catalog.record import FileDigest, entry_directory

    base = os.path.abspath(entry_directory(entry, root))
    if base == result.destination:
        return files
    prefix = os.path.relpath(result.destination, base).replace(os.sep, "/")
    return [FileDigest(f"{prefix}/{f.path}", f.size, f.sha256) for f in files]


def _revealed(result: DownloadResult) -> dict[str, Any]:
    """The metadata the downloaded files' headers reveal (nothing when they cannot be read)."""
    from rbee.modelfiles import ModelFileError
    from rbee.modelfiles.inspect import inspect_path, revealed_metadata

    if result.format == "gguf":
        ggufs = sorted(f.target for f in result.files if f.target.lower().endswith(".gguf"))
        if not ggufs:
            return {}
        target = ggufs[0]
    else:
        target = result.destination
    try:
        info = inspect_path(target)
    except (ModelFileError, OSError):
        return {}
    if result.format is None:
        result.format = info.format
    return revealed_metadata(info)
