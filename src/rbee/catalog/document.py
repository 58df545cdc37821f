"""`ModelCatalog`: a pool's catalog document (its header and entries), and its file.

The operations are the seed's (`add_model`, `find_model`, ...) plus bulk and lookup helpers.
Loading and saving are the type's own (`load`, `save`): it remembers what it was loaded from
or last saved as (private state no other module touches), so that an unchanged catalog is not
written again and a lost update is refused. The byte-level rules (lock, atomic write, backup)
are `rbee.catalog.files`; the document's JSON and migration are `rbee.catalog.codec`.
`rbee.catalog.storage` offers the same as functions (`load_catalog`, `edit_catalog`, ...).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from rbee.catalog.codec import content_key, decode_document, render_document
from rbee.catalog.entry import ModelEntry, _entry_is_valid, matches_text
from rbee.catalog.errors import (
    CatalogConflictError,
    CatalogCorruptError,
    CatalogError,
    CatalogInvalidError,
    ModelExistsError,
    ModelNotFoundError,
)
from rbee.catalog.fields import constrained, field, record_class
from rbee.catalog.files import (
    catalog_lock,
    current_state,
    read_with_state,
    real_target,
    remove_stale_temp_files,
    write_atomically,
)
from rbee.catalog.migrations import UNVERSIONED
from rbee.catalog.rules import (
    CATALOG_FIELDS,
    SCHEMA_VERSION,
    TEXT_PATTERN,
    TIMESTAMP_PATTERN,
    VERSION_RE,
    describe,
    extra_problem,
    is_newer_minor,
    note_unique_id,
    now_timestamp,
    parse_timestamp,
    text_problem,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` is left out of the CLIs' start-up (see rbee.catalog.rules)
    from typing import Any

    StrPath = str | os.PathLike[str]

_CATALOG_FIELD_SET = frozenset(CATALOG_FIELDS)


@record_class
class ModelCatalog:
    """A pool's catalog; the seed's `ModelCatalog`.

    Mutating methods keep `updated_at` current; `save` also notices in-place edits of entries
    (through `find_model_mut`) and stamps those.
    """

    version: str = field(
        metadata=constrained(
            # The schema describes format 1.x; other majors are refused by `migrations`.
            pattern=r"^1\.[0-9]+$",
            description="Format version, major.minor. This rbee reads 1.x and writes 1.1.",
        )
    )
    pool_id: str = field(
        metadata=constrained(
            pattern=TEXT_PATTERN, description="The pool's name, e.g. mac.home.arpa."
        )
    )
    updated_at: str = field(
        metadata=constrained(
            pattern=TIMESTAMP_PATTERN,
            description="RFC 3339 UTC time of the last change.",
        )
    )
    models: list[ModelEntry] = field(metadata=constrained())
    extra: dict[str, Any] = field(metadata={"serialized": False})

    def __init__(
        self,
        *,
        version: str = SCHEMA_VERSION,
        pool_id: str,
        updated_at: str | None = None,
        models: Iterable[ModelEntry] = (),
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.version = version
        self.pool_id = pool_id
        self.updated_at = now_timestamp() if updated_at is None else updated_at
        self.models = list(models)
        self.extra = {} if extra is None else extra
        # What this catalog was loaded from or last saved as; only its own methods touch it.
        # (updated_at, file bytes): how `save` tells edits apart.
        self._baseline: tuple[str, bytes] | None = None
        # Which file, and which version of it (device, inode, size, mtime).
        self._file_state: tuple[str, tuple[int, int, int, int]] | None = None
        self.migrated_from: str | None = None
        """The format version of the file this catalog was migrated from on load, if it was."""

    @classmethod
    def new(cls, pool_id: str) -> ModelCatalog:
        """An empty catalog for `pool_id`, in the current format version."""
        catalog = cls(pool_id=pool_id)
        catalog.validate()
        return catalog

    # -- files (the rules: rbee.catalog.files) ------------------------------------------------

    @classmethod
    def parse(cls, data: bytes, path: StrPath | None = None) -> ModelCatalog:
        """Parse, migrate and validate a catalog document given as bytes (`path`: for messages)."""
        document, original_version = decode_document(data, path)
        try:
            catalog = cls.from_dict(document)
        except CatalogInvalidError as exc:
            raise exc.in_file(path) if path is not None else exc from None
        except RecursionError:
            raise CatalogCorruptError(path, "JSON nested too deeply") from None
        if original_version != catalog.version:
            catalog.migrated_from = (
                original_version if isinstance(original_version, str) else UNVERSIONED
            )
        return catalog

    def render(self) -> bytes:
        """The catalog file's bytes: pretty JSON in the seed's field order, final newline."""
        return render_document(self.to_dict())

    @classmethod
    def load(cls, path: StrPath, *, track_changes: bool = True) -> ModelCatalog:
        """Read and validate the catalog at `path`; raises a `CatalogError` subclass.

        With `track_changes` (the default), a later `save` can tell whether anything changed and
        stamps `updated_at` only then; read-only callers may skip that bookkeeping.
        """
        target = os.fspath(path)
        data, state = read_with_state(target)
        catalog = cls.parse(data, target)
        catalog._file_state = (os.path.abspath(real_target(target)), state)
        if track_changes and catalog.migrated_from is None:
            # (A migrated catalog has no baseline: its next save writes the current format.)
            # The file's own bytes are the baseline: free now, and what `save` renders for an
            # unchanged catalog, so telling edits apart later is a byte comparison.
            catalog._baseline = (catalog.updated_at, data)
        return catalog

    def save(self, path: StrPath, *, only_if_changed: bool = False) -> bool:
        """Validate, stamp `updated_at` if the content changed, and write atomically, keeping
        the previous file as `<path>.bak`. Returns whether the file was written.

        Nothing is written when the catalog is unchanged and `path` is still the file it was
        loaded from or saved to (or, with `only_if_changed`, whenever it is unchanged). A file
        that is not a catalog this rbee can read is never replaced, and one that another writer
        replaced after this catalog was loaded from it raises `CatalogConflictError`.
        """
        target = real_target(os.fspath(path))
        self.validate()
        document = self.to_dict()
        baseline = self._baseline
        if baseline is None or self.updated_at != baseline[0]:
            changed, data = True, b""
        else:
            data = render_document(document)
            changed = self._content_changed(data)
        if changed:
            self.touch()
            document["updated_at"] = self.updated_at
            data = render_document(document)
        elif only_if_changed or self._is_on_disk(target):
            # Writing the same content again would only push the real previous version out of
            # `.bak` (and move the file's mtime): an unchanged catalog is left as it is.
            return False
        with catalog_lock(target):
            self._check_replaceable(target)
            remove_stale_temp_files(target)
            write_atomically(target, data)
            state = current_state(target)
        self._baseline = (self.updated_at, data)
        self._file_state = None if state is None else (os.path.abspath(target), state)
        return True

    def mark_saved(self) -> None:
        """Remember the current content as saved (e.g. after sending `render()` elsewhere)."""
        self._baseline = (self.updated_at, self.render())

    def changed_since_saved(self) -> bool:
        """Whether anything but `updated_at` differs from the last load or save."""
        return self._content_changed()

    def _content_changed(self, rendered: bytes | None = None) -> bool:
        """A mutating method has already moved `updated_at`; otherwise the rendering is compared
        with the baseline's bytes, and only when those differ (an in-place edit, or a file
        formatted by another writer) are the two parsed and compared field by field."""
        baseline = self._baseline
        if baseline is None or self.updated_at != baseline[0]:
            return True
        if rendered is None:
            rendered = self.render()
        if rendered == baseline[1]:
            return False
        try:
            before = ModelCatalog.parse(baseline[1]).to_dict()
        except CatalogError:
            return True
        return content_key(before) != content_key(self.to_dict())

    def _is_on_disk(self, target: str) -> bool:
        """Whether `target` is still the very file version this was loaded from or saved to."""
        state = self._file_state
        return state is not None and state == (os.path.abspath(target), current_state(target))

    def _check_replaceable(self, target: str) -> None:
        """Refuse to replace a file that is not a catalog this rbee can read.

        A catalog saved back to the file it was loaded from (and that nobody has replaced
        since) is the common case and costs one `stat`. Anything else, e.g. a new catalog saved
        over an existing path, first reads what is there: a corrupt, invalid or newer-format
        file raises and stays as it is, instead of being pushed out (and, one save later, out
        of `.bak` too).
        """
        current = current_state(target)
        here = os.path.abspath(target)
        if current is None or self._file_state == (here, current):
            return
        ModelCatalog.parse(read_with_state(target)[0], target)
        if self._file_state is not None and self._file_state[0] == here:
            # Loaded from this very file, which another writer has replaced since: a lost update.
            raise CatalogConflictError(target)

    # -- the seed's operations --------------------------------------------------------------

    def add_model(self, entry: ModelEntry) -> None:
        """Add a validated entry; `ModelExistsError` if its id is taken."""
        entry.validate()
        wanted = entry.id.lower()
        for current in self.models:
            if current.id.lower() == wanted:
                raise ModelExistsError(entry.id, current.id)
        self.models.append(entry)
        self.touch()

    def add_models(self, entries: Iterable[ModelEntry]) -> None:
        """Add several entries, all or none, in time linear in the catalog's size.

        Each is validated; `ModelExistsError` if an id is taken, ignoring case (in the catalog
        or earlier in `entries`), and then nothing was added. `updated_at` is stamped once.
        """
        taken = {entry.id.lower(): entry.id for entry in self.models}
        listed: dict[str, str] = {}  # the same, for the entries added so far
        added: list[ModelEntry] = []
        for entry in entries:
            entry.validate()
            key = entry.id.lower()
            holder = taken.get(key)
            if holder is not None:
                raise ModelExistsError(entry.id, holder)
            holder = listed.get(key)
            if holder is not None:
                raise ModelExistsError(entry.id, holder, earlier=True)
            listed[key] = entry.id
            added.append(entry)
        if added:
            self.models.extend(added)
            self.touch()

    def models_by_id(self) -> dict[str, ModelEntry]:
        """The entries keyed by id: one pass, for callers that look up many ids."""
        return {entry.id: entry for entry in self.models}

    def remove_model(self, model_id: str) -> ModelEntry:
        """Remove and return the entry; `ModelNotFoundError` if there is none."""
        for index, entry in enumerate(self.models):
            if entry.id == model_id:
                del self.models[index]
                self.touch()
                return entry
        raise ModelNotFoundError(model_id)

    def find_model(self, model_id: str) -> ModelEntry | None:
        """The entry with exactly this id, or None."""
        for entry in self.models:
            if entry.id == model_id:
                return entry
        return None

    def find_model_ignoring_case(self, model_id: str) -> ModelEntry | None:
        """The entry whose id equals this one ignoring case (ids are unique that way), or None."""
        wanted = model_id.lower()
        for entry in self.models:
            if entry.id.lower() == wanted:
                return entry
        return None

    def find_model_mut(self, model_id: str) -> ModelEntry | None:
        """The seed's mutable lookup; edits are validated and stamped by `save`."""
        return self.find_model(model_id)

    def get_model(self, model_id: str) -> ModelEntry:
        """The entry with this id; `ModelNotFoundError` if there is none."""
        entry = self.find_model(model_id)
        if entry is None:
            raise ModelNotFoundError(model_id)
        return entry

    def replace_model(self, entry: ModelEntry) -> ModelEntry:
        """Put `entry` in place of the entry with the same id and return the old one."""
        entry.validate()
        for index, current in enumerate(self.models):
            if current.id == entry.id:
                self.models[index] = entry
                if current != entry:
                    self.touch()
                return current
        raise ModelNotFoundError(entry.id)

    def filter(
        self,
        *,
        architecture: str | None = None,
        backend: str | None = None,
        format: str | None = None,
        downloaded: bool | None = None,
        text: str | None = None,
    ) -> list[ModelEntry]:
        """Entries matching every given criterion, in catalog order.

        `text` matches case-insensitively in the id, name, architecture and repo.
        """
        needle = text.casefold() if text else None
        selected: list[ModelEntry] = []
        for entry in self.models:
            if architecture is not None and entry.architecture != architecture.lower():
                continue
            if backend is not None and backend not in entry.backends:
                continue
            if format is not None and entry.format != format:
                continue
            if downloaded is not None and entry.downloaded != downloaded:
                continue
            if needle is not None and not matches_text(entry, needle):
                continue
            selected.append(entry)
        return selected

    def search(self, text: str) -> list[ModelEntry]:
        """Entries whose id, name, architecture or repo contains `text` (case-insensitive)."""
        return self.filter(text=text)

    def with_models(self, models: Iterable[ModelEntry]) -> ModelCatalog:
        """A copy of this catalog's header holding `models` (e.g. a filtered view)."""
        return ModelCatalog(
            version=self.version,
            pool_id=self.pool_id,
            updated_at=self.updated_at,
            models=models,
            extra=dict(self.extra),
        )

    def touch(self) -> None:
        """Stamp `updated_at` with the current time, always moving it forward."""
        moment = datetime.now(UTC)
        previous = parse_timestamp(self.updated_at) if isinstance(self.updated_at, str) else None
        if previous is not None and moment <= previous:
            # Two edits within a clock tick, or a clock that went back: still move forward.
            moment = previous + timedelta(microseconds=1)
        self.updated_at = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    # -- validation and conversion ----------------------------------------------------------

    def validate(self) -> None:
        """Raise `CatalogInvalidError` for the first broken rule in the document."""
        self._validate_header()
        if not isinstance(self.models, list):
            raise CatalogInvalidError("models", f"must be a list, got {describe(self.models)}")
        newer = is_newer_minor(self.version)
        seen: dict[str, int] = {}
        for index, entry in enumerate(self.models):
            if not isinstance(entry, ModelEntry):
                raise CatalogInvalidError(
                    "(entry)", f"must be a ModelEntry, got {type(entry).__name__}", index=index
                )
            if not _entry_is_valid(entry):
                problems = entry.problems(loaded=True, newer=newer)
                for field_name, entry_problem in problems:
                    model_id = entry.id if isinstance(entry.id, str) else None
                    raise CatalogInvalidError(
                        field_name, entry_problem, model_id=model_id, index=index
                    )
            note_unique_id(seen, entry.id, index)

    def _validate_header(self) -> None:
        """The rules of every field but `models`."""
        version = self.version
        if not isinstance(version, str) or not VERSION_RE.fullmatch(version):
            raise CatalogInvalidError(
                "version", f"must be 'major.minor' such as '1.0', got {describe(version)}"
            )
        problem = text_problem(self.pool_id, "text")
        if problem:
            raise CatalogInvalidError("pool_id", problem)
        if not isinstance(self.updated_at, str) or parse_timestamp(self.updated_at) is None:
            raise CatalogInvalidError(
                "updated_at",
                "must be an RFC 3339 UTC time such as 2025-10-09T15:00:00Z, "
                f"got {describe(self.updated_at)}",
            )
        problem = extra_problem(self.extra, _CATALOG_FIELD_SET)
        if problem:
            raise CatalogInvalidError("(unknown field)", problem)

    def to_dict(self) -> dict[str, Any]:
        """The catalog as its file stores it: the seed's fields in the seed's order."""
        document: dict[str, Any] = {
            "version": self.version,
            "pool_id": self.pool_id,
            "updated_at": self.updated_at,
            "models": [entry.to_dict() for entry in self.models],
        }
        if self.extra:
            document.update(self.extra)
        return document

    @classmethod
    def from_dict(cls, document: object) -> ModelCatalog:
        """Build and validate a catalog from a current-version document (see `migrations`)."""
        if not isinstance(document, dict):
            raise CatalogInvalidError(
                "(document)", f"must be a JSON object, got {describe(document)}"
            )
        for key in CATALOG_FIELDS:
            if key not in document:
                raise CatalogInvalidError(key, "is missing")
        models = document["models"]
        if not isinstance(models, list):
            raise CatalogInvalidError("models", f"must be a list, got {describe(models)}")
        catalog = cls(
            version=document["version"],
            pool_id=document["pool_id"],
            updated_at=document["updated_at"],
            models=[],
            extra={k: v for k, v in document.items() if k not in _CATALOG_FIELD_SET},
        )
        # Entries are validated one by one as they are built; `validate` would do it twice.
        entries = catalog.models
        seen: dict[str, int] = {}
        newer = is_newer_minor(document["version"])
        for index, raw in enumerate(models):
            entry = ModelEntry.from_dict(raw, index, loaded=True, newer=newer)
            note_unique_id(seen, entry.id, index)
            entries.append(entry)
        catalog._validate_header()
        return catalog
