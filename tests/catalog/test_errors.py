"""The one escaping rule for text shown to a user: error messages and CLI output agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from rbee.catalog import CatalogCorruptError, CatalogNotFoundError, load_catalog
from rbee.catalog.errors import one_line
from rbee.cli.style import printable

UNSAFE = {
    "\n": "\\x0a",
    "\x1b": "\\x1b",
    "\x7f": "\\x7f",
    "\x9b": "\\x9b",  # C1 control sequence introducer
    "\u2028": "\\u2028",  # line separator
    "\u2029": "\\u2029",
    "\u202e": "\\u202e",  # right-to-left override
    "\u202a": "\\u202a",
    "\u2066": "\\u2066",  # left-to-right isolate
    "\u2069": "\\u2069",
    "\ud800": "\\ud800",  # lone surrogate (e.g. from a file name that is not UTF-8)
}


@pytest.mark.parametrize(("char", "escaped"), UNSAFE.items(), ids=[hex(ord(c)) for c in UNSAFE])
def test_errors_and_cli_output_escape_the_same_characters(char: str, escaped: str) -> None:
    text = f"model{char}.gguf"
    assert one_line(text) == f"model{escaped}.gguf"
    assert printable(text) == one_line(text)
    assert escaped in str(CatalogNotFoundError(Path(text)))


@pytest.mark.parametrize("text", ["plain", "Qwen2.5 «0.5B» — 中文", "a\u00a0b", "zero\u200dwidth"])
def test_printable_text_is_left_alone(text: str) -> None:
    assert one_line(text) == text
    assert printable(text) == text


def test_error_paths_are_path_objects(tmp_path: Path) -> None:
    missing = tmp_path / "catalog.json"
    with pytest.raises(CatalogNotFoundError) as caught:
        load_catalog(str(missing))
    assert caught.value.path == missing
    assert str(caught.value) == f"no catalog at {missing}"
    assert CatalogCorruptError(None, "bad").path is None
