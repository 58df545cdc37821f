"""The catalog's rules: constants, patterns, and the checks the two types share.

The patterns are also the JSON Schema's (`rbee.catalog.schema`); Python checks them with
`fullmatch`, because there `$` would also match before a trailing newline. Nothing here imports
the types: `rbee.catalog.entry`, `rbee.catalog.document`, `rbee.catalog.record` and
`rbee.catalog.migrations` all build on this module.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from rbee.catalog.errors import CatalogInvalidError

# `typing` costs a bare-interpreter's worth of start-up time in every CLI that imports the
# catalog; annotations are strings here (PEP 563), so only the type checker needs it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

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
PATH_PATTERN = r"^(?=/|(?!(?:.*/)?\.\.(?:/|$)))" + TEXT_PATTERN[1:]
"""An entry's `path`: absolute, or relative without a `..` part (`has_parent_part`)."""
# Control characters (C0, DEL, C1), the Unicode line separators and lone surrogates: none of
# them belongs in a name shown in a table, and a lone surrogate cannot even be written as UTF-8.
FORBIDDEN_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
ID_RE = re.compile(ID_PATTERN)
ARCHITECTURE_RE = re.compile(ARCHITECTURE_PATTERN)
REPO_RE = re.compile(REPO_PATTERN)
VERSION_RE = re.compile(VERSION_PATTERN)
TIMESTAMP_RE = re.compile(TIMESTAMP_PATTERN)
BACKEND_RE = re.compile(BACKEND_PATTERN)
MAX_JSON_DEPTH = 64

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


def parse_timestamp(text: str) -> datetime | None:
    # By hand rather than with `strptime`: its `_strptime` module costs start-up time, and
    # every `touch` parses the previous stamp. The pattern has fixed the positions already.
    if not TIMESTAMP_RE.fullmatch(text):
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


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def as_list(value: Any) -> Any:
    """An iterable of backends becomes a list; a string or non-iterable is left for `problems`."""
    if isinstance(value, str | bytes | dict):
        return value
    try:
        return list(value)
    except TypeError:
        return value


def as_float(value: Any) -> Any:
    """JSON integers become floats (the seed's `f64`); anything else is left for validation."""
    if is_int(value):
        try:
            return float(value)
        except OverflowError:
            return value  # too large for a float: `problems` reports it
    return value


def text_problem(value: object, what: str = "text") -> str | None:
    if not isinstance(value, str):
        return f"must be a string, got {describe(value)}"
    if not value:
        return f"must be non-empty {what}"
    if FORBIDDEN_TEXT.search(value):
        return f"must not contain control characters, got {value!r}"
    return None


def has_parent_part(path: str) -> bool:
    """Whether `path` is relative and has a `..` part, which would lead out of the pool root."""
    return not path.startswith("/") and ".." in path.split("/")


def describe(value: object) -> str:
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
    if depth > MAX_JSON_DEPTH:
        return f"is nested more than {MAX_JSON_DEPTH} levels deep"
    if value is None or isinstance(value, bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"must be a finite number, got {value!r}"
    if isinstance(value, str):
        return "contains a lone surrogate" if LONE_SURROGATE.search(value) else None
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


def extra_problem(extra: object, known: frozenset[str]) -> str | None:
    """Unknown fields are kept as they are, but must not shadow a known one."""
    if not isinstance(extra, dict):
        return f"must be an object of unknown fields, got {describe(extra)}"
    clash = sorted(key for key in extra if key in known)
    if clash:
        return f"{clash[0]!r} is a catalog field, not an unknown one"
    return json_value_problem(extra)


def is_newer_minor(version: object) -> bool:
    """Whether `version` is a 1.x format newer than the one this rbee writes."""
    if not isinstance(version, str) or not VERSION_RE.fullmatch(version):
        return False
    major, minor = (int(part) for part in version.split("."))
    ours = [int(part) for part in SCHEMA_VERSION.split(".")]
    return major == ours[0] and minor > ours[1]


def note_unique_id(seen: dict[str, int], model_id: str, index: int) -> None:
    """Remember where `model_id` is; `CatalogInvalidError` if an earlier entry has it."""
    first = seen.setdefault(model_id, index)
    if first != index:
        raise CatalogInvalidError(
            "id",
            f"is used twice (models[{first}] and models[{index}]); ids must be unique",
            model_id=model_id,
            index=index,
        )
