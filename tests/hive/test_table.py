"""Terminal-cell widths and the catalog table's layout."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rbee.catalog import ModelEntry
from rbee.cli.style import Styler
from rbee.cli.table import cell_width, format_row, pad, truncate
from rbee.hive.render import catalog_table


@pytest.mark.parametrize(
    ("text", "width"),
    [
        ("tinyllama", 9),
        ("✅", 2),
        ("❌", 2),
        ("🦙 llama", 8),
        ("日本語", 6),
        ("e\u0301", 1),  # e + combining acute accent
        ("", 0),
    ],
)
def test_cell_width(text: str, width: int) -> None:
    assert cell_width(text) == width


def test_pad_and_truncate_count_cells() -> None:
    assert pad("✅", 4) == "✅  "
    assert pad("toolong", 3) == "toolong"
    assert truncate("日本語テキスト", 7) == "日本語…"
    assert cell_width(truncate("日本語テキスト", 7)) <= 7
    assert truncate("short", 10) == "short"


def test_format_row_pads_plain_text_and_drops_trailing_spaces() -> None:
    row = format_row(["a", "✅", "x"], [3, 4, 5], lambda column, text: f"<{text}>")
    assert row == "<a>   <✅>   <x>"


def test_table_widens_for_long_ids_and_keeps_the_minimum_layout() -> None:
    entries = [ModelEntry(id="m" * 40, name="Name", architecture="llama")]
    lines = catalog_table("pool", entries, Styler(False))
    header, row = lines[2], lines[4]
    assert header.index("Name") == 41
    assert row.index("Name") == 41
    # The rules grow to the widest row (the seed's 80 is the minimum).
    assert len(lines[1]) == cell_width(row) == 40 + 1 + 30 + 1 + 12 + 1 + len("0.0 GB")
    short = catalog_table(
        "pool", [ModelEntry(id="m", name="N", architecture="llama")], Styler(False)
    )
    assert len(short[1]) == 80
    assert lines[-1] == "Total models: 1"


def test_table_in_a_terminal_shortens_names_to_fit() -> None:
    entries = [ModelEntry(id="m", name="N" * 100, architecture="llama")]
    lines = catalog_table("pool", entries, Styler(False), terminal_width=90)
    assert all(cell_width(line) <= 90 for line in lines)
    assert lines[4].split()[1].endswith("…")


_NAME_ALPHABET = "abcXYZ 0123-_.日本語✅❌🦙é\u0301"


@given(
    names=st.lists(st.text(_NAME_ALPHABET, min_size=1, max_size=50), min_size=1, max_size=6),
    downloaded=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_columns_line_up_for_any_names(names: list[str], downloaded: list[bool]) -> None:
    entries = [
        ModelEntry(id=f"m{i}", name=name.strip() or "x", architecture="llama", downloaded=done)
        for i, (name, done) in enumerate(zip(names, downloaded, strict=False))
    ]
    lines = catalog_table("pool", entries, Styler(False))
    header, rows = lines[2], lines[4 : 4 + len(entries)]
    downloaded_at = cell_width(header[: header.index("Downloaded")])
    size_at = cell_width(header[: header.index("Size")])
    for row, entry in zip(rows, entries, strict=True):
        status = "✅" if entry.downloaded else "❌"
        # The name is whole (not a terminal), and every column starts where its header does.
        assert entry.name in row
        assert cell_width(row[: row.rindex(status)]) == downloaded_at
        assert cell_width(row[: row.rindex(" GB") - 3]) == size_at
    assert all(len(rule) >= max(map(cell_width, rows)) for rule in (lines[1], lines[3], lines[-2]))
