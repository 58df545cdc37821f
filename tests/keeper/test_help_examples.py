"""Every `--help` of both CLIs, walked: llorch's have examples that are real command lines,
`--color` reads the same everywhere, plumbing options are hidden, and nothing cites the plan
the project started from (`seed`, `WU2.4`, `CP2`: words a user cannot look up)."""

from __future__ import annotations

import functools
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rbee.cli.options import COLOR_HELP
from rbee.hive.helpdoc import PROGRAMS, command_paths, help_text

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

ALL_HELP = [(prog, path) for prog in PROGRAMS for path in command_paths(prog)]
LLORCH_HELP = [path for prog, path in ALL_HELP if prog == "llorch"]


@functools.cache
def _help(prog: str, path: tuple[str, ...]) -> str:
    return help_text(list(path), prog)


def _id(item: object) -> str:
    return " ".join(item) if isinstance(item, list) else str(item)


def examples(text: str) -> list[str]:
    """The command lines of a help text's `examples:` section (continuation lines joined)."""
    if "\nexamples:\n" not in text:
        return []
    section = text.split("\nexamples:\n", 1)[1]
    lines: list[str] = []
    pending = ""
    for raw in section.splitlines():
        if not raw.startswith("  "):
            break
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        pending = ""
        lines.append(line)
    return lines


def command_words(example: str) -> list[str]:
    """The llorch words of an example: comments, redirections and `eval "$(...)"` removed."""
    inner = re.fullmatch(r'eval "\$\((.*)\)"(\s*#.*)?', example)
    if inner:
        example = inner.group(1)
    words = shlex.split(example, comments=True)
    for index, word in enumerate(words):
        if word in (">", ">>", "<", "|"):
            return words[:index]
    return words


@pytest.mark.parametrize(("prog", "path"), ALL_HELP, ids=_id)
def test_no_help_text_cites_the_original_plan(prog: str, path: list[str]) -> None:
    text = _help(prog, tuple(path))
    found = re.findall(r"(?i)\bseed\b|\bseed's|WU\d|CP\d", text)
    assert not found, f"{prog} {' '.join(path)} --help says {found}"


@pytest.mark.parametrize(("prog", "path"), ALL_HELP, ids=_id)
def test_color_has_one_wording_and_plumbing_is_hidden(prog: str, path: list[str]) -> None:
    text = _help(prog, tuple(path))
    flat = " ".join(text.split())
    # In the options list (not the usage line), always followed by the one wording.
    listed = re.findall(r"(?<!\[)--color \{auto,always,never\}", flat)
    assert len(listed) == flat.count("--color {auto,always,never} " + " ".join(COLOR_HELP.split()))
    assert "--from-name" not in text


@pytest.mark.parametrize("path", LLORCH_HELP, ids=_id)
def test_every_llorch_help_has_examples_that_parse(
    path: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from rbee.keeper.cli import build_parser

    text = _help("llorch", tuple(path))
    lines = examples(text)
    assert lines, f"llorch {' '.join(path)} --help has no examples"
    runnable = [words for words in map(command_words, lines) if words[:1] == ["llorch"]]
    assert runnable, lines
    for words in runnable:
        arguments = [word for word in words[1:] if word != "--help"]
        try:
            args = build_parser().parse_args(arguments)
        except SystemExit:
            pytest.fail(f"example {shlex.join(words)!r}: {capsys.readouterr().err.strip()}")
        # Examples stay within the command whose help shows them (after llorch's own options).
        while arguments[:1] in (["--pools"], ["--color"]):
            arguments = arguments[2:]
        assert arguments[: len(path)] == path, words
        assert args.handler
        for word in words:
            if word.startswith("examples/"):
                assert (REPO / word).is_file(), word


def test_the_example_extractor_reads_continuations_and_shell_syntax() -> None:
    text = 'usage: x\n\nexamples:\n  llorch a \\\n      --b c\n  eval "$(llorch d)"  # e\n'
    assert examples(text) == ["llorch a --b c", 'eval "$(llorch d)"  # e']
    assert command_words('eval "$(llorch d)"  # e') == ["llorch", "d"]
    assert command_words("llorch e > ~/f  # g") == ["llorch", "e"]


def test_color_help_is_the_shared_definition_in_both_parsers() -> None:
    from rbee.cli.parsing import parser_actions
    from rbee.hive.arguments import build_parser as hive_parser
    from rbee.keeper.cli import build_parser as llorch_parser

    for parser in (hive_parser(), llorch_parser()):
        helps = [a.help for a in parser_actions(parser) if "--color" in a.option_strings]
        assert helps == [COLOR_HELP]


def test_from_name_is_hidden_but_still_works(tmp_path: Path) -> None:
    # llorch sends a local --from file on stdin and names it with --from-name.
    catalog = tmp_path / "catalog.json"
    data = (REPO / "examples" / "test-models.toml").read_bytes()
    result = subprocess.run(
        [
            str(BIN / "rbee-hive"),
            "--catalog",
            str(catalog),
            "models",
            "register",
            "--from",
            "-",
            "--from-name",
            "models.toml",
            "-q",
        ],
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, b"")
    assert catalog.is_file()
    hive = [str(BIN / "rbee-hive"), "--catalog", str(catalog), "models", "register"]
    broken = subprocess.run(
        [*hive, "--from", "-", "--from-name", "broken.toml"],
        input=b"[[models]\n",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert broken.returncode == 1
    assert broken.stderr.startswith(b"error: broken.toml")


def test_main_returns_the_usage_error_code(capsys: pytest.CaptureFixture[str]) -> None:
    from rbee.keeper.cli import main

    assert main(["pool", "nonsense"]) == 2
    assert "error: llorch pool: argument" in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert "examples:" in capsys.readouterr().out
    assert main(["--version"]) == 0


@pytest.mark.ssh
def test_llorch_s_own_examples_run_against_real_pools(keeper: Any, tmp_path: Path) -> None:
    """The examples of llorch's own commands (not rbee-hive's, which rbee-hive's tests run) work
    as printed, against the suite's sshd pools `mac.home.arpa` and `workstation.home.arpa`;
    `~` is a home holding the example's other pools file."""
    (tmp_path / "lab-pools.toml").write_text(keeper.pools_file.read_text())
    lines = []
    for path in (["pool", "models"], [], ["pool"], ["pool", "list"], ["pool", "check"]):
        lines += [line for line in examples(_help("llorch", tuple(path))) if line not in lines]
    ran = 0
    for line in lines:
        words = command_words(line)
        if "--help" in words or words[:1] != ["llorch"]:
            continue
        words = [re.sub(r"^~/", f"{tmp_path}/", word) for word in words]  # as a shell would
        result = subprocess.run(
            [str(BIN / "llorch"), *words[1:]],
            cwd=REPO,
            env=keeper.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, (line, result.stderr)
        ran += 1
    assert ran >= 10
