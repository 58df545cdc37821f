"""Format versions and the steps between them.

Every step is a small function from one version's document to the next one's; `migrate` applies
them in order. Format 1.1 is one entry in `STEPS` (minor versions only add optional fields
and values, so a 1.x reader can still load them); 2.0 would be one more, plus a bump of
`SUPPORTED_MAJOR`.
"""

from __future__ import annotations

from collections.abc import Callable

from rbee.catalog.errors import CatalogInvalidError, UnsupportedVersionError
from rbee.catalog.rules import SCHEMA_VERSION, VERSION_PATTERN, describe

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` is left out of the CLIs' start-up (see rbee.catalog.rules)
    from typing import Any

    from rbee.catalog.errors import StrPath

SUPPORTED_MAJOR = 1
UNVERSIONED = "0.0"
"""What a document without a `version` field is taken to be: a draft from before 1.0."""

Document = dict[str, "Any"]


def _from_unversioned(document: Document) -> Document:
    # Drafts of the format had no version field and otherwise the 1.0 fields.
    return {**document, "version": "1.0"}


def _to_1_1(document: Document) -> Document:
    # 1.1 added the optional entry field `record` and the backends rocm and vulkan: every 1.0
    # document is a valid 1.1 document as it is.
    return {**document, "version": "1.1"}


STEPS: list[tuple[str, str, Callable[[Document], Document]]] = [
    (UNVERSIONED, "1.0", _from_unversioned),
    ("1.0", "1.1", _to_1_1),
]
"""(from version, to version, step), in order."""


def parse_version(version: object, path: StrPath | None = None) -> tuple[int, int]:
    """`'1.0'` -> `(1, 0)`; a malformed version is a `CatalogInvalidError`."""
    import re

    if not isinstance(version, str) or not re.fullmatch(VERSION_PATTERN, version):
        error = CatalogInvalidError(
            "version", f"must be 'major.minor' such as '1.0', got {describe(version)}"
        )
        raise error.in_file(path) if path is not None else error
    major, minor = version.split(".")
    return int(major), int(minor)


def migrate(document: Document, path: StrPath | None = None) -> Document:
    """Bring a parsed document to the current major version, or refuse a newer one.

    A document without `version` is a pre-1.0 draft and goes through every step; an unknown
    older version (say `0.9`) is refused rather than guessed at.
    """
    major, _minor = parse_version(document.get("version", UNVERSIONED), path)
    if major > SUPPORTED_MAJOR:
        raise UnsupportedVersionError(path, str(document["version"]), f"{SUPPORTED_MAJOR}.x")
    for source, target, step in STEPS:
        if document.get("version", UNVERSIONED) == source:
            document = step(document)
            if document.get("version") != target:  # a broken step is a bug, not user data
                raise RuntimeError(f"migration {source} -> {target} produced {document!r:.80}")
    major, _minor = parse_version(document.get("version"), path)
    if major < SUPPORTED_MAJOR:
        error = CatalogInvalidError(
            "version",
            f"{document['version']!r} is not a catalog format this rbee knows "
            f"(it reads {SUPPORTED_MAJOR}.x and documents without a version)",
        )
        raise error.in_file(path) if path is not None else error
    # Any 1.x loads as it is: minor versions only add fields, which are kept as extras.
    return document


__all__ = ["SCHEMA_VERSION", "STEPS", "SUPPORTED_MAJOR", "migrate", "parse_version"]
