"""Every argument of `rbee-hive`, as functions that add them to any argparse parser.

This module imports only argparse, `rbee.cli.parsing` and `rbee.cli.options` (never the catalog
library) and does nothing when imported, so other programs can build the same options cheaply:
llorch offers each `rbee-hive models` subcommand remotely by calling the same
`add_<name>_arguments(parser)` on its own parser, and `models_subcommands()` lists them.

Adding a `models` subcommand: write `add_<name>_arguments` here and a module
`rbee.hive.commands.<name>` with `run(args, hive) -> int`, then add one `Subcommand(...)` line to
`MODELS_SUBCOMMANDS`, and its name to llorch's `REMOTE_SUBCOMMANDS` (`rbee.keeper.cli`):
tests/keeper/test_help.py fails until llorch offers it, or lists it as not offered, with why.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from rbee.cli.options import add_color_option
from rbee.cli.parsing import (
    ArgumentParser,
    HelpFormatter,
    LazySubParsersAction,
    MutuallyExclusiveGroup,
    parser_actions,
)
from rbee.hive.entry_options import (
    BACKEND_CHOICES,
    FORMAT_CHOICES,
    REGISTER,
    UPDATE,
    add_entry_options,
)

PROG = "rbee-hive"


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
    add_color_option(group, default=default)


def _add_json(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def _add_json_or_quiet(parser: argparse.ArgumentParser, json_help: str) -> None:
    """`--json` (printing `json_help`'s document) or `-q`, never both."""
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help=json_help)
    _add_quiet(output)


def _add_quiet(parser: argparse.ArgumentParser | MutuallyExclusiveGroup) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")


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
        help="print the catalog document (the file's schema, filters applied); with no catalog "
        'yet: {"version": "X.Y", "pool_id": null, "updated_at": null, "models": []}',
    )
    output.add_argument("-q", "--quiet", action="store_true", help="print ids only, one per line")


def add_register_arguments(parser: argparse.ArgumentParser) -> None:
    """`models register`: one model from options, or many with `--from`."""
    parser.add_argument("id", metavar="ID", nargs="?", help="the model's id, e.g. tinyllama")
    add_entry_options(parser, REGISTER)
    parser.add_argument(
        "--from",
        dest="from_file",
        metavar="FILE",
        help="register every model listed in FILE (TOML or JSON; '-' reads stdin) instead",
    )
    parser.add_argument(
        "--test-models",
        action="store_true",
        help="register the four test models that ship with rbee (tinyllama, qwen-0.5b, phi3, "
        "mistral; the same list as examples/test-models.toml)",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="with --from or --test-models: models already registered take the list's values "
        "(default: a model registered with different values is an error)",
    )
    parser.add_argument(
        "--from-name",
        metavar="NAME",
        # Plumbing, hidden from --help: with --from -, the file name to show in messages and to
        # tell TOML from JSON by (llorch sends a local file on stdin under its own name).
        help=argparse.SUPPRESS,
    )
    _add_json_or_quiet(
        parser,
        'print {"registered": [...], "updated": [...], "skipped": [...], '
        '"changed_fields": {ID: [...]}}',
    )


def add_unregister_arguments(parser: argparse.ArgumentParser) -> None:
    """`models unregister`: remove entries; never touches model files."""
    parser.add_argument("ids", metavar="ID", nargs="+", help="the ids to remove")
    parser.add_argument(
        "--missing-ok",
        action="store_true",
        help="report ids that are not in the catalog instead of failing",
    )
    _add_json_or_quiet(parser, 'print {"unregistered": [...], "missing": [...]}')


def add_show_arguments(parser: argparse.ArgumentParser) -> None:
    """`models show`: one entry, every field."""
    parser.add_argument("id", metavar="ID", help="the model's id")
    _add_json(parser, "the entry (as the catalog file stores it)")


def add_update_arguments(parser: argparse.ArgumentParser) -> None:
    """`models update`: change fields of one entry in place."""
    parser.add_argument("id", metavar="ID", help="the model's id")
    add_entry_options(parser, UPDATE)
    _add_json_or_quiet(parser, 'print {"updated": [...], "unchanged": [...], "changed": [fields]}')


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


PROGRESS_CHOICES = ("auto", "bar", "lines", "json", "none")


def _add_llorch_plumbing(parser: argparse.ArgumentParser) -> None:
    """Hidden options llorch passes to the long-running commands it runs over ssh (read by
    `Hive.long_running_progress`): how progress is shown on stderr (llorch asks for `json` to
    draw one line per pool), and stop as on Ctrl-C when its ssh goes away."""
    parser.add_argument(
        "--progress", choices=PROGRESS_CHOICES, default=None, help=argparse.SUPPRESS
    )
    parser.add_argument("--stop-on-stdin-eof", action="store_true", help=argparse.SUPPRESS)


def add_download_arguments(parser: argparse.ArgumentParser) -> None:
    """`models download`: models' files from the Hugging Face Hub."""
    parser.add_argument("ids", metavar="ID", nargs="+", help="the models to download")
    parser.add_argument(
        "--revision",
        metavar="REV",
        help="a branch, tag or commit of the repo (default: main)",
    )
    parser.add_argument(
        "--quant",
        metavar="NAME",
        help="the GGUF quantization to take, e.g. Q4_K_M (any case; default: the entry's "
        "metadata.quantization, or the only one)",
    )
    parser.add_argument(
        "--include",
        metavar="GLOB",
        action="append",
        help="take the files matching GLOB instead of the format's rule; repeat for several "
        "(a GLOB without '/' matches file names)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="show the files, their sizes, the total and the free space; write nothing",
    )
    parser.add_argument(
        "--force", action="store_true", help="fetch every file again, even when complete"
    )
    _add_llorch_plumbing(parser)
    _add_json_or_quiet(parser, 'print {"dry_run": ..., "models": [{"id", "files", ...}]}')


def add_adopt_arguments(parser: argparse.ArgumentParser) -> None:
    """`models adopt`: register the models already on disk, in place."""
    parser.add_argument(
        "sources",
        metavar="SOURCE",
        nargs="*",
        help="hf (the Hugging Face cache), ollama, lmstudio, or a path: a folder of model "
        "folders, a model's folder or file (default: the pool's .test-models/ and every "
        "store on this machine)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be adopted; write nothing"
    )
    _add_json_or_quiet(
        parser, 'print {"dry_run": ..., "adopted": [...], "already": [...], "problems": [...]}'
    )


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    """`models verify`: hash recorded files again, offline; the catalog is not changed."""
    parser.add_argument(
        "ids", metavar="ID", nargs="*", help="the models to verify (default: every model)"
    )
    parser.add_argument(
        "--strict", action="store_true", help="a model without a record is a failure too"
    )
    _add_llorch_plumbing(parser)
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--json",
        action="store_true",
        help='print {"ok": ..., "models": [{"id", "status", "files", "extra", ...}]}',
    )
    output.add_argument(
        "-q", "--quiet", action="store_true", help="print only what is not ok, no progress"
    )


def add_record_arguments(parser: argparse.ArgumentParser) -> None:
    """`models record`: store the files' sizes and sha256 as they are now."""
    parser.add_argument("ids", metavar="ID", nargs="+", help="the models to record")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace a record the model already has (its source, e.g. the Hub repo and "
        "commit, is kept when every file is unchanged; else the source becomes local, the "
        "old one kept under 'previous')",
    )
    _add_llorch_plumbing(parser)
    _add_json_or_quiet(parser, 'print {"recorded": [...], "models": [{"id", "files", ...}]}')


KV_TYPE_CHOICES = ("f16", "q8_0", "q4_0")


def _context_length(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of tokens: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 token, got {text!r}")
    return value


def add_fit_options(parser: argparse.ArgumentParser) -> None:
    """`--ctx` and `--kv-type`: the context a fit estimate is for (shared with llorch fleet)."""
    parser.add_argument(
        "--ctx",
        metavar="N",
        type=_context_length,
        help="the context length in tokens (default: the model's own)",
    )
    parser.add_argument(
        "--kv-type",
        choices=KV_TYPE_CHOICES,
        default="f16",
        help="the KV cache's element type (default: f16)",
    )


def add_fit_arguments(parser: argparse.ArgumentParser) -> None:
    """`models fit`: the memory llama.cpp needs for a model, against this pool's GPU."""
    parser.add_argument("id", metavar="ID", help="the model's id")
    add_fit_options(parser)
    _add_json(parser, '{"model", "shape", "estimate", "verdict", "pool"}')


MODELS_SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "catalog",
        "show the catalog as a table",
        "Show the pool's catalog: a table, or JSON, or ids.",
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
        "Add one model to the catalog (creating the catalog if there is none), the four test\n"
        "models that ship with rbee (--test-models), or every model listed in a TOML or JSON\n"
        "file of your own (--from FILE; examples/test-models.toml in rbee's repository shows\n"
        "the format). Idempotent: an entry that matches the registered one in every field it\n"
        "gives is skipped; metadata keys the registered one lacks are filled in. One that\n"
        "gives a different value under a registered id is an error naming the fields, and\n"
        "then nothing is registered; with --update it takes the list's values instead.",
        add_register_arguments,
        "rbee.hive.commands.register:run",
        examples=(
            "rbee-hive models register --test-models",
            "rbee-hive models register tinyllama --name 'TinyLlama 1.1B Chat' \\\n"
            "      --repo TinyLlama/TinyLlama-1.1B-Chat-v1.0 --architecture llama",
            "rbee-hive models register phi3-q4 --name 'Phi-3 Q4' --architecture phi3 \\\n"
            "      --format gguf --backend cpu --backend metal --quantization Q4_K_M",
            "rbee-hive models register --from models.toml    # your own list",
            "rbee-hive models register --from models.toml --update",
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
        "parameters). architecture and backends are yours: where the files disagree, scan\n"
        "reports it and changes nothing. The name is yours too, and never compared. A model\n"
        "whose files are gone becomes not downloaded; its entry stays.",
        add_scan_arguments,
        "rbee.hive.commands.scan:run",
        examples=(
            "rbee-hive models scan --dry-run",
            "rbee-hive models scan qwen-0.5b phi3",
            "rbee-hive models scan --json",
        ),
    ),
    Subcommand(
        "fit",
        "estimate the memory to run a model, against this pool's GPU",
        "Estimate the memory llama.cpp needs to run the model at a context length: weights\n"
        "(the GGUF's tensors, or the safetensors headers'), KV cache (from the GGUF keys or\n"
        "config.json, honouring sliding-window attention where llama.cpp applies it) and the\n"
        "compute buffer (formulas in docs/fleet.md). Then compare with this pool's GPU memory\n"
        "(or Apple Silicon's Metal budget): fits on the GPU, fits with N of M layers\n"
        "offloaded, runs on the CPU only, or does not fit. The model must be downloaded.",
        add_fit_arguments,
        "rbee.hive.commands.fit:run",
        examples=(
            "rbee-hive models fit tinyllama",
            "rbee-hive models fit mistral --ctx 8192 --kv-type q8_0",
            "rbee-hive models fit qwen-0.5b --json",
        ),
    ),
    Subcommand(
        "download",
        "download models' files from the Hugging Face Hub",
        "Download each model's files from its metadata.repo on the Hugging Face Hub into its\n"
        "path under the pool's root, keeping the repo's folders. A GGUF model takes one\n"
        "quantization (--quant), a safetensors model its safetensors, JSON and tokenizer\n"
        "files; --include replaces the rule. Files are checked against the Hub's sha256 before\n"
        "they take their names; an interrupted download resumes where it stopped. At the end\n"
        "the entry is downloaded, with its size, format and a record of the files.\n"
        "HF_TOKEN (or `hf auth login`) for gated repos, HF_ENDPOINT for a mirror.",
        add_download_arguments,
        "rbee.hive.commands.download:run",
        examples=(
            "rbee-hive models download tinyllama",
            "rbee-hive models download qwen-0.5b-gguf --quant Q4_K_M --dry-run",
            "rbee-hive models download phi3 --revision main --include '*.safetensors' "
            "--include '*.json'",
            "rbee-hive models download tinyllama qwen-0.5b --json",
        ),
    ),
    Subcommand(
        "verify",
        "check model files against their records, offline",
        "Hash each model's recorded files again (several at once, one per core) and report\n"
        "each file that is missing, changed (size or sha256) or unreadable, and weight files\n"
        "in the model's folder that the record does not list. Records come from download,\n"
        "adopt or record; a model without one is reported, and is a failure only with\n"
        "--strict. Offline; the catalog is not changed (scan updates downloaded).\n"
        "Exit 0 when everything is ok, 1 otherwise.",
        add_verify_arguments,
        "rbee.hive.commands.verify:run",
        examples=(
            "rbee-hive models verify",
            "rbee-hive models verify tinyllama qwen-0.5b --strict",
            "rbee-hive models verify --json",
        ),
    ),
    Subcommand(
        "record",
        "record the model files' sizes and sha256 as they are now",
        "Hash each model's files as they are now and store them as its record (source\n"
        "local), for verify to check later: trust on first use, for models registered by\n"
        "hand. A folder's every file is recorded (hidden ones left out); a one-file model,\n"
        "that file (with the other parts of a split GGUF). A model that has a record keeps\n"
        "it unless --force.",
        add_record_arguments,
        "rbee.hive.commands.record:run",
        examples=(
            "rbee-hive models record phi3-q4",
            "rbee-hive models record tinyllama --force --json",
        ),
    ),
    Subcommand(
        "adopt",
        "register the models already on disk, in place",
        "Register the models on disk that the catalog does not have, where they are: nothing\n"
        "is copied, moved or linked (a path outside the pool's root is stored absolute).\n"
        "Sources are found as their own tools find them: hf (HF_HUB_CACHE, HF_HOME/hub,\n"
        "~/.cache/huggingface/hub), ollama (OLLAMA_MODELS, ~/.ollama/models,\n"
        "/usr/share/ollama/.ollama/models), lmstudio (~/.lmstudio-home-pointer,\n"
        "~/.cache/lm-studio, ~/.lmstudio), or a path. Ids come from the file, repo or Ollama\n"
        "name (qwen2.5-0.5b-instruct-q4_k_m); a taken id gets -2, -3, ... Fields come from the\n"
        "headers; each entry is downloaded and gets a record of its files' sha256, taken from\n"
        "the store's blob names where it has them, else computed. A model already in the\n"
        "catalog (by the real path of its files) is skipped, so a second run adopts nothing;\n"
        "broken symlinks and missing blobs are reported and the rest adopted.",
        add_adopt_arguments,
        "rbee.hive.commands.adopt:run",
        examples=(
            "rbee-hive models adopt --dry-run",
            "rbee-hive models adopt hf ollama",
            "rbee-hive models adopt /srv/models/qwen2.5-7b-instruct-q4_k_m.gguf",
            "rbee-hive models adopt .test-models --json",
        ),
    ),
)
"""The `models` subcommands, in the order `--help` lists them."""


def add_send_arguments(parser: argparse.ArgumentParser) -> None:
    """`models send` (plumbing for `llorch models copy`): a model's bytes to stdout."""
    parser.add_argument("id", metavar="ID", help="the model's id")
    parser.add_argument(
        "--manifest",
        action="store_true",
        help="print the entry and its file record as JSON (recording its files first if it "
        "has no record) instead of sending bytes",
    )


def add_receive_arguments(parser: argparse.ArgumentParser) -> None:
    """`models receive` (plumbing for `llorch models copy`): a model's bytes from stdin."""
    parser.add_argument("id", metavar="ID", help="the model's id")
    parser.add_argument(
        "--source-pool", metavar="NAME", required=True, help="the pool the model comes from"
    )
    parser.add_argument("--path", metavar="PATH", help="the folder to put the files in")
    parser.add_argument(
        "--update", action="store_true", help="replace an entry with different fields"
    )


PLUMBING_SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "send",
        "",
        "Plumbing for `llorch models copy` (see docs/copy.md): with --manifest, print the\n"
        "entry and its file record; else read [[PATH, OFFSET], ...] as JSON on stdin and write\n"
        "those byte ranges of the recorded files to stdout, back to back.",
        add_send_arguments,
        "rbee.hive.commands.copy:run_send",
    ),
    Subcommand(
        "receive",
        "",
        "Plumbing for `llorch models copy` (see docs/copy.md): read the source's manifest as\n"
        "one JSON line on stdin, print the plan (what is missing), read the missing bytes,\n"
        "verify every file's sha256, move the files into place and register the entry.",
        add_receive_arguments,
        "rbee.hive.commands.copy:run_receive",
    ),
)
"""`models` subcommands for programs, not people: hidden from --help, docs and completion."""


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
  rbee-hive models register --test-models
  rbee-hive models register --from models.toml    # your own list of models
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
    pool = commands.add_lazy_parser(
        "pool",
        _populate_pool,
        help="this pool's hardware: CPU, RAM, GPUs, disk",
        description="This pool's hardware, as a worker would need it.",
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
        for sub in (models, pool, completion):
            for action in parser_actions(sub):
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
    # Deferred: only the chosen subcommand's parser is ever built (start-up time).
    for subcommand in MODELS_SUBCOMMANDS:
        subcommands.add_deferred_parser(
            subcommand.name,
            _leaf_populator(subcommand),
            defaults={"handler": subcommand.handler},
            help=subcommand.summary,
            description=subcommand.description,
            epilog=examples_help(subcommand.examples),
            formatter_class=HelpFormatter,
        )
    for subcommand in PLUMBING_SUBCOMMANDS:
        # No `help=`: argparse then lists no line for it (help=SUPPRESS would print one).
        subcommands.add_deferred_parser(
            subcommand.name,
            _leaf_populator(subcommand),
            defaults={"handler": subcommand.handler},
            description=subcommand.description,
            formatter_class=HelpFormatter,
        )


def _leaf_populator(subcommand: Subcommand) -> Callable[[argparse.ArgumentParser], None]:
    def populate(parser: argparse.ArgumentParser) -> None:
        subcommand.add_arguments(parser)
        add_global_arguments(parser, suppress_defaults=True)

    return populate


def _populate_completion(completion: argparse.ArgumentParser) -> None:
    completion.add_argument("shell", choices=("bash", "zsh"), help="the shell")
    completion.set_defaults(handler="rbee.hive.completion:run")


def _populate_pool(pool: argparse.ArgumentParser) -> None:
    add_global_arguments(pool, suppress_defaults=True)
    subcommands = pool.add_subparsers(
        dest="pool_command",
        metavar="SUBCOMMAND",
        title="subcommands",
        action=LazySubParsersAction,
    )
    subcommands.required = True
    assert isinstance(subcommands, LazySubParsersAction)
    info = subcommands.add_lazy_parser(
        "info",
        _populate_pool_info,
        help="the pool's hardware: OS, CPU, RAM, GPUs and their memory, disk",
        description="Show this pool's hardware: rbee version, pool id, OS, CPU cores, RAM; GPUs\n"
        "with their total and free memory (nvidia-smi; rocm-smi or amd-smi; on Apple Silicon\n"
        "the unified memory and Metal's working-set limit); the disk at the models folder.\n"
        "Each tool runs with a short timeout; a missing or failing one is reported.",
        epilog=examples_help(("rbee-hive pool info", "rbee-hive pool info --json")),
        formatter_class=HelpFormatter,
    )
    info.set_defaults(handler="rbee.hive.commands.pool:run_info")
    # Plumbing for `llorch fleet`: everything its table needs in one invocation (one ssh call).
    report = subcommands.add_lazy_parser("report", _populate_pool_report)
    report.set_defaults(handler="rbee.hive.commands.pool:run_report")


def _populate_pool_info(parser: argparse.ArgumentParser) -> None:
    _add_json(parser, "the hardware")
    add_global_arguments(parser, suppress_defaults=True)


def _populate_pool_report(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (the only format)")
    parser.add_argument("--hardware", action="store_true", help="add the pool's hardware")
    parser.add_argument("--fit", metavar="ID", help="add the fit verdict for this model")
    add_fit_options(parser)
    add_global_arguments(parser, suppress_defaults=True)
