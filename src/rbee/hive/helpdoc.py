"""Keep the `--help` references in the docs identical to the real `--help` output: rbee-hive's
in docs/cli.md, llorch's in docs/remote.md.

    python -m rbee.hive.helpdoc docs/cli.md docs/remote.md          # rewrite the generated parts
    python -m rbee.hive.helpdoc --check docs/cli.md docs/remote.md  # exit 1 + a diff when stale

The generated part lies between a begin marker that names the program's document
(`begin_marker(prog)`) and `END_MARKER`: one section per command, each the command's `--help`
at a fixed width (`COLUMNS=HELP_COLUMNS`), so the text does not depend on the terminal it was
generated in. Which program a document describes is told by the marker it holds.
"""

from __future__ import annotations

import argparse
import os
import sys

from rbee.cli.parsing import subcommand, subcommands

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable

PROGRAMS = {"rbee-hive": "docs/cli.md", "llorch": "docs/remote.md"}
"""Each program, and the document holding its `--help` reference."""
DEFAULT_PROG = "rbee-hive"
END_MARKER = "<!-- END GENERATED HELP -->"
HELP_COLUMNS = "100"


def begin_marker(prog: str = DEFAULT_PROG) -> str:
    """Where the generated part of `prog`'s document begins (it says how to regenerate it)."""
    return f"<!-- BEGIN GENERATED HELP: python -m rbee.hive.helpdoc {PROGRAMS[prog]} -->"


BEGIN_MARKER = begin_marker()


def build_parser(prog: str = DEFAULT_PROG) -> argparse.ArgumentParser:
    """`prog`'s whole parser, every subcommand's arguments added."""
    builder: Callable[..., argparse.ArgumentParser]
    if prog == "llorch":
        from rbee.keeper.cli import build_parser as builder
    else:
        from rbee.hive.arguments import build_parser as builder
    return builder(lazy=False)


def command_paths(prog: str = DEFAULT_PROG) -> list[list[str]]:
    """Every command with its own `--help`, as argument lists (`[]` is the program itself)."""
    paths: list[list[str]] = []

    def visit(path: list[str], parser: argparse.ArgumentParser) -> None:
        paths.append(path)
        # Plumbing commands have no help line: left out.
        for name, child in subcommands(parser, listed_only=True):
            visit([*path, name], child)

    visit([], build_parser(prog))
    return paths


def help_text(path: list[str], prog: str = DEFAULT_PROG) -> str:
    """What `PROG PATH... --help` prints with COLUMNS=HELP_COLUMNS."""
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        parser = build_parser(prog)
        for name in path:
            parser = _subparser(parser, name)
        return parser.format_help()
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    return subcommand(parser, name)


def section(path: list[str], text: str, prog: str = DEFAULT_PROG) -> str:
    command = " ".join([prog, *path])
    return f"### `{command}`\n\n```text\n$ {command} --help\n{text.rstrip()}\n```\n"


def generated_block(prog: str = DEFAULT_PROG) -> str:
    sections = [section(path, help_text(path, prog), prog) for path in command_paths(prog)]
    return begin_marker(prog) + "\n\n" + "\n".join(sections) + "\n" + END_MARKER


def sections_in(document: str, prog: str = DEFAULT_PROG) -> dict[str, str]:
    """The `--help` texts recorded in a document, by command (for the test's comparison)."""
    found: dict[str, str] = {}
    start, end = _block_bounds(document, prog)
    block = document[start:end]
    for part in block.split("```text\n$ ")[1:]:
        first_line, _, rest = part.partition("\n")
        command = first_line.removesuffix(" --help")
        found[command] = rest.split("\n```", 1)[0] + "\n"
    return found


def _block_bounds(document: str, prog: str = DEFAULT_PROG) -> tuple[int, int]:
    begin = begin_marker(prog)
    start = document.find(begin)
    end = document.find(END_MARKER, max(start, 0))
    if start < 0 or end < start:
        raise ValueError(f"the document lacks the markers {begin!r} ... {END_MARKER!r}")
    return start, end + len(END_MARKER)


def program_of(document: str) -> str:
    """The program whose reference `document` holds, told by its begin marker."""
    for prog in PROGRAMS:
        if begin_marker(prog) in document:
            return prog
    markers = " or ".join(repr(begin_marker(prog)) for prog in PROGRAMS)
    raise ValueError(f"the document lacks a begin marker ({markers})")


def regenerate(document: str, prog: str | None = None) -> str:
    prog = prog or program_of(document)
    start, end = _block_bounds(document, prog)
    return document[:start] + generated_block(prog) + document[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rbee.hive.helpdoc",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "files",
        metavar="FILE",
        nargs="+",
        help="a Markdown file holding the markers (docs/cli.md, docs/remote.md)",
    )
    parser.add_argument("--check", action="store_true", help="only report a stale file")
    args = parser.parse_args(argv)
    status = 0
    for path in args.files:
        status = max(status, _update(path, check=args.check))
    return status


def _update(path: str, *, check: bool) -> int:
    with open(path, encoding="utf-8") as file:
        document = file.read()
    updated = regenerate(document)
    if check:
        if updated != document:
            import difflib

            sys.stdout.writelines(
                difflib.unified_diff(
                    document.splitlines(keepends=True),
                    updated.splitlines(keepends=True),
                    path,
                    "generated",
                )
            )
            print(f"\n{path} is stale: run python -m rbee.hive.helpdoc {path}")
            return 1
        return 0
    if updated != document:
        with open(path, "w", encoding="utf-8") as file:
            file.write(updated)
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
