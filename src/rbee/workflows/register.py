"""Register models in a pool's catalog: idempotent, all or nothing, optionally an upsert.

    from rbee.catalog import ModelEntry
    from rbee.workflows.register import register_models

    tinyllama = ModelEntry(id="tinyllama", name="TinyLlama 1.1B Chat", architecture="llama")
    result = register_models(".test-models/catalog.json", [tinyllama], root=".", pool_id="mac")
    print(result.added, result.updated, result.unchanged)   # ['tinyllama'] [] []

Entries are `ListedEntry` objects from `rbee.catalog.entries_file` (a `--from` list: the
fields the list names count as given) or plain `ModelEntry` objects (given: `id`, `name`,
`architecture`, each metadata key, and every other field that differs from register's default,
see `given_fields`). Fields not given take register's defaults or what the files say.
The rules, for each entry, against the catalog as it is under the lock:

- **New id**: the entry is filled in from any model files already at its path
  (`rbee.workflows.files.fill_from_files`; the given fields win) and added. An id that differs
  from a registered one only in case is refused (`ModelExistsError`, naming the first).
- **Registered, identical** in every given field: unchanged (registering a list again is a no-op,
  even after the pool has downloaded the model or scanned it).
- **Registered, given metadata keys it does not have yet** (e.g. a list adds `context_length` to a
  model first registered with only a name and a repo): those keys are filled in and the entry is
  reported as updated. A key the entry has is never overwritten this way.
- **Registered, different** in a given field: without `update`, `RegisterConflictError`
  naming the model and the differing fields, and **nothing** from the list is registered;
  with `update=True` the entry takes the list's values for the fields it gives (metadata keys
  merged: keys the list leaves out stay) and is reported as updated.

The catalog is written once, in one `edit_catalog` transaction, and only if something changed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rbee.catalog import MODELS_DIR
from rbee.workflows.errors import WorkflowError
from rbee.workflows.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from rbee.catalog import ModelEntry
    from rbee.catalog.entries_file import ListedEntry


class RegisterConflictError(WorkflowError):
    """A registered model has different values in fields the new entry gives."""

    def __init__(self, model_id: str, fields: list[str], source: str | None) -> None:
        self.model_id = model_id
        self.fields = fields
        self.source = source
        where = f"{source}: " if source is not None else ""
        nothing = f"nothing from {source} was registered" if source else "nothing changed"
        super().__init__(
            f"{where}model {model_id!r} is already registered with different fields "
            f"({', '.join(fields)}); {nothing} (--update takes the new values; "
            f"'rbee-hive models update' changes single fields)"
        )


@dataclass
class RegisterResult:
    """What `register_models` did, by id, in the order the entries came."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    changed_fields: dict[str, list[str]] = field(default_factory=dict)
    """For each updated id, the fields that changed (`name`, `metadata.context_length`, ...)."""
    outcomes: list[tuple[str, str]] = field(default_factory=list)
    """(id, `added` | `updated` | `unchanged`) for every entry, in order."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form `rbee-hive models register --json` prints."""
        return {
            "registered": list(self.added),
            "updated": list(self.updated),
            "skipped": list(self.unchanged),
            "changed_fields": {key: list(value) for key, value in self.changed_fields.items()},
        }


def register_models(
    catalog_path: str | os.PathLike[str],
    entries: Iterable[ModelEntry | ListedEntry],
    *,
    root: str | os.PathLike[str] = ".",
    pool_id: str | None = None,
    update: bool = False,
    source: str | None = None,
    fill_from_files: bool = True,
    progress: Progress = NO_PROGRESS,
) -> RegisterResult:
    """Register `entries` in the catalog at `catalog_path`, as the module's docstring says.

    `root`: the pool root entry paths are relative to (files there fill new entries in).
    `pool_id`: creates the catalog for that pool when there is none (else `CatalogNotFoundError`).
    `update`: registered entries take the entries' given values instead of conflicting.
    `source`: where the entries come from (a file name), for messages.
    `fill_from_files`: read the files at new entries' paths (off: register exactly as given).
    """
    from rbee.catalog import edit_catalog
    from rbee.catalog.entries_file import ListedEntry

    listed = [_as_listed(item) for item in entries]
    if fill_from_files:
        from rbee.workflows.files import fill_from_files as fill

        # Read outside the lock (reading a large or hostile file can take a while); an id that
        # turns out to be registered already drops the filled entry again below.
        listed = [ListedEntry(fill(i.entry, root, i.given, progress), i.given) for i in listed]
    result = RegisterResult()
    with edit_catalog(catalog_path, create_pool_id=pool_id) as catalog:
        # One index and one bulk add: a list of 10,000 models must not take quadratic time.
        registered = catalog.models_by_id()
        new: list[ModelEntry] = []
        replaced: dict[str, ModelEntry] = {}
        seen: set[str] = set()
        for item in listed:
            entry = item.entry
            if entry.id in seen:
                # The same id twice in `entries` (lists refuse this; plain entries may not).
                from rbee.catalog import ModelExistsError

                raise ModelExistsError(entry.id, entry.id, earlier=True)
            seen.add(entry.id)
            current = registered.get(entry.id)
            if current is None:
                entry.validate()
                registered[entry.id] = entry
                new.append(entry)
                result.added.append(entry.id)
                result.outcomes.append((entry.id, "added"))
                continue
            merged, changed = merge_given(current, item, update=update, source=source)
            if changed:
                registered[entry.id] = merged
                replaced[entry.id] = merged
                result.updated.append(entry.id)
                result.changed_fields[entry.id] = changed
                result.outcomes.append((entry.id, "updated"))
            else:
                result.unchanged.append(entry.id)
                result.outcomes.append((entry.id, "unchanged"))
        if replaced:
            # In place, in one pass (`replace_model` per entry would be quadratic).
            models = catalog.models
            for index, entry in enumerate(models):
                models[index] = replaced.get(entry.id, entry)
            catalog.touch()
        catalog.add_models(new)
    return result


def merge_given(
    current: ModelEntry, item: ListedEntry, *, update: bool, source: str | None = None
) -> tuple[ModelEntry, list[str]]:
    """`current` with the given fields of `item` applied, and the fields that changed.

    Without `update`, only metadata keys `current` lacks are taken; any other difference in a
    given field raises `RegisterConflictError`.
    """
    from rbee.catalog import ModelEntry
    from rbee.catalog.entries_file import differing_fields

    differing = [name for name in differing_fields(current, item.entry) if name in item.given]
    if not differing:
        return current, []
    metadata = current.metadata
    if not update:
        conflicts = [
            name
            for name in differing
            if not (name.startswith("metadata.") and name.removeprefix("metadata.") not in metadata)
        ]
        if conflicts:
            raise RegisterConflictError(current.id, conflicts, source)
    document = current.to_dict()
    wanted = item.entry.to_dict()
    merged_metadata = dict(metadata)
    for name in differing:
        if name.startswith("metadata."):
            key = name.removeprefix("metadata.")
            if key in wanted["metadata"]:
                merged_metadata[key] = wanted["metadata"][key]
            else:
                merged_metadata.pop(key, None)
        else:
            document[name] = wanted.get(name)
    document["metadata"] = merged_metadata
    return ModelEntry.from_dict(document), differing


TEST_MODELS_SOURCE = "the test models"
"""How messages name the list `bundled_test_models()` returns."""


def bundled_test_models() -> list[ListedEntry]:
    """The four test models that ship with rbee (tinyllama, qwen-0.5b, phi3, mistral).

    The list is `rbee/workflows/data/test-models.toml` inside the package (the same as the
    repository's `examples/test-models.toml`), so a pool installed without a checkout has it.
    """
    from importlib.resources import files

    from rbee.catalog.entries_file import parse_entries

    data = files("rbee.workflows").joinpath("data", "test-models.toml").read_bytes()
    return parse_entries(data, "test-models.toml")


def given_fields(entry: ModelEntry) -> frozenset[str]:
    """The fields a plain `ModelEntry` counts as giving: `id`, `name`, `architecture`, every
    field that differs from register's default, and each metadata key it holds."""
    defaults = _DEFAULTS_CACHE or _defaults()
    document = entry.to_dict()
    given = {"id", "name", "architecture"}
    given.update(
        name
        for name, value in document.items()
        if name not in given and name != "metadata" and value != defaults.get(name, _UNSET)
    )
    if document.get("path") == f"{MODELS_DIR}/{entry.id}":
        given.discard("path")
    given.update(f"metadata.{key}" for key in entry.metadata)
    return frozenset(given)


_UNSET = object()
_DEFAULTS_CACHE: dict[str, Any] = {}


def _defaults() -> dict[str, Any]:
    from rbee.catalog import ModelEntry

    _DEFAULTS_CACHE.update(ModelEntry(id="x", name="x", architecture="x").to_dict())
    return _DEFAULTS_CACHE


def _as_listed(item: ModelEntry | ListedEntry) -> ListedEntry:
    from rbee.catalog.entries_file import ListedEntry

    if isinstance(item, ListedEntry):
        return item
    return ListedEntry(item, given_fields(item))


__all__ = [
    "TEST_MODELS_SOURCE",
    "RegisterConflictError",
    "RegisterResult",
    "bundled_test_models",
    "merge_given",
    "register_models",
]
