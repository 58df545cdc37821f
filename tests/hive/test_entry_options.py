"""The one table of entry fields as options, and argparse's private names kept in one module."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from rbee.catalog.model import ENTRY_FIELDS, ModelEntry, record_fields
from rbee.cli.parsing import parser_actions, subcommand
from rbee.hive import arguments
from rbee.hive.entry_options import ENTRY_OPTIONS, FIELD_LABELS, entry_values
from tests.hive.conftest import HiveRunner

SRC = Path(__file__).resolve().parents[2] / "src"
TESTS = Path(__file__).resolve().parents[1]

# The fields a user sets by hand: the entry's own (not id, which names it, nor metadata, which
# is its keys, nor record, which the workflows write) and the metadata keys rbee knows.
_METADATA_KEYS = dict(record_fields(ModelEntry))["metadata"].metadata["constraints"]["properties"]
HAND_SET = {name for name in ENTRY_FIELDS if name not in ("id", "metadata")} | {
    f"metadata.{key}" for key in _METADATA_KEYS
}


def _parser(add: object) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add(parser)  # type: ignore[operator]
    return parser


def _dests(parser: argparse.ArgumentParser) -> set[str]:
    return {action.dest for action in parser_actions(parser) if action.option_strings}


def test_every_hand_set_field_has_exactly_one_option() -> None:
    fields = [option.field for option in ENTRY_OPTIONS]
    assert sorted(fields) == sorted(HAND_SET)
    assert len(set(fields)) == len(fields)
    flags = [option.flag for option in ENTRY_OPTIONS]
    assert len(set(flags)) == len(flags)
    assert "--parameters" in flags


@pytest.mark.parametrize("add", [arguments.add_register_arguments, arguments.add_update_arguments])
def test_register_and_update_take_every_option_of_the_table(add: object) -> None:
    parser = _parser(add)
    strings = {s for action in parser_actions(parser) for s in action.option_strings}
    for option in ENTRY_OPTIONS:
        assert {option.flag, *option.aliases} <= strings, option
        assert option.dest in _dests(parser)


def test_the_table_reads_the_parsed_options_back() -> None:
    parser = _parser(arguments.add_update_arguments)
    args = parser.parse_args(
        ["x", "--name", "N", "--backend", "cpu", "--backend", "cpu", "--not-downloaded",
         "--parameters", "7", "--clear-repo"]
    )  # fmt: skip
    assert entry_values(args) == (
        {"name": "N", "backends": ["cpu"], "downloaded": False},
        {"repo": None, "parameters": 7},
    )


def test_show_labels_come_from_the_table(
    hive: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    hive.call(
        "models", "register", "m", "--name", "M", "--architecture", "llama", "--parameters",
        "1100000000", "--vocab-size", "32000", capsys=capsys,
    )  # fmt: skip
    out = hive.call("--color", "never", "models", "show", "m", capsys=capsys).out
    labels = [line.split("  ")[0] for line in out.splitlines()]
    for field in ("id", "name", "path", "format", "size_gb", "architecture", "downloaded"):
        assert FIELD_LABELS[field] in labels
    assert FIELD_LABELS["metadata.parameters"] in labels
    assert "1.10B (1,100,000,000)" in out


def test_llorch_offers_the_same_options() -> None:
    from rbee.keeper.cli import build_parser

    llorch = build_parser(lazy=False)
    models = subcommand(subcommand(llorch, "pool"), "models")
    for name in ("register", "update"):
        remote = subcommand(models, name)
        strings = {s for action in parser_actions(remote) for s in action.option_strings}
        assert {option.flag for option in ENTRY_OPTIONS} <= strings
    register = subcommand(models, "register")
    assert {"--test-models", "--update"} <= {
        s for action in parser_actions(register) for s in action.option_strings
    }


# argparse's private names: attribute access `argparse._X` / `._actions` and friends.
_PRIVATE = re.compile(
    r"argparse\._[A-Za-z]|\._(actions|choices_actions|name_parser_map|option_string_actions|"
    r"registries|subparsers|mutually_exclusive_groups|action_groups|group_actions)\b"
)
_PATCH = re.compile(r"^\s*argparse\.[A-Za-z_]+\s*=", re.MULTILINE)


def test_argparse_private_names_are_used_in_rbee_cli_parsing_only() -> None:
    offenders: list[str] = []
    for root in (SRC, TESTS):
        for path in root.rglob("*.py"):
            if path == SRC / "rbee" / "cli" / "parsing.py" or path == Path(__file__):
                continue
            text = path.read_text(encoding="utf-8")
            offenders.extend(f"{path}: {m.group(0)}" for m in _PRIVATE.finditer(text))
    assert offenders == []


def test_nothing_replaces_a_name_inside_argparse() -> None:
    offenders = [
        str(path)
        for path in SRC.rglob("*.py")
        if _PATCH.search(path.read_text(encoding="utf-8"))
        or "setattr(argparse" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
    import rbee.hive.cli
    import rbee.keeper.cli  # noqa: F401

    assert argparse._ is __import__("gettext").gettext  # type: ignore[attr-defined]
