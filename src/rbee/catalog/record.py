"""An entry's file record (catalog format 1.1): where its files came from and their digests.

    "record": {
      "source": {"type": "huggingface", "repo": "owner/name", "revision": "main", "commit": "..."},
      "recorded_at": "2026-12-02T15:00:00.000000Z",
      "files": [{"path": "model.safetensors", "size": 123, "sha256": "<64 hex>"}]
    }

`download`, `adopt`, `record` and `copy` write it; `verify` checks the files against it offline.
File paths are relative to the entry's directory: its `path` when that is a directory, else the
folder that holds it (an entry whose path is one GGUF file records that file by its base name).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` stays out of the CLIs' start-up (see rbee.catalog.rules)
    from typing import Any

    from rbee.catalog.entry import ModelEntry

SOURCE_TYPES = ("huggingface", "hf-cache", "ollama", "lmstudio", "local", "pool")
"""The source types this rbee writes; a record from a newer rbee may name others (kept)."""
SHA256_PATTERN = r"^[0-9a-f]{64}$"
COMMIT_PATTERN = r"^[0-9a-f]{40}$"

_SHA256 = re.compile(SHA256_PATTERN)
_COMMIT = re.compile(COMMIT_PATTERN)
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\\\\]")


class FileDigest:
    """One recorded file: its path (relative to the entry's directory), size and sha256."""

    __slots__ = ("path", "sha256", "size")

    def __init__(self, path: str, size: int, sha256: str) -> None:
        self.path = path
        self.size = size
        self.sha256 = sha256

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FileDigest):
            return NotImplemented
        return (self.path, self.size, self.sha256) == (other.path, other.size, other.sha256)

    def __hash__(self) -> int:
        return hash((self.path, self.size, self.sha256))

    def __repr__(self) -> str:
        return f"FileDigest({self.path!r}, {self.size!r}, {self.sha256!r})"


def make_record(
    source: dict[str, Any], files: Iterable[FileDigest], recorded_at: str | None = None
) -> dict[str, Any]:
    """A record's JSON form, files sorted by path; `recorded_at` defaults to now."""
    from rbee.catalog.rules import now_timestamp

    return {
        "source": dict(source),
        "recorded_at": recorded_at or now_timestamp(),
        "files": [f.to_dict() for f in sorted(files, key=lambda f: f.path)],
    }


def record_files(record: dict[str, Any]) -> list[FileDigest]:
    """The files of a (validated) record."""
    return [FileDigest(f["path"], f["size"], f["sha256"]) for f in record["files"]]


def resolve_path(path: str, root: str | os.PathLike[str]) -> str:
    """A catalog `path` on this machine: an absolute one as it is written, else under the pool's
    `root` (the spec's "Absolute paths": `~` is not expanded)."""
    return path if os.path.isabs(path) else os.path.join(os.fspath(root), path)


def resolve_entry_path(entry: ModelEntry, root: str | os.PathLike[str]) -> str:
    """The entry's `path` on this machine: absolute as it is, else under the pool's `root`."""
    return resolve_path(entry.path, root)


def entry_directory(entry: ModelEntry, root: str) -> str:
    """The folder a record's file paths are relative to (see the module's doc)."""
    path = resolve_entry_path(entry, root)
    if os.path.isdir(path):
        return path
    # A file, even without an extension (an adopted Ollama blob, `sha256-<hex>`), is held by
    # its folder; a path that is not there is a folder unless it has an extension.
    is_file = os.path.isfile(path) or bool(os.path.splitext(path)[1])
    return os.path.dirname(path) if is_file else path


def _path_problem(path: object) -> str | None:
    if not isinstance(path, str) or not path:
        return "must be a non-empty relative path"
    if path.startswith("/") or _FORBIDDEN.search(path):
        return f"must be a relative '/'-separated path without control characters, got {path!r}"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return f"must not have empty, '.' or '..' parts, got {path!r}"
    return None


def record_problems(record: object) -> Iterator[tuple[str, str]]:
    """Each broken rule of a record as (field, problem), fields named below `record`."""
    from rbee.catalog.rules import REPO_PATTERN, describe, json_value_problem, parse_timestamp

    if not isinstance(record, dict):
        yield "record", f"must be an object, got {describe(record)}"
        return
    for key in ("source", "recorded_at", "files"):
        if key not in record:
            yield f"record.{key}", "is missing"
            return
    source = record["source"]
    if not isinstance(source, dict):
        yield "record.source", f"must be an object, got {describe(source)}"
    else:
        kind = source.get("type")
        if not isinstance(kind, str) or not kind or _FORBIDDEN.search(kind):
            yield "record.source.type", f"must be a non-empty word, got {describe(kind)}"
        if "repo" in source and not (
            isinstance(source["repo"], str) and re.fullmatch(REPO_PATTERN, source["repo"])
        ):
            yield "record.source.repo", f"must be 'owner/name', got {describe(source['repo'])}"
        if "commit" in source and not (
            isinstance(source["commit"], str) and _COMMIT.fullmatch(source["commit"])
        ):
            yield (
                "record.source.commit",
                f"must be 40 lower-case hex digits, got {describe(source['commit'])}",
            )
        problem = json_value_problem(source)
        if problem:
            yield "record.source", problem
    stamp = record["recorded_at"]
    if not isinstance(stamp, str) or parse_timestamp(stamp) is None:
        yield "record.recorded_at", f"must be an RFC 3339 UTC time, got {describe(stamp)}"
    files = record["files"]
    if not isinstance(files, list) or not files:
        yield "record.files", f"must be a non-empty list, got {describe(files)}"
        return
    seen: set[str] = set()
    for index, item in enumerate(files):
        where = f"record.files[{index}]"
        if not isinstance(item, dict):
            yield where, f"must be an object, got {describe(item)}"
            continue
        problem = _path_problem(item.get("path"))
        if problem:
            yield f"{where}.path", problem
        elif item["path"] in seen:
            yield f"{where}.path", f"{item['path']!r} is listed twice"
        else:
            seen.add(item["path"])
        size = item.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            yield f"{where}.size", f"must be an integer >= 0, got {describe(size)}"
        digest = item.get("sha256")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            yield f"{where}.sha256", f"must be 64 lower-case hex digits, got {describe(digest)}"
        problem = json_value_problem(item)
        if problem:
            yield where, problem
    problem = json_value_problem(record)
    if problem:
        yield "record", problem


RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Where the files came from and each file's size and sha256 (format 1.1).",
    "required": ["source", "recorded_at", "files"],
    "properties": {
        "source": {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {
                    "type": "string",
                    "minLength": 1,
                    "description": "huggingface, hf-cache, ollama, lmstudio, local or pool "
                    "(a newer rbee may add others).",
                },
                "commit": {"type": "string", "pattern": COMMIT_PATTERN},
            },
            "additionalProperties": True,
        },
        "recorded_at": {"type": "string"},
        "files": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["path", "size", "sha256"],
                "properties": {
                    "path": {
                        "type": "string",
                        "minLength": 1,
                        "description": "Relative to the entry's directory, '/'-separated.",
                    },
                    "size": {"type": "integer", "minimum": 0},
                    "sha256": {"type": "string", "pattern": SHA256_PATTERN},
                },
                "additionalProperties": True,
            },
        },
    },
    "additionalProperties": True,
}
"""The record's JSON Schema (the loader checks more: unique paths, no '..' parts, real times)."""
