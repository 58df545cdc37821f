"""Every argument of `rbee-hive`, as functions that add them to any argparse parser.

This module imports only argparse, `rbee.cli.parsing` and `rbee.cli.style` (never the catalog
library) and does nothing when imported, so other programs can build the same options cheaply:
llorch offers each `rbee-hive models` subcommand remotely by calling the same
`add_<name>_arguments(parser)` on its own parser, and `models_subcommands()` lists them.

Adding a `models` subcommand: write `add_<name>_arguments` here and a module
`rbee.hive.commands.<name>` with `run(args, hive) -> int`, then add one `Subcommand(...)` line to
`MODELS_SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from rbee.cli.parsing import ArgumentParser, HelpFormatter, LazySubParsersAction
from rbee.cli.style import COLOR_CHOICES

PROG = "rbee-hive"
# The catalog's own constants, repeated so that building a parser does not import rbee.catalog
# (start-up time); a test checks they are the same.
FORMAT_CHOICES = ("safetensors", "gguf")
BACKEND_CHOICES = ("cpu", "metal", "cuda")


class Subcommand:
    """One `rbee-hive models <name>` command.

    `handler` is `module:function`, called as `function(args, hive) -> int` and imported only
    when the command runs. `examples` are `rbee-hive` command lines that `--help` ends with.
    (A plain class: a NamedTuple costs start-up time.)
    """

    __slots__ = ("add_arguments", "description", "examples", "handler", "name", "summary")

    def __init__(
        self,
        name: str,
        summary: str,
        description: str,
        add_arguments: Callable[[argparse.ArgumentParser], None],
        handler: str,
        *,
        examples: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.summary = summary
        self.description = description
        self.add_arguments = add_arguments
        self.handler = handler
        self.examples = examples

    def __repr__(self) -> str:
        return f"Subcommand({self.name!r}, handler={self.handler!r})"


# -- the options every command takes ------------------------------------------------------------


def add_global_arguments(parser: argparse.ArgumentParser, *, suppress_defaults: bool) -> None:
    """`--root`, `--catalog`, `--pool-id`, `--color`.

    They are accepted before `models` and again after the subcommand; the later parsers use
    `suppress_defaults` so that an option given early is not reset by a parser that did not see it.
    """
    default = argparse.SUPPRESS if suppress_defaults else None
    group = parser.add_argument_group("global options")
    group.add_argument(
        "--root",
        metavar="DIR",
        default=default,
        help="the pool's root directory (default: $RBEE_ROOT or the current directory)",
    )
    group.add_argument(
        "--catalog",
        metavar="PATH",
        default=default,
        help="the catalog file (default: $RBEE_CATALOG or ROOT/.test-models/catalog.json)",
    )
    group.add_argument(
        "--pool-id",
        metavar="NAME",
        default=default,
        help="the pool's name when a new catalog is created (default: $RBEE_POOL_ID or the "
        "host name)",
    )
    group.add_argument(
        "--color",
        choices=COLOR_CHOICES,
        default=default,
        help="colour output: auto (on a terminal), always or never; beats NO_COLOR and "
        "FORCE_COLOR (default: those, else auto)",
    )


def _add_json(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def _add_quiet(parser: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")


def _add_entry_fields(parser: argparse.ArgumentParser, *, for_update: bool) -> None:
    """The entry's fields as options; `register` and `update` share them."""
    change = "new " if for_update else ""
    parser.add_argument("--name", metavar="NAME", help=f"{change}human-readable name")
    parser.add_argument(
        "--repo", metavar="OWNER/NAME", help=f"{change}Hugging Face repo id (metadata.repo)"
    )
    parser.add_argument(
        "--architecture",
        "--arch",
        dest="architecture",
        metavar="ARCH",
        help=f"{change}architecture, e.g. llama, qwen2, phi3",
    )
    parser.add_argument(
        "--format",
        choices=FORMAT_CHOICES,
        help=f"{change}file format" + ("" if for_update else " (default: safetensors)"),
    )
    parser.add_argument(
        "--backend",
        dest="backends",
        action="append",
        choices=BACKEND_CHOICES,
        help="a backend the model runs on; repeat for several"
        + (" (replaces the list)" if for_update else " (default: cpu, metal and cuda)"),
    )
    parser.add_argument(
        "--path",
        metavar="PATH",
        help=f"{change}where the model's files are, relative to the pool's root"
        + ("" if for_update else " (default: .test-models/ID)"),
    )
    parser.add_argument(
        "--size-gb",
        metavar="GB",
        type=float,
        help=f"{change}size on disk in GB" + ("" if for_update else " (default: 0.0)"),
    )
    downloaded = parser.add_mutually_exclusive_group()
    downloaded.add_argument(
        "--downloaded",
        dest="downloaded",
        action="store_const",
        const=True,
        help="mark the model's files as downloaded",
    )
    downloaded.add_argument(
        "--not-downloaded",
        dest="downloaded",
        action="store_const",
        const=False,
        help="mark the model's files as not downloaded" + ("" if for_update else " (default)"),
    )
    parser.add_argument(
        "--context-length", metavar="N", type=int, help=f"{change}metadata.context_length"
    )
    parser.add_argument("--vocab-size", metavar="N", type=int, help=f"{change}metadata.vocab_size")
    parser.add_argument(
        "--quantization", metavar="TEXT", help=f"{change}metadata.quantization, e.g. Q4_K_M"
    )


# -- one function per `models` subcommand -------------------------------------------------------


def add_catalog_arguments(parser: argparse.ArgumentParser) -> None:
    """`models catalog`: filters and output modes."""
    filters = parser.add_argument_group("filters (all must match)")
    filters.add_argument(
        "--arch",
        "--architecture",
        dest="architecture",
        metavar="ARCH",
        help="only models of this architecture",
    )
    filters.add_argument(
        "--backend", choices=BACKEND_CHOICES, help="only models that run on this backend"
    )
    filters.add_argument("--format", choices=FORMAT_CHOICES, help="only models in this format")
    downloaded = filters.add_mutually_exclusive_group()
    downloaded.add_argument(
        "--downloaded",
        dest="downloaded",
        action="store_const",
        const=True,
        help="only downloaded models",
    )
    downloaded.add_argument(
        "--not-downloaded",
        dest="downloaded",
        action="store_const",
        const=False,
        help="only models not downloaded yet",
    )
    filters.add_argument(
        "--search",
        metavar="TEXT",
        help="only models whose id, name, architecture or repo contains TEXT (any case)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--json",
        action="store_true",
        help="print the catalog document (the file's schema, filters applied)",
    )
    output.add_argument("-q", "--quiet", action="store_true", help="print ids only, one per line")


def add_register_arguments(parser: argparse.ArgumentParser) -> None:
    """`models register`: one model from options, or many with `--from`."""
    parser.add_argument("id", metavar="ID", nargs="?", help="the model's id, e.g. tinyllama")
    _add_entry_fields(parser, for_update=False)
    parser.add_argument(
        "--from",
        dest="from_file",
        metavar="FILE",
        help="register every model listed in FILE (TOML or JSON; '-' reads stdin) instead",
    )
    parser.add_argument(
        "--from-name",
        metavar="NAME",
        help="with --from -: the file name to show in messages and to tell TOML from JSON by "
        "(llorch sends a local file on stdin under its own name)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--json", action="store_true", help='print {"registered": [...], "skipped": [...]}'
    )
    _add_quiet(output)


def add_unregister_arguments(parser: argparse.ArgumentParser) -> None:
    """`models unregister`: remove entries; never touches model files."""
    parser.add_argument("ids", metavar="ID", nargs="+", help="the ids to remove")
    parser.add_argument(
        "--missing-ok",
        action="store_true",
        help="report ids that are not in the catalog instead of failing",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--json", action="store_true", help='print {"unregistered": [...], "missing": [...]}'
    )
    _add_quiet(output)


def add_show_arguments(parser: argparse.ArgumentParser) -> None:
    """`models show`: one entry, every field."""
    parser.add_argument("id", metavar="ID", help="the model's id")
    _add_json(parser, "the entry (as the catalog file stores it)")


def add_update_arguments(parser: argparse.ArgumentParser) -> None:
    """`models update`: change fields of one entry in place."""
    parser.add_argument("id", metavar="ID", help="the model's id")
    _add_entry_fields(parser, for_update=True)
    parser.add_argument(
        "--clear-quantization",
        action="store_true",
        help="remove metadata.quantization",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--json",
        action="store_true",
        help='print {"updated": [...], "unchanged": [...], "changed": [fields]}',
    )
    _add_quiet(output)


def add_inspect_arguments(parser: argparse.ArgumentParser) -> None:
    """`models inspect`: read a model's file headers; the catalog is not touched."""
    parser.add_argument(
        "path",
        metavar="PATH",
        help="a .gguf or .safetensors file or a model directory (relative to the pool's root)",
    )
    _add_json(parser, "what the files say")


def add_scan_arguments(parser: argparse.ArgumentParser) -> None:
    """`models scan`: make entries true to the files on disk."""
    parser.add_argument(
        "ids", metavar="ID", nargs="*", help="the models to scan (default: every model)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would change; write nothing"
    )
    _add_json(parser, '{"dry_run": ..., "models": [{"id", "changes", "disagreements", ...}]}')


MODELS_SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "catalog",
        "show the catalog as a table",
        "Show the pool's catalog: the seed's table, or JSON, or ids.",
        add_catalog_arguments,
        "rbee.hive.commands.catalog:run",
        examples=(
            "rbee-hive models catalog",
            "rbee-hive models catalog --arch llama --not-downloaded",
            "rbee-hive models catalog --search qwen --json",
            "rbee-hive models catalog -q | xargs rbee-hive models scan --dry-run",
        ),
    ),
    Subcommand(
        "register",
        "add models to the catalog",
        "Add one model to the catalog (creating the catalog if there is none), or every model\n"
        "listed in a TOML or JSON file with --from. An entry that matches the registered one\n"
        "in every field it gives is skipped; one that gives a different value under a\n"
        "registered id is an error, and then nothing is registered.",
        add_register_arguments,
        "rbee.hive.commands.register:run",
        examples=(
            "rbee-hive models register tinyllama --name 'TinyLlama 1.1B Chat' \\\n"
            "      --repo TinyLlama/TinyLlama-1.1B-Chat-v1.0 --architecture llama",
            "rbee-hive models register phi3-q4 --name 'Phi-3 Q4' --architecture phi3 \\\n"
            "      --format gguf --backend cpu --backend metal --quantization Q4_K_M",
            "rbee-hive models register --from examples/test-models.toml",
            "rbee-hive models register --from - < models.json",
        ),
    ),
    Subcommand(
        "unregister",
        "remove models from the catalog",
        "Remove entries from the catalog. The model files are never deleted.\n"
        "All or nothing: an unknown id is an error and nothing is removed (unless --missing-ok).",
        add_unregister_arguments,
        "rbee.hive.commands.unregister:run",
        examples=(
            "rbee-hive models unregister phi3",
            "rbee-hive models unregister phi3 mistral --missing-ok",
        ),
    ),
    Subcommand(
        "show",
        "show every field of one model",
        "Show every field of one catalog entry.",
        add_show_arguments,
        "rbee.hive.commands.show:run",
        examples=(
            "rbee-hive models show tinyllama",
            "rbee-hive models show tinyllama --json",
        ),
    ),
    Subcommand(
        "update",
        "change fields of one model",
        "Change fields of one catalog entry in place; fields not given stay as they are.",
        add_update_arguments,
        "rbee.hive.commands.update:run",
        examples=(
            "rbee-hive models update qwen-0.5b --architecture qwen2",
            "rbee-hive models update phi3 --backend cpu --backend metal --clear-quantization",
            "rbee-hive models update mistral --downloaded --size-gb 14.5",
        ),
    ),
    Subcommand(
        "inspect",
        "read a model's file headers",
        "Read the headers of a GGUF or safetensors model (a file or a directory, with its\n"
        "config.json) and show what they say: format, architecture, context length, vocabulary,\n"
        "quantization, parameters, size. Only headers are read; the catalog is not touched.",
        add_inspect_arguments,
        "rbee.hive.commands.inspect:run",
        examples=(
            "rbee-hive models inspect .test-models/qwen-0.5b",
            "rbee-hive models inspect ~/models/phi-3-mini-q4.gguf --json",
        ),
    ),
    Subcommand(
        "scan",
        "make entries true to the files on disk",
        "Read each model's files (at its path under the pool's root) and update downloaded,\n"
        "size_gb, format and the metadata they reveal (context_length, vocab_size, quantization,\n"
        "parameters). name, architecture and backends are yours: where the files disagree,\n"
        "scan reports it and changes nothing. A model whose files are gone becomes not\n"
        "downloaded; its entry stays.",
        add_scan_arguments,
        "rbee.hive.commands.scan:run",
        examples=(
            "rbee-hive models scan --dry-run",
            "rbee-hive models scan qwen-0.5b phi3",
            "rbee-hive models scan --json",
        ),
    ),
)
"""The `models` subcommands, in the order `--help` lists them."""


def models_subcommands() -> tuple[Subcommand, ...]:
    """The `rbee-hive models` subcommands (name, summary, description, arguments, handler)."""
    return MODELS_SUBCOMMANDS


def get_subcommand(name: str) -> Subcommand:
    """The `models` subcommand called `name`; `KeyError` if there is none."""
    for subcommand in MODELS_SUBCOMMANDS:
        if subcommand.name == name:
            return subcommand
    raise KeyError(name)


# -- rbee-hive's own parser ---------------------------------------------------------------------

ENVIRONMENT_HELP = """\
environment:
  RBEE_ROOT      the pool's root directory (--root wins)
  RBEE_CATALOG   the catalog file (--catalog wins)
  RBEE_POOL_ID   the pool's name for a new catalog (--pool-id wins)
  NO_COLOR       no colour (--color wins); FORCE_COLOR: colour even when not a terminal
  RBEE_DEBUG=1   show a traceback on errors

exit codes: 0 success, 1 error (not found, exists, invalid, unreadable catalog, I/O),
            2 usage error, 130 interrupted

examples:
  rbee-hive models register --from examples/test-models.toml
  rbee-hive models catalog
  rbee-hive --root /srv/pool models scan --dry-run
  rbee-hive models SUBCOMMAND --help    (each subcommand's options and examples)"""


def examples_help(examples: tuple[str, ...]) -> str | None:
    """An `examples:` section for an epilog (None when there are none)."""
    if not examples:
        return None
    return "examples:\n" + "\n".join(f"  {example}" for example in examples)


def build_parser(*, lazy: bool = True) -> argparse.ArgumentParser:
    """The whole `rbee-hive` command line.

    With `lazy`, a command's arguments are added only when it is chosen (start-up time); help
    documents and completion scripts use `lazy=False` to see everything.
    """
    from rbee import __version__

    parser = ArgumentParser(
        prog=PROG,
        description="The pool-side model catalog of rbee.",
        epilog=ENVIRONMENT_HELP,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    add_global_arguments(parser, suppress_defaults=False)
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands", action=LazySubParsersAction
    )
    commands.required = True
    assert isinstance(commands, LazySubParsersAction)
    models = commands.add_lazy_parser(
        "models",
        _populate_models,
        help="list and edit the pool's model catalog",
        description="List and edit the pool's model catalog.",
        epilog=ENVIRONMENT_HELP,
        formatter_class=HelpFormatter,
    )
    completion = commands.add_lazy_parser(
        "completion",
        _populate_completion,
        help="print a shell completion script",
        description="Print a completion script for bash or zsh (see docs/cli.md to install it).",
        epilog=examples_help(
            (
                "rbee-hive completion bash > ~/.local/share/bash-completion/completions/rbee-hive",
                'eval "$(rbee-hive completion zsh)"    # in ~/.zshrc, after compinit',
            )
        ),
        formatter_class=HelpFormatter,
    )
    if not lazy:
        commands.populate_all()
        for sub in (models, completion):
            for action in sub._actions:
                if isinstance(action, LazySubParsersAction):
                    action.populate_all()
    return parser


def _populate_models(models: argparse.ArgumentParser) -> None:
    add_global_arguments(models, suppress_defaults=True)
    subcommands = models.add_subparsers(
        dest="models_command",
        metavar="SUBCOMMAND",
        title="subcommands",
        action=LazySubParsersAction,
    )
    subcommands.required = True
    assert isinstance(subcommands, LazySubParsersAction)
    for subcommand in MODELS_SUBCOMMANDS:
        sub = subcommands.add_lazy_parser(
            subcommand.name,
            _leaf_populator(subcommand),
            help=subcommand.summary,
            description=subcommand.description,
            epilog=examples_help(subcommand.examples),
            formatter_class=HelpFormatter,
        )
        sub.set_defaults(handler=subcommand.handler)


def _leaf_populator(subcommand: Subcommand) -> Callable[[argparse.ArgumentParser], None]:
    def populate(parser: argparse.ArgumentParser) -> None:
        subcommand.add_arguments(parser)
        add_global_arguments(parser, suppress_defaults=True)

    return populate


def _populate_completion(completion: argparse.ArgumentParser) -> None:
    completion.add_argument("shell", choices=("bash", "zsh"), help="the shell")
    completion.set_defaults(handler="rbee.hive.completion:run")
