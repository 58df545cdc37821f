"""rbee.hive.arguments: what llorch imports to offer rbee-hive's options remotely."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

import rbee.hive.arguments as hive_arguments
from rbee.cli.parsing import ArgumentParser
from rbee.hive import entry_options


def test_choices_are_the_catalogs_own() -> None:
    from rbee.catalog import BACKENDS, FORMATS

    assert entry_options.BACKEND_CHOICES == BACKENDS
    assert entry_options.FORMAT_CHOICES == FORMATS


def test_importing_the_arguments_costs_no_catalog_import() -> None:
    code = (
        "import sys, rbee.hive.arguments as a; a.build_parser(lazy=False); "
        "print(sorted(m for m in sys.modules if m.startswith('rbee.catalog') or m == 'typing'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_each_subcommand_builds_on_any_parser() -> None:
    names = [subcommand.name for subcommand in hive_arguments.models_subcommands()]
    assert names[:5] == ["catalog", "register", "unregister", "show", "update"]
    for subcommand in hive_arguments.models_subcommands():
        parser = argparse.ArgumentParser(prog=f"llorch pool models {subcommand.name}")
        parser.add_argument("--host")
        subcommand.add_arguments(parser)
        assert hive_arguments.get_subcommand(subcommand.name) is subcommand
        assert ":" in subcommand.handler
    with pytest.raises(KeyError):
        hive_arguments.get_subcommand("nope")


def test_register_arguments_parse_the_seed_command() -> None:
    parser = argparse.ArgumentParser()
    hive_arguments.add_register_arguments(parser)
    args = parser.parse_args(
        ["qwen-0.5b", "--name", "Qwen2.5 0.5B Instruct", "--repo", "Qwen/Qwen2.5-0.5B-Instruct",
         "--architecture", "qwen", "--backend", "cpu", "--backend", "cuda"]
    )  # fmt: skip
    assert (args.id, args.name, args.architecture, args.backends) == (
        "qwen-0.5b",
        "Qwen2.5 0.5B Instruct",
        "qwen",
        ["cpu", "cuda"],
    )


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    parser = ArgumentParser(prog="rbee-hive models show")
    hive_arguments.add_show_arguments(parser)
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args([])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        "error: rbee-hive models show: the following arguments are required: ID "
        "(see 'rbee-hive models show --help')\n"
    )


def test_the_lazy_parser_accepts_what_the_full_one_does() -> None:
    argv = [
        "--root",
        "/r",
        "models",
        "register",
        "m",
        "--name",
        "M",
        "--arch",
        "llama",
        "--color",
        "never",
    ]
    lazy = hive_arguments.build_parser().parse_args(argv)
    full = hive_arguments.build_parser(lazy=False).parse_args(argv)
    assert vars(lazy) == vars(full)
    assert lazy.root == "/r"
    assert lazy.color == "never"
    assert lazy.handler.endswith("register:run")


def test_every_command_help_ends_with_examples_that_parse() -> None:
    import shlex

    from rbee.hive.helpdoc import help_text

    for subcommand in hive_arguments.models_subcommands():
        assert subcommand.examples, subcommand.name
        text = help_text(["models", subcommand.name])
        assert "\nexamples:\n" in text
        for example in subcommand.examples:
            assert example in text
            # The rbee-hive part of each example (before a pipe or redirection) is valid.
            words = shlex.split(example.replace("\\\n", " "), comments=True)
            assert words[0] == "rbee-hive"
            words = words[1 : next((i for i, w in enumerate(words) if w in ("|", "<")), len(words))]
            args = hive_arguments.build_parser().parse_args(words)
            assert args.models_command == subcommand.name, example
    # The first example works anywhere (not only in a checkout, as examples/... would).
    for path in ([], ["models"], ["models", "register"]):
        assert "\nexamples:\n  rbee-hive models register --test-models\n" in help_text(path)
        assert "examples/" not in help_text(path).split("\nexamples:\n")[1]
    assert "\nexamples:\n  rbee-hive completion bash > " in help_text(["completion"])
