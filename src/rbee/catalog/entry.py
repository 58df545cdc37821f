"""`ModelEntry`: one model in a pool's catalog, validated on construction.

Its fields' constraints live in one place, the `constraints` metadata of each record field
(`rbee.catalog.fields`); `problems` enforces them with the rules of `rbee.catalog.rules`, and
`rbee.catalog.schema` turns them into the JSON Schema. Unknown keys are kept in `extra` and
written back, so an entry from a newer 1.x rbee survives a round trip through this one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator

from rbee.catalog.errors import CatalogInvalidError
from rbee.catalog.fields import constrained, field, record_class
from rbee.catalog.rules import (
    ARCHITECTURE_PATTERN,
    ARCHITECTURE_RE,
    BACKEND_RE,
    BACKENDS,
    DEFAULT_BACKENDS,
    DEFAULT_FORMAT,
    ENTRY_FIELDS,
    FORBIDDEN_TEXT,
    FORMATS,
    ID_PATTERN,
    ID_RE,
    LONE_SURROGATE,
    MAX_NAME_LENGTH,
    METADATA_INTEGER_KEYS,
    MODELS_DIR,
    OPTIONAL_ENTRY_FIELDS,
    PATH_PATTERN,
    REPO_PATTERN,
    REPO_RE,
    TEXT_PATTERN,
    as_float,
    as_list,
    describe,
    extra_problem,
    has_parent_part,
    is_int,
    json_value_problem,
    text_problem,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` is left out of the CLIs' start-up (see rbee.catalog.rules)
    from typing import Any


@record_class
class ModelEntry:
    """One model in a pool's catalog; the seed's `ModelEntry`.

    Every field is validated on construction; `ModelCatalog.save` validates again, so in-place
    edits are checked before anything reaches the disk.
    """

    id: str = field(
        metadata=constrained(
            pattern=ID_PATTERN,
            description="1-64 ASCII letters, digits, '.', '_' or '-', starting with a letter or "
            "digit; unique in the catalog. Used as a directory name.",
        )
    )
    name: str = field(
        metadata=constrained(
            pattern=TEXT_PATTERN,
            maxLength=MAX_NAME_LENGTH,
            description="Human-readable name, at most 256 characters.",
        )
    )
    path: str = field(
        metadata=constrained(
            pattern=PATH_PATTERN,
            description="Where the model's files are: relative to the pool root (no '..' "
            "part), or absolute when they are outside it (adopted in place).",
        )
    )
    format: str = field(metadata=constrained(enum=list(FORMATS)))
    size_gb: float = field(
        metadata=constrained(minimum=0, description="Size on disk in GB (bytes / 1e9).")
    )
    architecture: str = field(metadata=constrained(pattern=ARCHITECTURE_PATTERN))
    downloaded: bool = field(
        metadata=constrained(description="Whether every weight file is on disk.")
    )
    backends: list[str] = field(
        metadata=constrained(
            minItems=1,
            uniqueItems=True,
            items={"enum": list(BACKENDS)},
            description="Known: cpu, metal, cuda, rocm, vulkan. Another token is accepted only "
            "in a document of a newer 1.x minor version (kept, never chosen).",
        )
    )
    metadata: dict[str, Any] = field(
        metadata=constrained(
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
        self.size_gb = as_float(size_gb)
        self.architecture = architecture
        self.downloaded = downloaded
        self.backends = as_list(backends)
        self.metadata = {} if metadata is None else metadata
        self.record = record
        self.extra = {} if extra is None else extra
        self.validate()

    # -- validation -----------------------------------------------------------------------

    def problems(self, *, loaded: bool = False, newer: bool = False) -> Iterator[tuple[str, str]]:
        """Each broken rule as (field, problem), in field order.

        `loaded`: the entry comes from a file, where rules added since are not enforced (a name
        longer than 256 characters or a relative path with a '..' part, from an older rbee,
        loads; editing the entry reports it).
        `newer`: the file is of a newer 1.x minor version, whose backends may be unknown here.
        """
        if not isinstance(self.id, str) or not ID_RE.fullmatch(self.id):
            yield (
                "id",
                "must be 1-64 ASCII letters, digits, '.', '_' or '-', starting with a letter "
                f"or digit, got {describe(self.id)}",
            )
        problem = text_problem(self.name, "text")
        if problem:
            yield "name", problem
        elif not loaded and len(self.name) > MAX_NAME_LENGTH:
            yield (
                "name",
                f"must be at most {MAX_NAME_LENGTH} characters, got {len(self.name)} "
                "(shorten it, e.g. with 'rbee-hive models update ID --name ...')",
            )
        problem = text_problem(self.path, "text")
        if problem:
            yield "path", problem
        elif not loaded and has_parent_part(self.path):
            yield (
                "path",
                "must not have a '..' part: it is relative to the pool root (or absolute), "
                f"got {describe(self.path)}",
            )
        if self.format not in FORMATS:
            yield "format", f"must be one of {', '.join(FORMATS)}, got {describe(self.format)}"
        size = self.size_gb
        if not isinstance(size, float | int) or isinstance(size, bool):
            yield "size_gb", f"must be a number of GB, got {describe(size)}"
        elif isinstance(size, int) or not math.isfinite(size) or size < 0:
            # An int here did not fit in a float (see `as_float`).
            yield "size_gb", f"must be a finite number >= 0, got {describe(size)}"
        if not isinstance(self.architecture, str) or not ARCHITECTURE_RE.fullmatch(
            self.architecture
        ):
            yield (
                "architecture",
                "must be a lower-case token of letters, digits, '.', '_' or '-' "
                f"(e.g. llama, qwen2), got {describe(self.architecture)}",
            )
        if not isinstance(self.downloaded, bool):
            yield "downloaded", f"must be true or false, got {describe(self.downloaded)}"
        yield from self._backend_problems(newer)
        yield from self._metadata_problems()
        if self.record is not None:
            from rbee.catalog.record import record_problems

            yield from record_problems(self.record)
        problem = extra_problem(self.extra, _ENTRY_FIELD_SET)
        if problem:
            yield "(unknown field)", problem

    def _backend_problems(self, newer: bool) -> Iterator[tuple[str, str]]:
        backends = self.backends
        if not isinstance(backends, list):
            yield "backends", f"must be a list of backends, got {describe(backends)}"
            return
        if not backends:
            yield "backends", f"must name at least one of {', '.join(BACKENDS)}"
        seen: set[str] = set()
        for i, backend in enumerate(backends):
            if newer and isinstance(backend, str) and BACKEND_RE.fullmatch(backend):
                if backend in seen:
                    yield f"backends[{i}]", f"{backend!r} is listed twice"
                seen.add(backend)
            elif not isinstance(backend, str) or backend not in BACKENDS:
                yield (
                    f"backends[{i}]",
                    f"must be one of {', '.join(BACKENDS)}, got {describe(backend)}",
                )
            elif backend in seen:
                yield f"backends[{i}]", f"{backend!r} is listed twice"
            else:
                seen.add(backend)

    def _metadata_problems(self) -> Iterator[tuple[str, str]]:
        metadata = self.metadata
        if not isinstance(metadata, dict):
            yield "metadata", f"must be an object, got {describe(metadata)}"
            return
        if "repo" in metadata:
            repo = metadata["repo"]
            if not isinstance(repo, str) or not REPO_RE.fullmatch(repo):
                yield (
                    "metadata.repo",
                    f"must be a Hugging Face repo id 'owner/name', got {describe(repo)}",
                )
        for key in METADATA_INTEGER_KEYS:
            if key in metadata:
                value = metadata[key]
                if not is_int(value) or value < 1:
                    yield f"metadata.{key}", f"must be a positive integer, got {describe(value)}"
        if "quantization" in metadata:
            problem = text_problem(metadata["quantization"], "text")
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
                "(entry)", f"must be an object, got {describe(document)}", index=index
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
        entry.size_gb = as_float(size)
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
        and FORBIDDEN_TEXT.search(text) is None
    ):
        return False
    text = entry.path
    if not (type(text) is str and text and FORBIDDEN_TEXT.search(text) is None):
        return False
    if ".." in text and has_parent_part(text):
        return False
    text = entry.id
    if not (type(text) is str and ID_RE.fullmatch(text)):
        return False
    text = entry.architecture
    if not (type(text) is str and ARCHITECTURE_RE.fullmatch(text)):
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
        if type(key) is not str or LONE_SURROGATE.search(key):
            return False
        if key == "repo":
            if type(value) is not str or not REPO_RE.fullmatch(value):
                return False
        elif key in _INTEGER_KEYS:
            if type(value) is not int or value < 1:
                return False
        elif key == "quantization":
            if not (type(value) is str and value and FORBIDDEN_TEXT.search(value) is None):
                return False
        elif type(value) is str:
            if LONE_SURROGATE.search(value):
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
    return type(extra) is dict and (not extra or extra_problem(extra, _ENTRY_FIELD_SET) is None)


def matches_text(entry: ModelEntry, needle: str) -> bool:
    """Whether `needle` (casefolded) is in the entry's id, name, architecture or repo."""
    repo = entry.metadata.get("repo") if isinstance(entry.metadata, dict) else None
    haystack = (entry.id, entry.name, entry.architecture, repo if isinstance(repo, str) else "")
    return any(needle in part.casefold() for part in haystack)
