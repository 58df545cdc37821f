"""A catalog document as bytes: decoding (with positions in errors, and migration) and rendering.

Below the catalog types: it turns bytes into a current-format `dict` and back, and
`rbee.catalog.document` builds `ModelCatalog`s from that.
"""

from __future__ import annotations

import json

from rbee.catalog.errors import CatalogCorruptError, CatalogInvalidError
from rbee.catalog.migrations import migrate

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` is left out of the CLIs' start-up (see rbee.catalog.rules)
    import os
    from typing import Any

    StrPath = str | os.PathLike[str]


def decode_document(data: bytes, path: StrPath | None = None) -> tuple[dict[str, Any], object]:
    """The catalog document in `data`, migrated to the current format, and the version it had.

    Raises `CatalogCorruptError` (not UTF-8, not JSON: with line and column) or
    `CatalogInvalidError` (not an object, a malformed or unknown version).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CatalogCorruptError(path, "the file is not UTF-8 text", line, column) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise CatalogCorruptError(path, "the file is empty")
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        # The position leads the message (`file:line:column:`); a message of json's that ends
        # in "starting at" is completed all the same.
        reason = f"invalid JSON: {json_error_reason(exc, always=False)}"
        raise CatalogCorruptError(path, reason, exc.lineno, exc.colno) from None
    except RecursionError:
        raise CatalogCorruptError(path, "JSON nested too deeply") from None
    except ValueError:  # NaN or Infinity, or an integer with too many digits
        raise _unsupported_number(text, path) from None
    if not isinstance(document, dict):
        error = CatalogInvalidError("(document)", "must be a JSON object with the catalog fields")
        raise error.in_file(path) if path is not None else error
    original_version = document.get("version")
    try:
        return migrate(document, path), original_version
    except CatalogInvalidError as exc:
        raise exc.in_file(path) if path is not None else exc from None


def json_error_reason(exc: json.JSONDecodeError, *, always: bool = True) -> str:
    """`json`'s message with its position, e.g. `Unterminated string starting at line 3,
    column 12` (its `msg` alone may end in a bare "starting at"). `always=False`: the position
    only where the message needs it to make sense."""
    where = f"line {exc.lineno}, column {exc.colno}"
    if exc.msg.endswith(" at"):
        return f"{exc.msg} {where}"
    return f"{exc.msg} at {where}" if always else exc.msg


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in a catalog")


def _unsupported_number(text: str, path: StrPath | None) -> CatalogCorruptError:
    """The error for a number `json` parses but a catalog must not hold, with its position."""
    import re
    import sys

    limit = sys.get_int_max_str_digits() or 4300
    # Strings are matched whole so that "NaN" inside a string is not mistaken for the number.
    digits = f"{{{limit + 1},}}"
    token = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)|(-?[0-9]' + digits + ")")
    for match in token.finditer(text):
        if match.group(1):
            reason = f"{match.group(1)} is not a JSON number and is not allowed in a catalog"
        elif match.group(2):
            reason = f"a number has more than {limit} digits"
        else:
            continue
        start = match.start()
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        return CatalogCorruptError(path, reason, line, column)
    return CatalogCorruptError(path, "a number cannot be read")


def render_document(document: dict[str, Any]) -> bytes:
    """The catalog file's bytes: pretty JSON in the given field order, UTF-8, final newline."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def content_key(document: dict[str, Any]) -> str:
    """A compact, comparable form of a catalog document, leaving out `updated_at`."""
    rest = dict(document)
    rest.pop("updated_at", None)
    return json.dumps(rest, ensure_ascii=False, separators=(",", ":"))
