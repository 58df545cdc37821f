"""argparse, made to keep the CLIs' error contract: a usage error is one `error: ...` line.

argparse's own `error` prints the usage block and `prog: error: ...` on stderr; scripts (and
llorch, which relays a pool's stderr) rely on exactly one `error: ...` line, so this parser
prints that and points at `--help` instead.

This is the one module that touches argparse's private names (`_SubParsersAction`, `_actions`,
`_StoreConstAction`, ...): everything else (help documents, completion scripts, llorch's
forwarding of options) goes through the public helpers below, so a change in argparse's
internals is fixed here once. Nothing here replaces a name inside argparse.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from rbee.cli import exitcodes

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, NoReturn

if TYPE_CHECKING:
    SubParsersAction = argparse._SubParsersAction[Any]
else:
    SubParsersAction = argparse._SubParsersAction
"""The class of `parser.add_subparsers()`'s action (for annotations and `isinstance`)."""
MutuallyExclusiveGroup = argparse._MutuallyExclusiveGroup
"""The class of `parser.add_mutually_exclusive_group()` (for annotations)."""

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

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        # An unknown sub-command lists the choices `--help` lists: plumbing sub-commands
        # (added without `help=`, e.g. `send`, `receive`, `report`) stay out of sight.
        if isinstance(action, argparse._SubParsersAction) and value not in action.choices:
            listed = [choice.dest for choice in action._choices_actions] or list(action.choices)
            choices = ", ".join(map(repr, listed))
            raise argparse.ArgumentError(
                action, f"invalid choice: {value!r} (choose from {choices})"
            )
        super()._check_value(action, value)


class LazySubParsersAction(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Sub-commands whose arguments are added only when that sub-command is chosen.

    Building every option of every command costs start-up time that one run never uses; the
    listing in `--help` needs only names and summaries, which `add_parser` records at once.
    `add_deferred_parser` goes further: the sub-command's parser itself is only built when it is
    chosen (or read through `subcommands`), which saves a dozen parsers per run of rbee-hive.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._populate: dict[str, Callable[[argparse.ArgumentParser], None]] = {}
        self._deferred: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}

    def add_deferred_parser(
        self,
        name: str,
        populate: Callable[[argparse.ArgumentParser], None],
        *,
        defaults: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """`add_lazy_parser`, building the parser itself only when it is needed.

        `defaults` are set on it then (`set_defaults`); `help` is listed at once.
        """
        if name in self._name_parser_map:
            raise ValueError(f"conflicting subparser: {name}")
        if kwargs.get("prog") is None:
            kwargs["prog"] = f"{self._prog_prefix} {name}"
        if "help" in kwargs:
            self._choices_actions.append(self._ChoicesPseudoAction(name, (), kwargs.pop("help")))
        # The name is a valid choice from now on; its parser is built by `_build`.
        self._name_parser_map[name] = None
        self._deferred[name] = (kwargs, defaults or {})
        self._populate[name] = populate

    def _build(self, name: str) -> None:
        deferred = self._deferred.pop(name, None)
        if deferred is not None:
            kwargs, defaults = deferred
            parser = self._parser_class(**kwargs)
            parser.set_defaults(**defaults)
            self._name_parser_map[name] = parser

    def build_all(self) -> None:
        """Build every deferred sub-command parser (without populating it)."""
        for name in list(self._deferred):
            self._build(name)

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
        self._build(name)
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


# -- reading a built parser (help documents, completion, llorch's forwarding) -------------------


def parser_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Every argument `parser` takes (options, positionals, sub-command actions), in order."""
    return list(parser._actions)


def subcommands(
    parser: argparse.ArgumentParser, *, listed_only: bool = True
) -> list[tuple[str, argparse.ArgumentParser]]:
    """(name, parser) of each sub-command of `parser`, in order.

    `listed_only`: only those `--help` lists; plumbing commands, added without `help=`, are
    left out (aliases too).
    """
    found: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, LazySubParsersAction):
            action.build_all()
        if isinstance(action, argparse._SubParsersAction):
            listed = {choice.dest for choice in action._choices_actions}
            for name, child in action.choices.items():
                if name in listed or not listed_only:
                    found.append((name, child))
    return found


def subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The sub-command parser `name` of `parser` (listed or not); `KeyError` if none."""
    for found, child in subcommands(parser, listed_only=False):
        if found == name:
            return child
    raise KeyError(name)


def is_subcommands(action: argparse.Action) -> bool:
    """Whether `action` is a parser's sub-commands (what `add_subparsers` returns)."""
    return isinstance(action, argparse._SubParsersAction)


def action_kind(action: argparse.Action) -> str:
    """What an action does with its option: `const` (store_const, store_true, store_false),
    `count`, `append`, `append_const`, `help`, `version`, `subcommands`, else `store`."""
    kinds: tuple[tuple[type[argparse.Action], str], ...] = (
        (argparse._SubParsersAction, "subcommands"),
        (argparse._StoreConstAction, "const"),
        (argparse._CountAction, "count"),
        (argparse._AppendConstAction, "append_const"),
        (argparse._AppendAction, "append"),
        (argparse._HelpAction, "help"),
        (argparse._VersionAction, "version"),
    )
    for cls, kind in kinds:
        if isinstance(action, cls):
            return kind
    return "store"
