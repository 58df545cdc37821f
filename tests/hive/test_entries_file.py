"""rbee.catalog.entries_file: model lists in TOML or JSON (`register --from`), checked up front."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rbee.catalog import ModelEntry
from rbee.catalog.entries_file import (
    EntriesFileError,
    ListedEntry,
    detect_format,
    differing_fields,
    parse_entries,
    read_entries_file,
)

from .conftest import EXAMPLES


@pytest.mark.parametrize(
    ("text", "source", "expected"),
    [
        ('[[models]]\nid = "a"', "<stdin>", "toml"),
        ("# comment\n[[models]]", "<stdin>", "toml"),
        ("[models]\n", "<stdin>", "toml"),
        ('  [ {"id": "a"} ]', "<stdin>", "json"),
        ("[\n  {", "<stdin>", "json"),
        ("[]", "<stdin>", "json"),
        ('{"models": []}', "<stdin>", "json"),
        ("\ufeff{}", "<stdin>", "json"),
        ("[]", "list.toml", "toml"),
        ('[[models]]\nid = "a"', "list.JSON", "json"),
    ],
)
def test_detect_format(text: str, source: str, expected: str) -> None:
    assert detect_format(text, source) == expected


def test_the_example_file_reads_as_the_four_models() -> None:
    listed = read_entries_file(EXAMPLES)
    assert [item.entry.id for item in listed] == ["tinyllama", "qwen-0.5b", "phi3", "mistral"]
    first = listed[0]
    assert first.entry == ModelEntry(
        id="tinyllama",
        name="TinyLlama 1.1B Chat",
        architecture="llama",
        metadata={
            "repo": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
            "context_length": 2048,
            "vocab_size": 32000,
        },
    )
    assert first.given == {
        "id",
        "name",
        "architecture",
        "metadata.repo",
        "metadata.context_length",
        "metadata.vocab_size",
    }


def test_toml_and_json_give_the_same_entries() -> None:
    from_toml = [item.entry for item in read_entries_file(EXAMPLES)]
    as_json = json.dumps([entry.to_dict() for entry in from_toml])
    assert [item.entry for item in parse_entries(as_json.encode())] == from_toml


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "<stdin>: the file is empty"),
        ("[[models]\n", "<stdin>: invalid TOML"),
        ('[{"id": ', "<stdin>: invalid JSON: Expecting value at line 1, column 9"),
        ('[{"id": "a', "<stdin>: invalid JSON: Unterminated string starting at line 1, column 9"),
        ('[[model]]\nid = "a"\n', "unknown top-level key 'model'"),
        ('title = "x"\n', "unknown top-level key 'title'"),
        ("# nothing but a comment\n", "no [[models]] tables"),
        ('{"entries": []}', "expected a list of models or an object with 'models'"),
        ('{"models": {}}', "'models' must be a list"),
        ('{"models": [1]}', "entry 1: expected a table of fields"),
        # "[1]" is also a TOML table header, but JSON is what a list like it means.
        ("[1]", "entry 1: expected a table of fields"),
        ("[models]\n", "'models' must be an array of [[models]] tables"),
        ('[{"id": "a", "name": "A"}]', "entry 1 ('a'): field 'architecture' is missing"),
        (
            '[{"id": "a", "name": "A", "architecture": "llama", "sise_gb": 1}]',
            "entry 1 ('a'): unknown field 'sise_gb'",
        ),
        (
            '[{"id": "a", "name": "A", "architecture": "llama", "size_gb": -1}]',
            "entry 1 ('a'): field 'size_gb': must be a finite number >= 0",
        ),
        (
            '[{"id": "a", "name": "A", "architecture": "llama", "downloaded": "yes"}]',
            "field 'downloaded': must be true or false",
        ),
        (
            '[{"id": "a", "name": "A", "architecture": "llama"},'
            ' {"id": "a", "name": "B", "architecture": "llama"}]',
            "entry 2 ('a'): id 'a' is already used by entry 1",
        ),
        ('[{"id": "../a", "name": "A", "architecture": "llama"}]', "field 'id'"),
    ],
)
def test_bad_lists_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(EntriesFileError) as error:
        parse_entries(text.encode())
    assert message in str(error.value)


def test_non_utf8_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(EntriesFileError, match="not UTF-8"):
        parse_entries(b"\xff\xfe[[models]]")
    with pytest.raises(EntriesFileError, match="cannot read the file"):
        read_entries_file(tmp_path / "missing.toml")


def test_conflicts_only_count_the_fields_a_list_gives() -> None:
    registered = ModelEntry(
        id="m",
        name="M",
        architecture="llama",
        downloaded=True,
        size_gb=2.0,
        metadata={"repo": "o/r"},
    )
    listed = parse_entries(b'[[models]]\nid = "m"\nname = "M"\narchitecture = "llama"\n')[0]
    assert isinstance(listed, ListedEntry)
    assert differing_fields(registered, listed.entry) == ["size_gb", "downloaded", "metadata.repo"]
    assert listed.conflicts_with(registered) == []
    renamed = parse_entries(b'[[models]]\nid = "m"\nname = "N"\narchitecture = "llama"\n')[0]
    assert renamed.conflicts_with(registered) == ["name"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # JSON on stdin that its first characters did not give away: its real problem is named.
        ("[1, 2]", "<stdin>: entry 1: expected a table of fields"),
        ('[["tinyllama"]]', "<stdin>: entry 1: expected a table of fields"),
        ('[\t"x"]', "<stdin>: entry 1: expected a table of fields"),
        # Neither TOML nor JSON: the TOML error, as before.
        ('[ "x", ', "<stdin>: invalid TOML"),
        ("[models\n", "<stdin>: invalid TOML"),
    ],
)
def test_json_that_looked_like_toml_is_read_as_json(text: str, message: str) -> None:
    with pytest.raises(EntriesFileError) as caught:
        parse_entries(text)
    assert str(caught.value).startswith(message)


def test_a_toml_file_is_never_read_as_json(tmp_path: Path) -> None:
    listing = tmp_path / "models.toml"
    listing.write_text("[1, 2]")
    with pytest.raises(EntriesFileError, match="invalid TOML"):
        read_entries_file(listing)
