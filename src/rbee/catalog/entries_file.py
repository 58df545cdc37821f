"""Lists of models to register, read from a TOML or JSON file (`rbee-hive models register --from`).

TOML: one `[[models]]` table per model. JSON: a list of entries, or an object with a `models`
list (so a catalog document, e.g. from `rbee-hive models catalog --json`, is a valid list too).
Each entry takes the catalog entry's fields; `id`, `name` and `architecture` are required and the
rest default as `register` does (format safetensors, size 0.0, not downloaded, backends cpu, metal
and cuda, path `.test-models/<id>`). Unknown fields are refused, so that a typo is not silently
kept.

Which format: a `.toml` or `.json` name decides; otherwise (stdin, say) the text is JSON when it
starts with `{`, or with `[` followed by `{` or `]`, and TOML otherwise (a TOML file may start with
`[[models]]`, which is not JSON).

`parse_entries` returns `ListedEntry` items: the entry, and which fields the list gave, so that
registering a list again matches entries a pool has since updated (e.g. marked downloaded).

Validation happens here, before any catalog is touched, so llorch can check a file locally before
sending it to its pools. Errors are `EntriesFileError`, naming the file, the entry and the field.
"""

from __future__ import annotations

import os

from rbee.catalog.entry import ModelEntry
from rbee.catalog.errors import CatalogError, CatalogInvalidError
from rbee.catalog.rules import (
    CATALOG_FIELDS,
    DEFAULT_BACKENDS,
    DEFAULT_FORMAT,
    ENTRY_FIELDS,
    MODELS_DIR,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` stays out of rbee-hive's start-up (see docs/dependencies.md)
    from typing import Any

REQUIRED_FIELDS = ("id", "name", "architecture")
STDIN_NAME = "<stdin>"


class ListedEntry:
    """An entry from a list, and the fields the list gave explicitly (`name`, `metadata.repo`)."""

    __slots__ = ("entry", "given")

    def __init__(self, entry: ModelEntry, given: frozenset[str]) -> None:
        self.entry = entry
        self.given = given

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ListedEntry):
            return NotImplemented
        return (self.entry, self.given) == (other.entry, other.given)

    def __repr__(self) -> str:
        return f"ListedEntry(entry={self.entry!r}, given={sorted(self.given)!r})"

    __hash__ = None  # type: ignore[assignment]  # mutable, like the entry it holds

    def conflicts_with(self, registered: ModelEntry) -> list[str]:
        """The given fields whose values differ from the registered entry's.

        Fields the list left out are not compared: a pool may since have downloaded the model
        (size_gb, downloaded) or added metadata, and listing the model again is still a match.
        """
        return [name for name in differing_fields(registered, self.entry) if name in self.given]


class EntriesFileError(CatalogError):
    """A model list that cannot be read, parsed or validated; nothing from it may be used."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        super().__init__(f"{source}: {message}")


def detect_format(text: str, source: str = STDIN_NAME) -> str:
    """`"toml"` or `"json"`, from the file name's extension or else the text's first characters."""
    lowered = source.lower()
    if lowered.endswith(".toml"):
        return "toml"
    if lowered.endswith(".json"):
        return "json"
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("{"):
        return "json"
    if stripped.startswith("[") and stripped[1:].lstrip(" \t\r\n")[:1] in ("{", "]"):
        return "json"
    return "toml"


def read_entries_file(path: str | os.PathLike[str]) -> list[ListedEntry]:
    """The validated entries listed in the file at `path`."""
    source = os.fspath(path)
    try:
        with open(source, "rb") as file:
            data = file.read()
    except OSError as exc:
        raise EntriesFileError(source, f"cannot read the file: {exc.strerror or exc}") from None
    return parse_entries(data, source)


def parse_entries(data: bytes | str, source: str = STDIN_NAME) -> list[ListedEntry]:
    """The validated entries listed in `data` (the contents of `source`, used in messages)."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EntriesFileError(source, f"not UTF-8 text (byte {exc.start})") from None
    else:
        text = data
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise EntriesFileError(source, "the file is empty; expected a list of models")
    if detect_format(text, source) == "json":
        raw_entries = _json_entries(text, source)
    else:
        raw_entries = _toml_or_json_entries(text, source)
    return entries_from_list(raw_entries, source)


def _toml_or_json_entries(text: str, source: str) -> list[Any]:
    try:
        return _toml_entries(text, source)
    except EntriesFileError as toml_error:
        # Told by its first characters only, `[1, 2]` or `[["x"]]` looked like TOML; if it is
        # JSON after all, say what is wrong with its entries rather than "invalid TOML".
        if source.lower().endswith(".toml") or not text.lstrip(" \t\r\n").startswith("["):
            raise
        try:
            return _json_entries(text, source)
        except EntriesFileError:
            raise toml_error from None


def _json_entries(text: str, source: str) -> list[Any]:
    import json

    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        from rbee.catalog.codec import json_error_reason

        raise EntriesFileError(source, f"invalid JSON: {json_error_reason(exc)}") from None
    except (ValueError, RecursionError) as exc:
        raise EntriesFileError(source, f"invalid JSON: {exc}") from None
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        if "models" not in document:
            raise EntriesFileError(source, "expected a list of models or an object with 'models'")
        unknown = sorted(set(document) - set(CATALOG_FIELDS))
        if unknown:
            raise EntriesFileError(
                source, f"unknown top-level field {unknown[0]!r}; expected 'models'"
            )
        models = document["models"]
        if not isinstance(models, list):
            raise EntriesFileError(source, "'models' must be a list of models")
        return models
    raise EntriesFileError(source, "expected a list of models or an object with 'models'")


def _toml_entries(text: str, source: str) -> list[Any]:
    import tomllib

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EntriesFileError(source, f"invalid TOML: {exc}") from None
    unknown = sorted(set(document) - {"models"})
    if unknown:
        raise EntriesFileError(
            source, f"unknown top-level key {unknown[0]!r}; list models as [[models]] tables"
        )
    if "models" not in document:
        raise EntriesFileError(source, "no [[models]] tables")
    models = document["models"]
    if not isinstance(models, list):
        raise EntriesFileError(source, "'models' must be an array of [[models]] tables")
    return models


def entries_from_list(raw_entries: list[Any], source: str = STDIN_NAME) -> list[ListedEntry]:
    """Build and validate entries from their parsed form; ids must be unique in the list."""
    entries: list[ListedEntry] = []
    first_index: dict[str, int] = {}  # by id in lower case: ids are unique ignoring case
    for index, raw in enumerate(raw_entries):
        entry = entry_from_mapping(raw, source, index)
        first = first_index.get(entry.id.lower())
        if first is not None:
            earlier = entries[first].entry.id
            if earlier == entry.id:
                problem = f"id {entry.id!r} is already used by entry {first + 1}"
            else:
                problem = (
                    f"id {entry.id!r} collides with {earlier!r} (entry {first + 1}, earlier "
                    "in this file; ids are unique ignoring case: they name folders on "
                    "case-insensitive disks)"
                )
            raise EntriesFileError(source, f"{_where(index, entry.id)}: {problem}")
        first_index[entry.id.lower()] = index
        entries.append(ListedEntry(entry, given_fields(raw)))
    return entries


def given_fields(raw: dict[str, Any]) -> frozenset[str]:
    """The field names a mapping sets, with metadata keys as `metadata.<key>`."""
    names = {key for key in raw if key != "metadata"}
    metadata = raw.get("metadata")
    if isinstance(metadata, dict):
        names.update(f"metadata.{key}" for key in metadata)
    return frozenset(names)


def entry_from_mapping(raw: object, source: str = STDIN_NAME, index: int = 0) -> ModelEntry:
    """One validated entry from a mapping of entry fields, with register's defaults."""
    if not isinstance(raw, dict):
        raise EntriesFileError(source, f"{_where(index, None)}: expected a table of fields")
    raw_id = raw.get("id")
    model_id = raw_id if isinstance(raw_id, str) else None
    unknown = [key for key in raw if key not in ENTRY_FIELDS]
    if unknown:
        raise EntriesFileError(
            source,
            f"{_where(index, model_id)}: unknown field {unknown[0]!r} "
            f"(fields: {', '.join(ENTRY_FIELDS)})",
        )
    for key in REQUIRED_FIELDS:
        if key not in raw:
            raise EntriesFileError(source, f"{_where(index, model_id)}: field {key!r} is missing")
    document = {
        "path": f"{MODELS_DIR}/{raw_id}",
        "format": DEFAULT_FORMAT,
        "size_gb": 0.0,
        "downloaded": False,
        "backends": list(DEFAULT_BACKENDS),
        "metadata": {},
        **raw,
    }
    try:
        return ModelEntry.from_dict(document, index)
    except CatalogInvalidError as exc:
        raise EntriesFileError(
            source, f"{_where(index, model_id)}: field {exc.field!r}: {exc.problem}"
        ) from None


def differing_fields(old: ModelEntry, new: ModelEntry) -> list[str]:
    """The fields (`name`, `metadata.repo`, ...) in which two entries differ."""
    before, after = old.to_dict(), new.to_dict()
    changed: list[str] = []
    for key in dict.fromkeys([*before, *after]):
        if (
            key == "metadata"
            and isinstance(before.get(key), dict)
            and isinstance(after.get(key), dict)
        ):
            meta_before, meta_after = before[key], after[key]
            changed.extend(
                f"metadata.{name}"
                for name in dict.fromkeys([*meta_before, *meta_after])
                if meta_before.get(name, _MISSING) != meta_after.get(name, _MISSING)
            )
        elif before.get(key, _MISSING) != after.get(key, _MISSING):
            changed.append(key)
    return changed


_MISSING = object()


def _where(index: int, model_id: str | None) -> str:
    return f"entry {index + 1} ({model_id!r})" if model_id is not None else f"entry {index + 1}"


__all__ = [
    "EntriesFileError",
    "ListedEntry",
    "detect_format",
    "differing_fields",
    "entries_from_list",
    "entry_from_mapping",
    "given_fields",
    "parse_entries",
    "read_entries_file",
]
