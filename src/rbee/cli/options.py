"""Options both command-line programs take, defined once so `--help` says the same in both.

Imports only `rbee.cli.style` (start-up time): `rbee.hive.arguments` and `rbee.keeper.cli`
build their parsers from this before any command runs.
"""

from __future__ import annotations

from rbee.cli.style import COLOR_CHOICES

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    import argparse
    from typing import Any, Protocol

    class _Container(Protocol):
        """A parser or an argument group."""

        def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action: ...


COLOR_HELP = (
    "colour output: auto (on a terminal), always or never; beats NO_COLOR and FORCE_COLOR "
    "(default: those, else auto)"
)
"""The one wording of `--color` in `rbee-hive --help` and `llorch --help`."""


def add_color_option(parser: _Container, *, default: object = None) -> None:
    """`--color auto|always|never`, with its one help text.

    `default=argparse.SUPPRESS` on the parsers that accept it again after a subcommand, so that
    a `--color` given earlier on the line is not reset by a parser that did not see it.
    """
    parser.add_argument("--color", choices=COLOR_CHOICES, default=default, help=COLOR_HELP)
