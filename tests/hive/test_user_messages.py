"""Messages a new user meets: each says what really happened, where, in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rbee.catalog import ModelCatalog, ModelEntry, ModelExistsError

from .conftest import HiveRunner

LIST = """\
[[models]]
id = "d"
name = "D"
architecture = "llama"

[[models]]
id = "D"
name = "D again"
architecture = "llama"
"""


def test_a_case_duplicate_within_one_list_is_said_to_be_in_that_list(
    hive: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    (hive.pool / "models.toml").write_text(LIST)
    result = hive.call("models", "register", "--from", "models.toml", capsys=capsys)
    assert result.code == 1
    assert result.err == (
        "error: models.toml: entry 2 ('D'): id 'D' collides with 'd' (entry 1, earlier in this "
        "file; ids are unique ignoring case: they name folders on case-insensitive disks)\n"
    )
    assert "already in the catalog" not in result.err
    assert not hive.catalog.exists()


def test_the_library_says_earlier_in_the_same_list_too(tmp_path: Path) -> None:
    from rbee.workflows.register import register_models

    catalog = ModelCatalog.new("p")
    catalog.add_model(ModelEntry(id="a", name="A", architecture="llama"))
    pair = [
        ModelEntry(id="d", name="D", architecture="llama"),
        ModelEntry(id="D", name="D", architecture="llama"),
    ]
    with pytest.raises(ModelExistsError, match="'D' collides with 'd', earlier in the same list"):
        catalog.add_models(pair)
    with pytest.raises(ModelExistsError, match="'A' collides with 'a', already in the catalog"):
        catalog.add_models([ModelEntry(id="A", name="A", architecture="llama")])
    path = tmp_path / "catalog.json"
    with pytest.raises(ModelExistsError, match="earlier in the same list"):
        register_models(path, pair, pool_id="p")
    with pytest.raises(ModelExistsError, match="model 'd' is listed twice"):
        register_models(path, [pair[0], pair[0]], pool_id="p")
    assert not path.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('[{"id": "a", "name": "abc', "Unterminated string starting at line 1, column 22"),
        ('[\n{"id": "a" "name": 1}]', "Expecting ',' delimiter at line 2, column 12"),
    ],
)
def test_a_json_error_in_a_list_gives_line_and_column(
    hive: HiveRunner, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    (hive.pool / "models.json").write_text(content)
    result = hive.call("models", "register", "--from", "models.json", capsys=capsys)
    assert result.code == 1
    assert result.err == f"error: models.json: invalid JSON: {expected}\n"


def test_a_json_error_in_the_catalog_gives_line_and_column(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded.catalog.write_text('{\n  "version": "1.1",\n  "pool_id": "unterminated\n')
    result = seeded.call("models", "catalog", capsys=capsys)
    assert result.code == 1
    assert ":3:27: not a valid catalog: invalid JSON: Invalid control character at line 3, " in (
        result.err
    )
    seeded.catalog.write_text('{"pool_id": "abc')
    result = seeded.call("models", "catalog", capsys=capsys)
    assert "Unterminated string starting at line 1, column 13;" in result.err


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_an_empty_catalog_file_is_said_to_be_empty(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    seeded.catalog.write_text(content)
    result = seeded.call("models", "catalog", capsys=capsys)
    assert result.code == 1
    assert result.err.startswith(
        "error: .test-models/catalog.json: not a valid catalog: the file is empty; "
        "the file was left untouched"
    ), result.err
    assert "Expecting value" not in result.err
    assert seeded.catalog.read_text() == content


@pytest.mark.parametrize(
    ("prog", "argv", "hidden", "shown"),
    [
        ("rbee-hive", ["models", "nonsense"], ["'send'", "'receive'"], ["'catalog'", "'adopt'"]),
        ("rbee-hive", ["pool", "nonsense"], ["'report'"], ["'info'"]),
        ("rbee-hive", ["nonsense"], [], ["'models'", "'pool'", "'completion'"]),
        ("llorch", ["pool", "models", "nonsense"], ["'send'", "'receive'"], ["'catalog'"]),
    ],
)
def test_an_unknown_subcommand_lists_only_the_ones_help_lists(
    capsys: pytest.CaptureFixture[str],
    prog: str,
    argv: list[str],
    hidden: list[str],
    shown: list[str],
) -> None:
    if prog == "llorch":
        from rbee.keeper.cli import main
    else:
        from rbee.hive.cli import main
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "invalid choice: 'nonsense' (choose from " in err, err
    for name in shown:
        assert name in err, err
    for name in hidden:
        assert name not in err, err


def test_hidden_subcommands_still_run(hive: HiveRunner, capsys: pytest.CaptureFixture[str]) -> None:
    result = hive.call("pool", "report", "--json", capsys=capsys)
    assert result.code == 0, result.err
    assert isinstance(json.loads(result.out), dict)
