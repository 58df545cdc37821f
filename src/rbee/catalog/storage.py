"""Reading and writing catalog files without ever losing one: the functional API.

- Reads never lock: writers replace the file by `rename`, so a reader sees the old or the new
  file, never half of one.
- Writes go to a temp file in the same directory, are fsynced, and are renamed over the target;
  the directory is fsynced after. The file's mode is kept. The previous file stays as `.bak`.
- Every read-modify-write holds an exclusive `flock` on `<catalog>.lock` (a separate file that
  is never deleted, so two processes can never hold locks on different inodes).
- A file that does not parse or validate is reported and left alone; nothing replaces it, not
  even a `save` of a catalog that was not loaded from that file.

The functions here are the `ModelCatalog` type's own `parse`, `load`, `save` and `render`
(`rbee.catalog.document`) over the byte-level rules of `rbee.catalog.files`, plus
`edit_catalog`, the transaction every writer uses. The imports go one way: files and codec
below the types, this module above them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from rbee.catalog.document import ModelCatalog
from rbee.catalog.errors import CatalogError, CatalogNotFoundError
from rbee.catalog.files import (
    DEFAULT_LOCK_TIMEOUT,
    backup_path_for,
    catalog_lock,
    current_state,
    lock_path_for,
    write_atomically,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` is left out of the CLIs' start-up (see rbee.catalog.rules)
    StrPath = str | os.PathLike[str]


def parse_catalog(data: bytes, path: StrPath | None = None) -> ModelCatalog:
    """Parse, migrate and validate a catalog document given as bytes."""
    return ModelCatalog.parse(data, path)


def load_catalog(path: StrPath, *, track_changes: bool = True) -> ModelCatalog:
    """Read and validate the catalog at `path` (`ModelCatalog.load`).

    With `track_changes` (the default), a later `save` can tell whether anything changed and
    stamps `updated_at` only then; read-only callers may skip that bookkeeping.
    """
    return ModelCatalog.load(path, track_changes=track_changes)


def render_catalog(catalog: ModelCatalog) -> str:
    """The catalog file's text: pretty JSON in the seed's field order, UTF-8, final newline."""
    return catalog.render().decode("utf-8")


def save_catalog(catalog: ModelCatalog, path: StrPath) -> None:
    """Validate, stamp `updated_at` if the content changed, and write atomically with a backup."""
    catalog.save(path)


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
    if create_pool_id is None and current_state(target) is None:
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
        catalog.save(target, only_if_changed=existed)


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
