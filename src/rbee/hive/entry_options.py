"""The one table of a catalog entry's fields as command-line options.

Each field that a user sets by hand is declared here once: the entry field it sets (`name`, or
`metadata.context_length`), its flag, its value type, whether it is metadata, its help and its
label. `register` and `update` add their options from this table (`add_entry_options`), read
the parsed values back through it (`entry_values`), `show` labels the entry's fields with it,
and llorch offers the same options because it builds its `pool models register|update` from
the same `add_<name>_arguments` functions.

Cheap to import (argparse only, no catalog): parsers are built at every start-up.
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# The catalog's own constants, repeated so that building a parser does not import rbee.catalog
# (start-up time); a test checks they are the same.
FORMAT_CHOICES = ("safetensors", "gguf")
BACKEND_CHOICES = ("cpu", "metal", "cuda", "rocm", "vulkan")

REGISTER = "register"
UPDATE = "update"


class EntryOption:
    """One entry field as an option (a plain class: a NamedTuple costs start-up time).

    `kind`: `value` (one value), `append` (repeat for a list: `--backend`) or `flag`
    (`--downloaded` / `--not-downloaded`). `default`: register's default, for the help.
    Metadata options get `--clear-<name>` on `update`, which removes the key.
    """

    __slots__ = (
        "aliases",
        "choices",
        "default",
        "field",
        "flag",
        "help",
        "kind",
        "label",
        "metavar",
        "type",
    )

    def __init__(
        self,
        field: str,
        flag: str,
        help: str,
        label: str,
        *,
        aliases: tuple[str, ...] = (),
        metavar: str | None = None,
        type: Callable[[str], Any] | None = None,
        kind: str = "value",
        choices: tuple[str, ...] | None = None,
        default: str | None = None,
    ) -> None:
        self.field = field
        self.flag = flag
        self.help = help
        self.label = label
        self.aliases = aliases
        self.metavar = metavar
        self.type = type
        self.kind = kind
        self.choices = choices
        self.default = default

    @property
    def metadata(self) -> bool:
        """Whether the option sets a key of the entry's `metadata`."""
        return self.field.startswith("metadata.")

    @property
    def key(self) -> str:
        """The entry field, or the metadata key, the option sets."""
        return self.field.removeprefix("metadata.")

    @property
    def dest(self) -> str:
        """The attribute of the parsed namespace (the field's, or the metadata key's, name)."""
        return self.key

    @property
    def clear_flag(self) -> str | None:
        """`update`'s option that removes the metadata key (`--clear-quantization`)."""
        return "--clear-" + self.flag.removeprefix("--") if self.metadata else None

    @property
    def clear_dest(self) -> str | None:
        return "clear_" + self.key if self.metadata else None

    def __repr__(self) -> str:
        return f"EntryOption({self.field!r}, {self.flag!r})"


ENTRY_OPTIONS: tuple[EntryOption, ...] = (
    EntryOption("name", "--name", "human-readable name", "Name", metavar="NAME"),
    EntryOption(
        "metadata.repo",
        "--repo",
        "Hugging Face repo id (metadata.repo)",
        "Repo",
        metavar="OWNER/NAME",
    ),
    EntryOption(
        "architecture",
        "--architecture",
        "architecture, e.g. llama, qwen2, phi3",
        "Architecture",
        aliases=("--arch",),
        metavar="ARCH",
    ),
    EntryOption(
        "format",
        "--format",
        "file format",
        "Format",
        choices=FORMAT_CHOICES,
        default="safetensors",
    ),
    EntryOption(
        "backends",
        "--backend",
        "a backend the model runs on; repeat for several",
        "Backends",
        kind="append",
        choices=BACKEND_CHOICES,
        default="cpu, metal and cuda",
    ),
    EntryOption(
        "path",
        "--path",
        "where the model's files are: relative to the pool's root (no '..'), or absolute",
        "Path",
        metavar="PATH",
        default=".test-models/ID",
    ),
    EntryOption(
        "size_gb",
        "--size-gb",
        "size on disk in GB",
        "Size",
        metavar="GB",
        type=float,
        default="0.0",
    ),
    EntryOption(
        "downloaded",
        "--downloaded",
        "mark the model's files as downloaded",
        "Downloaded",
        kind="flag",
    ),
    EntryOption(
        "metadata.context_length",
        "--context-length",
        "metadata.context_length",
        "Context length",
        metavar="N",
        type=int,
    ),
    EntryOption(
        "metadata.vocab_size",
        "--vocab-size",
        "metadata.vocab_size",
        "Vocab size",
        metavar="N",
        type=int,
    ),
    EntryOption(
        "metadata.quantization",
        "--quantization",
        "metadata.quantization, e.g. Q4_K_M",
        "Quantization",
        metavar="TEXT",
    ),
    EntryOption(
        "metadata.parameters",
        "--parameters",
        "metadata.parameters, the parameter count, e.g. 1100000000",
        "Parameters",
        metavar="N",
        type=int,
    ),
)
"""Every entry field a user sets with an option, in the order `--help` lists them."""

FIELD_LABELS = {
    "id": "ID",
    **{option.field: option.label for option in ENTRY_OPTIONS},
}
"""`show`'s label of each field (`metadata.<key>` for metadata), from the table."""


def add_entry_options(parser: argparse.ArgumentParser, purpose: str) -> None:
    """The table's options on `parser`, worded for `register` or `update` (`purpose`)."""
    updating = purpose == UPDATE
    change = "new " if updating else ""
    for option in ENTRY_OPTIONS:
        if option.kind == "flag":
            _add_flag(parser, option, updating)
            continue
        help_text = change + option.help if option.kind == "value" else option.help
        if option.kind == "append" and updating:
            help_text += " (replaces the list)"
        elif option.default is not None and not updating:
            help_text += f" (default: {option.default})"
        kwargs: dict[str, Any] = {"dest": option.dest, "help": help_text}
        if option.kind == "append":
            kwargs["action"] = "append"
        if option.metavar is not None:
            kwargs["metavar"] = option.metavar
        if option.type is not None:
            kwargs["type"] = option.type
        if option.choices is not None:
            kwargs["choices"] = option.choices
        parser.add_argument(option.flag, *option.aliases, **kwargs)
    if updating:
        for option in ENTRY_OPTIONS:
            if option.clear_flag is not None:
                parser.add_argument(
                    option.clear_flag,
                    dest=option.clear_dest,
                    action="store_true",
                    help=f"remove {option.field}",
                )


def _add_flag(parser: argparse.ArgumentParser, option: EntryOption, updating: bool) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        option.flag, dest=option.dest, action="store_const", const=True, help=option.help
    )
    negative = "--not-" + option.flag.removeprefix("--")
    group.add_argument(
        negative,
        dest=option.dest,
        action="store_const",
        const=False,
        help=option.help.replace(" as ", " as not ", 1) + ("" if updating else " (default)"),
    )


def given_flags(args: argparse.Namespace) -> list[str]:
    """The table's options given on the command line, as their flags."""
    given = [
        option.flag for option in ENTRY_OPTIONS if getattr(args, option.dest, None) is not None
    ]
    given.extend(
        option.clear_flag
        for option in ENTRY_OPTIONS
        if option.clear_flag is not None and getattr(args, option.clear_dest or "", False)
    )
    return given


def entry_values(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """(entry fields, metadata keys) the options set; a metadata value None means `--clear-`."""
    fields: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    for option in ENTRY_OPTIONS:
        value = getattr(args, option.dest, None)
        cleared = option.clear_dest is not None and getattr(args, option.clear_dest, False)
        if cleared and value is not None:
            from rbee.cli.errors import UsageError

            raise UsageError(f"{option.flag} and {option.clear_flag} contradict each other")
        if option.kind == "append" and value is not None:
            value = list(dict.fromkeys(value))
        if option.metadata:
            if cleared:
                metadata[option.key] = None
            elif value is not None:
                metadata[option.key] = value
        elif value is not None:
            fields[option.key] = value
    return fields, metadata


__all__ = [
    "BACKEND_CHOICES",
    "ENTRY_OPTIONS",
    "FIELD_LABELS",
    "FORMAT_CHOICES",
    "EntryOption",
    "add_entry_options",
    "entry_values",
    "given_flags",
]
