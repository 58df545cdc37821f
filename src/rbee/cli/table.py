"""Text tables that line up in a terminal, where some characters take two cells.

Widths are counted in terminal cells: East Asian wide and full-width characters (the emoji the
catalog shows, ✅ and ❌, among them) take two, combining marks and zero-width characters none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

ELLIPSIS = "…"
# The catalog table's own symbols, so that showing it does not load the Unicode database.
_KNOWN_WIDTHS = {"✅": 2, "❌": 2, ELLIPSIS: 1}


def cell_width(text: str) -> int:
    """How many terminal cells `text` takes."""
    if text.isascii():
        return len(text)
    if text in _KNOWN_WIDTHS:
        return _KNOWN_WIDTHS[text]
    import unicodedata

    width = 0
    for char in text:
        if unicodedata.combining(char) or char in "\u200b\u200c\u200d\ufe0e\ufe0f":
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def pad(text: str, width: int) -> str:
    """`text` followed by spaces up to `width` cells (nothing is cut)."""
    return text + " " * max(width - cell_width(text), 0)


def truncate(text: str, width: int) -> str:
    """`text` cut to at most `width` cells, ending in an ellipsis when something was cut."""
    if cell_width(text) <= width:
        return text
    kept = ""
    for char in text:
        if cell_width(kept + char) > width - 1:
            break
        kept += char
    return kept + ELLIPSIS


def format_row(
    cells: Sequence[str],
    widths: Sequence[int],
    style: Callable[[int, str], str] | None = None,
) -> str:
    """Cells padded to their column's width, separated by one space, without trailing spaces.

    `style(column, text)` may colour a cell; padding is computed on the plain text so colour
    codes never shift the columns.
    """
    parts: list[str] = []
    for column, (cell, width) in enumerate(zip(cells, widths, strict=True)):
        padding = " " * max(width - cell_width(cell), 0)
        parts.append((style(column, cell) if style else cell) + padding)
    return " ".join(parts).rstrip(" ")
