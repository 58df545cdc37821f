"""Keep the `--help` reference in docs/cli.md identical to the real `--help` output.

    python -m rbee.hive.helpdoc docs/cli.md          # rewrite the generated part
    python -m rbee.hive.helpdoc --check docs/cli.md  # exit 1 and show a diff when it is stale

The generated part lies between `BEGIN_MARKER` and `END_MARKER`: one section per command, each
the command's `--help` at a fixed width (`COLUMNS=HELP_COLUMNS`), so the text does not depend on
the terminal it was generated in.
"""

from __future__ import annotations

import argparse
import os
import sys

BEGIN_MARKER = "<!-- BEGIN GENERATED HELP: python -m rbee.hive.helpdoc docs/cli.md -->"
END_MARKER = "<!-- END GENERATED HELP -->"
HELP_COLUMNS = "100"


def command_paths() -> list[list[str]]:
    """Every command with its own `--help`, as argument lists (`[]` is `rbee-hive` itself)."""
    from rbee.hive.arguments import build_parser

    paths: list[list[str]] = []

    def visit(path: list[str], parser: argparse.ArgumentParser) -> None:
        paths.append(path)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    visit([*path, name], child)

    visit([], build_parser(lazy=False))
    return paths


def help_text(path: list[str]) -> str:
    """What `rbee-hive PATH... --help` prints with COLUMNS=HELP_COLUMNS."""
    from rbee.hive.arguments import build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        parser = build_parser(lazy=False)
        for name in path:
            parser = _subparser(parser, name)
        return parser.format_help()
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            child: argparse.ArgumentParser = action.choices[name]
            return child
    raise KeyError(name)


def section(path: list[str], text: str) -> str:
    command = " ".join(["rbee-hive", *path])
    return f"### `{command}`\n\n```text\n$ {command} --help\n{text.rstrip()}\n```\n"


def generated_block() -> str:
    sections = [section(path, help_text(path)) for path in command_paths()]
    return BEGIN_MARKER + "\n\n" + "\n".join(sections) + "\n" + END_MARKER


def sections_in(document: str) -> dict[str, str]:
    """The `--help` texts recorded in a document, by command (for the test's comparison)."""
    found: dict[str, str] = {}
    start, end = _block_bounds(document)
    block = document[start:end]
    for part in block.split("```text\n$ ")[1:]:
        first_line, _, rest = part.partition("\n")
        command = first_line.removesuffix(" --help")
        found[command] = rest.split("\n```", 1)[0] + "\n"
    return found


def _block_bounds(document: str) -> tuple[int, int]:
    start = document.find(BEGIN_MARKER)
    end = document.find(END_MARKER)
    if start < 0 or end < start:
        raise ValueError(f"the document lacks the markers {BEGIN_MARKER!r} ... {END_MARKER!r}")
    return start, end + len(END_MARKER)


def regenerate(document: str) -> str:
    start, end = _block_bounds(document)
    return document[:start] + generated_block() + document[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rbee.hive.helpdoc", description=__doc__)
    parser.add_argument("file", help="the Markdown file holding the markers (docs/cli.md)")
    parser.add_argument("--check", action="store_true", help="only report a stale file")
    args = parser.parse_args(argv)
    with open(args.file, encoding="utf-8") as file:
        document = file.read()
    updated = regenerate(document)
    if args.check:
        if updated != document:
            import difflib

            sys.stdout.writelines(
                difflib.unified_diff(
                    document.splitlines(keepends=True),
                    updated.splitlines(keepends=True),
                    args.file,
                    "generated",
                )
            )
            print(f"\n{args.file} is stale: run python -m rbee.hive.helpdoc {args.file}")
            return 1
        return 0
    if updated != document:
        with open(args.file, "w", encoding="utf-8") as file:
            file.write(updated)
        print(f"updated {args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
