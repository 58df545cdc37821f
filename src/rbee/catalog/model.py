"""The catalog's types and rules: `ModelEntry`, `ModelCatalog` and their validation.

The field constraints live in one place, the `constraints` metadata of each record field;
the validators below enforce them and `rbee.catalog.schema` turns them into a JSON Schema.
Unknown keys, at the top level and in entries, are kept in `extra` and written back, so a
document from a newer 1.x rbee survives a round trip through this one.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from rbee.catalog.errors import CatalogInvalidError, ModelExistsError, ModelNotFoundError

# `typing` costs a bare-interpreter's worth of start-up time in every CLI that imports the
# catalog; annotations are strings here (PEP 563), so only the type checker needs it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    _RecordT = TypeVar("_RecordT", bound=type)

SCHEMA_VERSION = "1.1"
"""The version this rbee writes into new catalogs."""

FORMATS = ("safetensors", "gguf")
BACKENDS = ("cpu", "metal", "cuda", "rocm", "vulkan")
"""llama.cpp's backends: CPU, Apple Metal, NVIDIA CUDA, AMD ROCm, Vulkan (AMD, Intel and others)."""
DEFAULT_BACKENDS = ("cpu", "metal", "cuda")
"""What `register` assumes when no backend is given (the original plan's default)."""
BACKEND_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
"""What a backend of a newer 1.x format may look like: this rbee keeps it, and never picks it."""
MAX_NAME_LENGTH = 256
DEFAULT_FORMAT = "safetensors"
MODELS_DIR = ".test-models"
"""Where the seed keeps models and the catalog, relative to the pool's root."""
CATALOG_FILE_NAME = "catalog.json"
"""The catalog's file name inside `MODELS_DIR`."""

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ARCHITECTURE_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
REPO_PATTERN = r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$"
VERSION_PATTERN = r"^[0-9]+\.[0-9]+$"
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|\+00:00)$"
)
TEXT_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]+$"
"""Non-empty text without control characters or line separators (names, paths, pool ids)."""
# The patterns above are also the JSON Schema's; Python checks them with `fullmatch`, because
# there `$` would also match before a trailing newline.
# Control characters (C0, DEL, C1), the Unicode line separators and lone surrogates: none of
# them belongs in a name shown in a table, and a lone surrogate cannot even be written as UTF-8.
_FORBIDDEN_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_ID = re.compile(ID_PATTERN)
_ARCHITECTURE = re.compile(ARCHITECTURE_PATTERN)
_REPO = re.compile(REPO_PATTERN)
_VERSION = re.compile(VERSION_PATTERN)
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)
_BACKEND = re.compile(BACKEND_PATTERN)
_MAX_JSON_DEPTH = 64

# Keys of `metadata` that rbee understands; any other key is kept as it is.
METADATA_INTEGER_KEYS = ("context_length", "vocab_size", "parameters")

ENTRY_FIELDS = (
    "id",
    "name",
    "path",
    "format",
    "size_gb",
    "architecture",
    "downloaded",
    "backends",
    "metadata",
)
OPTIONAL_ENTRY_FIELDS = ("record",)
"""Entry fields a document may leave out (format 1.1 added `record`)."""
CATALOG_FIELDS = ("version", "pool_id", "updated_at", "models")


def now_timestamp() -> str:
    """The current time as RFC 3339 UTC with microseconds, e.g. `2025-10-09T15:00:00.123456Z`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_timestamp(text: str) -> datetime | None:
    # By hand rather than with `strptime`: its `_strptime` module costs start-up time, and
    # every `touch` parses the previous stamp. The pattern has fixed the positions already.
    if not _TIMESTAMP.fullmatch(text):
        return None
    try:
        moment = datetime(
            int(text[0:4]),
            int(text[5:7]),
            int(text[8:10]),
            int(text[11:13]),
            int(text[14:16]),
            int(text[17:19]),
            tzinfo=UTC,
        )
    except ValueError:  # e.g. month 13 or second 60
        return None
    if text[19] == ".":
        digits = text[20:].rstrip("Z").removesuffix("+00:00")
        moment += timedelta(microseconds=int(digits[:6].ljust(6, "0")))
    return moment


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_list(value: Any) -> Any:
    """An iterable of backends becomes a list; a string or non-iterable is left for `problems`."""
    if isinstance(value, str | bytes | dict):
        return value
    try:
        return list(value)
    except TypeError:
        return value


def _as_float(value: Any) -> Any:
    """JSON integers become floats (the seed's `f64`); anything else is left for validation."""
    if _is_int(value):
        try:
            return float(value)
        except OverflowError:
            return value  # too large for a float: `problems` reports it
    return value


def _text_problem(value: object, what: str = "text") -> str | None:
    if not isinstance(value, str):
        return f"must be a string, got {_describe(value)}"
    if not value:
        return f"must be non-empty {what}"
    if _FORBIDDEN_TEXT.search(value):
        return f"must not contain control characters, got {value!r}"
    return None


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 80 else repr(value[:77] + "...")
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def json_value_problem(value: object, depth: int = 0) -> str | None:
    """Why `value` cannot be stored in the catalog's JSON, or None when it can."""
    if depth > _MAX_JSON_DEPTH:
        return f"is nested more than {_MAX_JSON_DEPTH} levels deep"
    if value is None or isinstance(value, bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"must be a finite number, got {value!r}"
    if isinstance(value, str):
        return "contains a lone surrogate" if _LONE_SURROGATE.search(value) else None
    if isinstance(value, list | tuple):
        for item in value:
            problem = json_value_problem(item, depth + 1)
            if problem:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"has a key that is not a string: {key!r}"
            problem = json_value_problem(key, depth + 1) or json_value_problem(item, depth + 1)
            if problem:
                return problem
        return None
    return f"holds a {type(value).__name__}, which JSON cannot represent"


class FieldSpec:
    """A record field's metadata: its JSON Schema constraints, and whether it is serialized."""

    __slots__ = ("metadata",)

    def __init__(self, metadata: dict[str, Any]) -> None:
        self.metadata = metadata


def field(*, metadata: dict[str, Any] | None = None) -> Any:
    """Declare a record field's metadata (a light stand-in for `dataclasses.field`).

    `dataclasses` imports `inspect` and half the standard library, which costs the CLIs about a
    third of their start-up budget; records need only ordered fields, `==` and a repr.
    """
    return FieldSpec(metadata or {})


def _record(cls: _RecordT) -> _RecordT:
    """Collect a class's annotated fields (in order) and give it field-wise `==` and repr."""
    specs: list[tuple[str, FieldSpec]] = []
    for name in cls.__dict__.get("__annotations__", {}):  # noqa: RUF063 - inspect is the cost we avoid
        spec = cls.__dict__.get(name)
        if isinstance(spec, FieldSpec):
            specs.append((name, spec))
            delattr(cls, name)
    names = tuple(name for name, _ in specs)
    cls.__record_fields__ = tuple(specs)  # type: ignore[attr-defined]

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in names)

    def __repr__(self: Any) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{self.__class__.__name__}({fields})"

    cls.__eq__ = __eq__  # type: ignore[method-assign,assignment]
    cls.__repr__ = __repr__  # type: ignore[method-assign,assignment]
    cls.__hash__ = None  # type: ignore[assignment]
    return cls


def record_fields(cls: type) -> tuple[tuple[str, FieldSpec], ...]:
    """The (name, spec) pairs of a record class, in declaration order."""
    fields: tuple[tuple[str, FieldSpec], ...] = cls.__record_fields__  # type: ignore[attr-defined]
    return fields


def _c(**constraints: Any) -> dict[str, Any]:
    """Field metadata: the JSON Schema constraints that the validators below enforce."""
    return {"constraints": constraints}


@_record
class ModelEntry:
    """One model in a pool's catalog; the seed's `ModelEntry`.

    Every field is validated on construction; `ModelCatalog.save` validates again, so in-place
    edits are checked before anything reaches the disk.
    """

    id: str = field(
        metadata=_c(
            pattern=ID_PATTERN,
            description="1-64 ASCII letters, digits, '.', '_' or '-', starting with a letter or "
            "digit; unique in the catalog. Used as a directory name.",
        )
    )
    name: str = field(
        metadata=_c(
            pattern=TEXT_PATTERN,
            maxLength=MAX_NAME_LENGTH,
            description="Human-readable name, at most 256 characters.",
        )
    )
    path: str = field(
        metadata=_c(
            pattern=TEXT_PATTERN,
            description="Where the model's files are: relative to the pool root, or absolute "
            "when they are outside it (adopted in place).",
        )
    )
    format: str = field(metadata=_c(enum=list(FORMATS)))
    size_gb: float = field(metadata=_c(minimum=0, description="Size on disk in GB (bytes / 1e9)."))
    architecture: str = field(metadata=_c(pattern=ARCHITECTURE_PATTERN))
    downloaded: bool = field(metadata=_c(description="Whether every weight file is on disk."))
    backends: list[str] = field(
        metadata=_c(
            minItems=1,
            uniqueItems=True,
            items={"enum": list(BACKENDS)},
            description="Known: cpu, metal, cuda, rocm, vulkan. Another token is accepted only "
            "in a document of a newer 1.x minor version (kept, never chosen).",
        )
    )
    metadata: dict[str, Any] = field(
        metadata=_c(
            properties={
                "repo": {
                    "type": "string",
                    "pattern": REPO_PATTERN,
                    "description": "Hugging Face repo id, owner/name.",
                },
                "context_length": {"type": "integer", "minimum": 1},
                "vocab_size": {"type": "integer", "minimum": 1},
                "quantization": {"type": "string", "pattern": TEXT_PATTERN},
                "parameters": {"type": "integer", "minimum": 1},
            },
            additionalProperties=True,
        )
    )
    record: dict[str, Any] | None = field(
        metadata={"constraints": {}, "optional": True, "schema": "record"}
    )
    extra: dict[str, Any] = field(metadata={"serialized": False})

    def __init__(
        self,
        *,
        id: str,
        name: str,
        architecture: str,
        path: str | os.PathLike[str] | None = None,
        format: str = DEFAULT_FORMAT,
        size_gb: float = 0.0,
        downloaded: bool = False,
        backends: Iterable[str] = DEFAULT_BACKENDS,
        metadata: dict[str, Any] | None = None,
        record: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.id = id
        self.name = name
        if path is None:
            path = f"{MODELS_DIR}/{id}"
        elif isinstance(path, os.PathLike):
            path = os.fspath(path)
        self.path = path
        self.format = format
        self.size_gb = _as_float(size_gb)
        self.architecture = architecture
        self.downloaded = downloaded
        self.backends = _as_list(backends)
        self.metadata = {} if metadata is None else metadata
        self.record = record
        self.extra = {} if extra is None else extra
        self.validate()

    # -- validation -----------------------------------------------------------------------

    def problems(self, *, loaded: bool = False, newer: bool = False) -> Iterator[tuple[str, str]]:
        """Each broken rule as (field, problem), in field order.

        `loaded`: the entry comes from a file, where rules added since are not enforced (a name
        longer than 256 characters, from an older rbee, loads; editing the entry reports it).
        `newer`: the file is of a newer 1.x minor version, whose backends may be unknown here.
        """
        if not isinstance(self.id, str) or not _ID.fullmatch(self.id):
            yield (
                "id",
                "must be 1-64 ASCII letters, digits, '.', '_' or '-', starting with a letter "
                f"or digit, got {_describe(self.id)}",
            )
        problem = _text_problem(self.name, "text")
        if problem:
            yield "name", problem
        elif not loaded and len(self.name) > MAX_NAME_LENGTH:
            yield (
                "name",
                f"must be at most {MAX_NAME_LENGTH} characters, got {len(self.name)} "
                "(shorten it, e.g. with 'rbee-hive models update ID --name ...')",
            )
        problem = _text_problem(self.path, "text")
        if problem:
            yield "path", problem
        if self.format not in FORMATS:
            yield "format", f"must be one of {', '.join(FORMATS)}, got {_describe(self.format)}"
        size = self.size_gb
        if not isinstance(size, float | int) or isinstance(size, bool):
            yield "size_gb", f"must be a number of GB, got {_describe(size)}"
        elif isinstance(size, int) or not math.isfinite(size) or size < 0:
            # An int here did not fit in a float (see `_as_float`).
            yield "size_gb", f"must be a finite number >= 0, got {_describe(size)}"
        if not isinstance(self.architecture, str) or not _ARCHITECTURE.fullmatch(self.architecture):
            yield (
                "architecture",
                "must be a lower-case token of letters, digits, '.', '_' or '-' "
                f"(e.g. llama, qwen2), got {_describe(self.architecture)}",
            )
        if not isinstance(self.downloaded, bool):
            yield "downloaded", f"must be true or false, got {_describe(self.downloaded)}"
        yield from self._backend_problems(newer)
        yield from self._metadata_problems()
        if self.record is not None:
            from rbee.catalog.record import record_problems

            yield from record_problems(self.record)
        problem = _extra_problem(self.extra, _ENTRY_FIELD_SET)
        if problem:
            yield "(unknown field)", problem

    def _backend_problems(self, newer: bool) -> Iterator[tuple[str, str]]:
        backends = self.backends
        if not isinstance(backends, list):
            yield "backends", f"must be a list of backends, got {_describe(backends)}"
            return
        if not backends:
            yield "backends", f"must name at least one of {', '.join(BACKENDS)}"
        seen: set[str] = set()
        for i, backend in enumerate(backends):
            if newer and isinstance(backend, str) and _BACKEND.fullmatch(backend):
                if backend in seen:
                    yield f"backends[{i}]", f"{backend!r} is listed twice"
                seen.add(backend)
            elif not isinstance(backend, str) or backend not in BACKENDS:
                yield (
                    f"backends[{i}]",
                    f"must be one of {', '.join(BACKENDS)}, got {_describe(backend)}",
                )
            elif backend in seen:
                yield f"backends[{i}]", f"{backend!r} is listed twice"
            else:
                seen.add(backend)

    def _metadata_problems(self) -> Iterator[tuple[str, str]]:
        metadata = self.metadata
        if not isinstance(metadata, dict):
            yield "metadata", f"must be an object, got {_describe(metadata)}"
            return
        if "repo" in metadata:
            repo = metadata["repo"]
            if not isinstance(repo, str) or not _REPO.fullmatch(repo):
                yield (
                    "metadata.repo",
                    f"must be a Hugging Face repo id 'owner/name', got {_describe(repo)}",
                )
        for key in METADATA_INTEGER_KEYS:
            if key in metadata:
                value = metadata[key]
                if not _is_int(value) or value < 1:
                    yield f"metadata.{key}", f"must be a positive integer, got {_describe(value)}"
        if "quantization" in metadata:
            problem = _text_problem(metadata["quantization"], "text")
            if problem:
                yield "metadata.quantization", problem
        problem = json_value_problem(metadata)
        if problem:
            yield "metadata", problem

    def validate(self) -> None:
        """Raise `CatalogInvalidError` for the first broken rule."""
        if _entry_is_valid(self):
            return
        for field_name, problem in self.problems():
            model_id = self.id if isinstance(self.id, str) else None
            raise CatalogInvalidError(field_name, problem, model_id=model_id)

    # -- conversion -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The entry as the catalog file stores it: the seed's fields in the seed's order."""
        document: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "path": self.path,
            "format": self.format,
            "size_gb": self.size_gb,
            "architecture": self.architecture,
            "downloaded": self.downloaded,
            "backends": list(self.backends),
            "metadata": self.metadata,
        }
        if self.record is not None:
            document["record"] = self.record
        if self.extra:
            document.update(self.extra)
        return document

    @classmethod
    def from_dict(
        cls,
        document: object,
        index: int | None = None,
        *,
        loaded: bool = False,
        newer: bool = False,
    ) -> ModelEntry:
        """Build and validate an entry from its JSON form; errors name the entry and field.

        `loaded` and `newer` relax the rules as `problems` describes, for entries read from a file.
        """
        if not isinstance(document, dict):
            raise CatalogInvalidError(
                "(entry)", f"must be an object, got {_describe(document)}", index=index
            )
        raw_id = document.get("id")
        model_id = raw_id if isinstance(raw_id, str) else None
        for key in ENTRY_FIELDS:
            if key not in document:
                raise CatalogInvalidError(key, "is missing", model_id=model_id, index=index)
        # Bypass __init__: the raw values go straight to `problems`, which reports wrong types.
        entry = cls.__new__(cls)
        entry.id = document["id"]
        entry.name = document["name"]
        entry.path = document["path"]
        entry.format = document["format"]
        size = document["size_gb"]
        entry.size_gb = _as_float(size)
        entry.architecture = document["architecture"]
        entry.downloaded = document["downloaded"]
        entry.backends = document["backends"]
        entry.metadata = document["metadata"]
        entry.record = document.get("record")
        entry.extra = (
            {k: v for k, v in document.items() if k not in _ENTRY_FIELD_SET}
            if len(document) > len(ENTRY_FIELDS)
            else {}
        )
        if not _entry_is_valid(entry):
            for field_name, problem in entry.problems(loaded=loaded, newer=newer):
                raise CatalogInvalidError(field_name, problem, model_id=model_id, index=index)
        return entry

    def copy(self) -> ModelEntry:
        """A deep copy through the JSON form (entries hold only JSON values)."""
        import json

        return ModelEntry.from_dict(json.loads(json.dumps(self.to_dict())))


_ENTRY_FIELD_SET = frozenset(ENTRY_FIELDS + OPTIONAL_ENTRY_FIELDS)
_BACKEND_SET = frozenset(BACKENDS)
_FORMAT_SET = frozenset(FORMATS)
_INTEGER_KEYS = frozenset(METADATA_INTEGER_KEYS)
_PLAIN = (str, int, float, bool, type(None))


def _entry_is_valid(entry: ModelEntry) -> bool:
    """True only if `entry.problems()` would find nothing; the fast path of validation.

    Loading a 10,000-model catalog validates every entry, so this checks the common case with
    exact type tests and no generators; anything unusual (a str subclass, a huge integer, a
    broken rule) returns False and `problems` gives the authoritative answer and the message.
    """
    text = entry.name
    if not (
        type(text) is str
        and text
        and len(text) <= MAX_NAME_LENGTH
        and _FORBIDDEN_TEXT.search(text) is None
    ):
        return False
    text = entry.path
    if not (type(text) is str and text and _FORBIDDEN_TEXT.search(text) is None):
        return False
    text = entry.id
    if not (type(text) is str and _ID.fullmatch(text)):
        return False
    text = entry.architecture
    if not (type(text) is str and _ARCHITECTURE.fullmatch(text)):
        return False
    size = entry.size_gb
    if not (type(size) is float and 0.0 <= size <= 1.7976931348623157e308):  # NaN fails too
        return False
    if type(entry.format) is not str or entry.format not in _FORMAT_SET:
        return False
    if type(entry.downloaded) is not bool:
        return False
    backends = entry.backends
    if type(backends) is not list or not backends:
        return False
    for backend in backends:
        if type(backend) is not str or backend not in _BACKEND_SET:
            return False
    if len(backends) > 1 and len(set(backends)) != len(backends):
        return False
    metadata = entry.metadata
    if type(metadata) is not dict:
        return False
    for key, value in metadata.items():
        if type(key) is not str or _LONE_SURROGATE.search(key):
            return False
        if key == "repo":
            if type(value) is not str or not _REPO.fullmatch(value):
                return False
        elif key in _INTEGER_KEYS:
            if type(value) is not int or value < 1:
                return False
        elif key == "quantization":
            if not (type(value) is str and value and _FORBIDDEN_TEXT.search(value) is None):
                return False
        elif type(value) is str:
            if _LONE_SURROGATE.search(value):
                return False
        elif type(value) is float:
            if not math.isfinite(value):
                return False
        elif type(value) not in _PLAIN and json_value_problem(value, 1) is not None:
            return False
    if entry.record is not None:
        from rbee.catalog.record import record_problems

        if next(record_problems(entry.record), None) is not None:
            return False
    extra = entry.extra
    return type(extra) is dict and (not extra or _extra_problem(extra, _ENTRY_FIELD_SET) is None)


def _extra_problem(extra: object, known: frozenset[str]) -> str | None:
    """Unknown fields are kept as they are, but must not shadow a known one."""
    if not isinstance(extra, dict):
        return f"must be an object of unknown fields, got {_describe(extra)}"
    clash = sorted(key for key in extra if key in known)
    if clash:
        return f"{clash[0]!r} is a catalog field, not an unknown one"
    return json_value_problem(extra)


_CATALOG_FIELD_SET = frozenset(CATALOG_FIELDS)


@_record
class ModelCatalog:
    """A pool's catalog; the seed's `ModelCatalog`.

    Mutating methods keep `updated_at` current; `save` also notices in-place edits of entries
    (through `find_model_mut`) and stamps those.
    """

    version: str = field(
        metadata=_c(
            # The schema describes format 1.x; other majors are refused by `migrations`.
            pattern=r"^1\.[0-9]+$",
            description="Format version, major.minor. This rbee reads 1.x and writes 1.1.",
        )
    )
    pool_id: str = field(
        metadata=_c(pattern=TEXT_PATTERN, description="The pool's name, e.g. mac.home.arpa.")
    )
    updated_at: str = field(
        metadata=_c(
            pattern=TIMESTAMP_PATTERN,
            description="RFC 3339 UTC time of the last change.",
        )
    )
    models: list[ModelEntry] = field(metadata=_c())
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
        # (updated_at, file bytes) as last loaded or saved: how `save` tells edits apart.
        self._baseline: tuple[str, bytes] | None = None
        # Which file, and which version of it, this catalog was loaded from or saved to.
        self._file_state: tuple[str, tuple[int, int, int, int]] | None = None
        self.migrated_from: str | None = None
        """The format version of the file this catalog was migrated from on load, if it was."""

    @classmethod
    def new(cls, pool_id: str) -> ModelCatalog:
        """An empty catalog for `pool_id`, in the current format version."""
        catalog = cls(pool_id=pool_id)
        catalog.validate()
        return catalog

    # -- persistence (see rbee.catalog.storage) -----------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ModelCatalog:
        """Read and validate the catalog at `path`; raises a `CatalogError` subclass."""
        from rbee.catalog.storage import load_catalog

        return load_catalog(path)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Validate, then write atomically, keeping the previous file as `<path>.bak`."""
        from rbee.catalog.storage import save_catalog

        save_catalog(self, path)

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
        added: list[ModelEntry] = []
        for entry in entries:
            entry.validate()
            holder = taken.get(entry.id.lower())
            if holder is not None:
                raise ModelExistsError(entry.id, holder)
            taken[entry.id.lower()] = entry.id
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
            if needle is not None and not _matches_text(entry, needle):
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
        previous = _parse_timestamp(self.updated_at) if isinstance(self.updated_at, str) else None
        if previous is not None and moment <= previous:
            # Two edits within a clock tick, or a clock that went back: still move forward.
            moment = previous + timedelta(microseconds=1)
        self.updated_at = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    # -- validation and conversion ----------------------------------------------------------

    def validate(self) -> None:
        """Raise `CatalogInvalidError` for the first broken rule in the document."""
        self._validate_header()
        if not isinstance(self.models, list):
            raise CatalogInvalidError("models", f"must be a list, got {_describe(self.models)}")
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
            _note_unique_id(seen, entry.id, index)

    def _validate_header(self) -> None:
        """The rules of every field but `models`."""
        version = self.version
        if not isinstance(version, str) or not _VERSION.fullmatch(version):
            raise CatalogInvalidError(
                "version", f"must be 'major.minor' such as '1.0', got {_describe(version)}"
            )
        problem = _text_problem(self.pool_id, "text")
        if problem:
            raise CatalogInvalidError("pool_id", problem)
        if not isinstance(self.updated_at, str) or _parse_timestamp(self.updated_at) is None:
            raise CatalogInvalidError(
                "updated_at",
                "must be an RFC 3339 UTC time such as 2025-10-09T15:00:00Z, "
                f"got {_describe(self.updated_at)}",
            )
        problem = _extra_problem(self.extra, _CATALOG_FIELD_SET)
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
                "(document)", f"must be a JSON object, got {_describe(document)}"
            )
        for key in CATALOG_FIELDS:
            if key not in document:
                raise CatalogInvalidError(key, "is missing")
        models = document["models"]
        if not isinstance(models, list):
            raise CatalogInvalidError("models", f"must be a list, got {_describe(models)}")
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
            _note_unique_id(seen, entry.id, index)
            entries.append(entry)
        catalog._validate_header()
        return catalog

    def mark_saved(self) -> None:
        """Remember the current content, so `changed_since_saved` can tell edits apart."""
        from rbee.catalog.storage import render_catalog

        self._baseline = (self.updated_at, render_catalog(self).encode("utf-8"))

    def changed_since_saved(self) -> bool:
        """Whether anything but `updated_at` differs from the last load or save."""
        from rbee.catalog.storage import content_changed

        return content_changed(self)


def is_newer_minor(version: object) -> bool:
    """Whether `version` is a 1.x format newer than the one this rbee writes."""
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        return False
    major, minor = (int(part) for part in version.split("."))
    ours = [int(part) for part in SCHEMA_VERSION.split(".")]
    return major == ours[0] and minor > ours[1]


def content_key(document: dict[str, Any]) -> str:
    """A compact, comparable form of a catalog document, leaving out `updated_at`."""
    import json

    rest = dict(document)
    rest.pop("updated_at", None)
    return json.dumps(rest, ensure_ascii=False, separators=(",", ":"))


def _note_unique_id(seen: dict[str, int], model_id: str, index: int) -> None:
    """Remember where `model_id` is; `CatalogInvalidError` if an earlier entry has it."""
    first = seen.setdefault(model_id, index)
    if first != index:
        raise CatalogInvalidError(
            "id",
            f"is used twice (models[{first}] and models[{index}]); ids must be unique",
            model_id=model_id,
            index=index,
        )


def _matches_text(entry: ModelEntry, needle: str) -> bool:
    repo = entry.metadata.get("repo") if isinstance(entry.metadata, dict) else None
    haystack = (entry.id, entry.name, entry.architecture, repo if isinstance(repo, str) else "")
    return any(needle in part.casefold() for part in haystack)
