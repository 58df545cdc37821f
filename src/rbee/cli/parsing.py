"""argparse, made to keep the CLIs' error contract: a usage error is one `error: ...` line.

argparse's own `error` prints the usage block and `prog: error: ...` on stderr; scripts (and
llorch, which relays a pool's stderr) rely on exactly one `error: ...` line, so this parser
prints that and points at `--help` instead.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable

from rbee.cli import exitcodes

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, NoReturn

# argparse translates each of its messages through gettext when a parser is built, and every
# look-up searches the disk for message catalogs again: about half of rbee-hive's parser set-up
# time. The translations cannot change during a run, so each is looked up once.
argparse._ = functools.lru_cache(maxsize=None)(argparse._)  # type: ignore[attr-defined]

HELP_WIDTH = 100
"""The widest `--help` gets; narrower terminals wrap it (argparse reads COLUMNS)."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps hand-wrapped descriptions and epilogs; caps the width at `HELP_WIDTH`."""

    def __init__(self, prog: str) -> None:
        import os

        try:
            columns = int(os.environ.get("COLUMNS", ""))
        except ValueError:
            columns = HELP_WIDTH
        width = max(min(columns, HELP_WIDTH) - 2, 40)
        super().__init__(prog, width=width, max_help_position=30)

    def _split_lines(self, text: str, width: int) -> list[str]:
        # Never break a line at a hyphen: `.test-models` and `--not-downloaded` stay whole.
        import textwrap

        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


class ArgumentParser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose usage errors are one `error: ...` line, exit 2."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        # No abbreviated options: `--cat` meaning `--catalog` today could mean something else
        # tomorrow, and scripts (and llorch) must get the same meaning forever.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        from rbee.cli.errors import report

        report(f"{self.prog}: {message} (see '{self.prog} --help')")
        sys.exit(exitcodes.USAGE)


class LazySubParsersAction(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Sub-commands whose arguments are added only when that sub-command is chosen.

    Building every option of every command costs start-up time that one run never uses; the
    listing in `--help` needs only names and summaries, which `add_parser` records at once.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._populate: dict[str, Callable[[argparse.ArgumentParser], None]] = {}

    def add_lazy_parser(
        self,
        name: str,
        populate: Callable[[argparse.ArgumentParser], None],
        **kwargs: Any,
    ) -> argparse.ArgumentParser:
        """`add_parser`, with `populate(parser)` called the first time `name` is chosen."""
        parser: argparse.ArgumentParser = self.add_parser(name, **kwargs)
        self._populate[name] = populate
        return parser

    def populate_all(self) -> None:
        """Add every sub-command's arguments now (for help documents and completion)."""
        for name in list(self._populate):
            self._populate_one(name)

    def _populate_one(self, name: str) -> None:
        populate = self._populate.pop(name, None)
        if populate is not None:
            populate(self._name_parser_map[name])

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        if isinstance(values, list) and values:
            self._populate_one(str(values[0]))
        super().__call__(parser, namespace, values, option_string)
