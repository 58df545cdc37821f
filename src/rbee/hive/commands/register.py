"""`rbee-hive models register`: one model from options, a list with `--from`, or `--test-models`.

The rules (idempotent, all or nothing, `--update` as an upsert) are the library's:
`rbee.workflows.register.register_models`. This module parses, calls it and renders.
"""

from __future__ import annotations

import argparse

from rbee.cli.errors import UsageError
from rbee.hive.context import Hive

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` stays out of rbee-hive's start-up
    from rbee.catalog.entries_file import ListedEntry


def run(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.hive.entry_options import given_flags

    given = given_flags(args)
    lists = (("--from", args.from_file is not None), ("--test-models", args.test_models))
    sources = [flag for flag, on in lists if on]
    if len(sources) > 1:
        raise UsageError("--from and --test-models contradict each other; give one list")
    if sources:
        if args.id is not None or given:
            extra = "ID" if args.id is not None else given[0]
            raise UsageError(
                f"{sources[0]} cannot be combined with {extra}; put the fields in the file"
            )
        if args.test_models:
            if args.from_name is not None:
                raise UsageError("--from-name goes with --from - (stdin) only")
            from rbee.workflows.register import TEST_MODELS_SOURCE, bundled_test_models

            source: str | None = TEST_MODELS_SOURCE
            entries = bundled_test_models()
        else:
            source, entries = _read_list(args.from_file, args.from_name, hive)
    else:
        if args.from_name is not None:
            raise UsageError("--from-name goes with --from -")
        if args.update:
            raise UsageError(
                "--update goes with --from or --test-models; "
                "'rbee-hive models update ID' changes one model"
            )
        missing = [
            flag
            for flag, value in (
                ("ID", args.id),
                ("--name", args.name),
                ("--architecture", args.architecture),
            )
            if value is None
        ]
        if missing:
            raise UsageError(
                f"register needs {', '.join(missing)} (or --from FILE); "
                "see 'rbee-hive models register --help'"
            )
        source, entries = None, [entry_from_options(args)]
    from rbee.hive.notes import NoteProgress
    from rbee.workflows.register import register_models

    hive.require_root()
    hive.note_if_locked()
    result = register_models(
        hive.catalog_path,
        entries,
        root=hive.root,
        pool_id=hive.pool_id,
        update=bool(args.update),
        source=source,
        progress=NoteProgress(hive.out),
    )
    if args.json:
        hive.out.json(result.to_dict())
    elif not args.quiet:
        style = hive.out.style
        for model_id, outcome in result.outcomes:
            if outcome == "added":
                hive.out.line(style(f"✅ Model {model_id} registered", "green"))
            elif outcome == "updated":
                fields = ", ".join(result.changed_fields[model_id])
                hive.out.line(style(f"✅ Model {model_id} updated", "green") + f" ({fields})")
            else:
                hive.out.line(f"= Model {model_id} is already registered; skipped")
        if source is not None:
            counts = f"Registered {len(result.added)}"
            if result.updated or args.update:
                counts += f", updated {len(result.updated)}"
            hive.out.line(f"{counts}, skipped {len(result.unchanged)} (from {source})")
    return 0


def entry_from_options(args: argparse.Namespace) -> ListedEntry:
    """The entry `register ID --name ... --architecture ...` describes, with register's defaults.

    Only the options given count as given (see `rbee.workflows.register`).
    """
    from rbee.catalog import ModelEntry
    from rbee.catalog.entries_file import ListedEntry
    from rbee.hive.entry_options import entry_values

    fields, metadata = entry_values(args)
    entry = ModelEntry(id=args.id, metadata=metadata, **fields)
    given = {"id", *fields, *(f"metadata.{key}" for key in metadata)}
    return ListedEntry(entry, frozenset(given))


def _read_list(name: str, label: str | None, hive: Hive) -> tuple[str, list[ListedEntry]]:
    from rbee.catalog.entries_file import STDIN_NAME, parse_entries, read_entries_file

    if name == "-":
        import sys

        if sys.stdin.isatty():
            # Otherwise a forgotten `< file` looks like a hang.
            hive.out.hint("Reading the models (TOML or JSON) from the terminal; end with Ctrl-D")
        source = label or STDIN_NAME
        return source, parse_entries(sys.stdin.buffer.read(), source)
    if label is not None:
        raise UsageError("--from-name goes with --from - (stdin) only")
    return name, read_entries_file(name)
