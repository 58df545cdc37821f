"""Filling a catalog entry in from the model files at its path.

    from rbee.catalog import ModelEntry
    from rbee.workflows.files import fill_from_files

    entry = ModelEntry(id="tinyllama", name="TinyLlama 1.1B Chat", architecture="llama")
    entry = fill_from_files(entry, "/srv/models", given={"id", "name", "architecture"})

The rules (what `register`, `download`, `adopt` and `copy` all apply to a new entry):

- Nothing at the entry's path (the usual case before a download): the entry is returned as it is.
- Files that cannot be read: the entry is returned as it is, and a note says why.
- Otherwise the files' facts replace register's defaults: `format`, `downloaded`, `size_gb`
  (only for a complete model: a partial download says nothing about the size) and the metadata
  the headers reveal (`context_length`, `vocab_size`, `parameters`, `quantization`).
- What the caller gave wins: a field named in `given` (`format`, `size_gb`, `downloaded`,
  `metadata.<key>`) is never replaced.
- `name`, `architecture` and `backends` belong to the user and are never filled in; where the
  files disagree with them, a note says so (e.g. the GGUF's own architecture).

Notes go to `progress.note` (the library never prints). The entry is never changed in place: a
filled copy is returned, validated.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rbee.workflows.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from rbee.catalog import ModelEntry


def entry_location(entry: ModelEntry, root: str | os.PathLike[str]) -> str:
    """Where the entry's files are: its `path` under the pool `root`, unless it is absolute."""
    from rbee.catalog.record import resolve_entry_path

    return resolve_entry_path(entry, root)


def fill_from_files(
    entry: ModelEntry,
    root: str | os.PathLike[str],
    given: Iterable[str] = (),
    progress: Progress = NO_PROGRESS,
) -> ModelEntry:
    """`entry` with what the model files at its path reveal; fields in `given` are kept.

    See the module's docstring for the rules. Returns `entry` itself when there is nothing to
    read, else a validated copy.
    """
    location = entry_location(entry, root)
    if not os.path.exists(location):
        return entry
    from rbee.modelfiles import ModelFileError, NoModelFilesError, inspect_path, revealed_metadata
    from rbee.modelfiles.inspect import disagreements, size_gb

    try:
        info = inspect_path(location)
    except NoModelFilesError:
        return entry
    except ModelFileError as exc:
        progress.note(f"{entry.id}: the files were not read: {exc}")
        return entry
    kept = frozenset(given)
    filled = entry.copy()
    if "format" not in kept:
        filled.format = info.format
    if "downloaded" not in kept:
        filled.downloaded = info.downloaded
    if "size_gb" not in kept and info.downloaded:
        filled.size_gb = size_gb(info.size_bytes)
    for key, value in revealed_metadata(info).items():
        if f"metadata.{key}" not in kept:
            filled.metadata[key] = value
    filled.validate()
    for disagreement in disagreements(filled, info):
        progress.note(
            f"{filled.id}: {disagreement.field} is {_quoted(disagreement.registered)} "
            f"but the files say {_quoted(disagreement.on_disk)}"
        )
    return filled


def _quoted(value: object) -> str:
    if isinstance(value, list):
        return "'" + ", ".join(str(item) for item in value) + "'"
    return f"'{value}'"


__all__ = ["entry_location", "fill_from_files"]
