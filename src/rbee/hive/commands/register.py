"""`rbee-hive models register`: one model from options, or a list with `--from`.

Registering is idempotent: an entry that matches the registered one in every field it gives is
skipped; one that gives a different value under a registered id is an error, and then nothing at
all is registered.
"""

from __future__ import annotations

import argparse

from rbee.cli.errors import CommandError, UsageError
from rbee.hive.context import Hive

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` stays out of rbee-hive's start-up
    from typing import Any

    from rbee.catalog import ModelEntry
    from rbee.catalog.entries_file import ListedEntry

_ENTRY_OPTIONS = (
    ("name", "--name"),
    ("repo", "--repo"),
    ("architecture", "--architecture"),
    ("format", "--format"),
    ("backends", "--backend"),
    ("path", "--path"),
    ("size_gb", "--size-gb"),
    ("downloaded", "--downloaded/--not-downloaded"),
    ("context_length", "--context-length"),
    ("vocab_size", "--vocab-size"),
    ("quantization", "--quantization"),
)


def run(args: argparse.Namespace, hive: Hive) -> int:
    if args.from_file is not None:
        given = [flag for name, flag in _ENTRY_OPTIONS if getattr(args, name) is not None]
        if args.id is not None or given:
            extra = "ID" if args.id is not None else given[0]
            raise UsageError(f"--from cannot be combined with {extra}; put the fields in the file")
        source, entries = _read_list(args.from_file, args.from_name, hive)
    else:
        if args.from_name is not None:
            raise UsageError("--from-name goes with --from -")
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
    from rbee.hive.model_files import fill_in_from_files  # what files already at the path reveal

    entries = fill_in_from_files(hive, entries)
    outcomes = register_entries(hive, entries, source)
    registered = [model_id for model_id, added in outcomes if added]
    skipped = [model_id for model_id, added in outcomes if not added]
    if args.json:
        hive.out.json({"registered": registered, "skipped": skipped})
    elif not args.quiet:
        style = hive.out.style
        for model_id, added in outcomes:
            if added:
                hive.out.line(style(f"✅ Model {model_id} registered", "green"))
            else:
                hive.out.line(f"= Model {model_id} is already registered; skipped")
        if source is not None:
            hive.out.line(f"Registered {len(registered)}, skipped {len(skipped)} (from {source})")
    return 0


def entry_from_options(args: argparse.Namespace) -> ListedEntry:
    """The entry `register ID --name ... --architecture ...` describes, with the seed's defaults."""
    from rbee.catalog import DEFAULT_BACKENDS, DEFAULT_FORMAT, ModelEntry
    from rbee.catalog.entries_file import ListedEntry

    metadata: dict[str, Any] = {}
    for key in ("repo", "context_length", "vocab_size", "quantization"):
        value = getattr(args, key)
        if value is not None:
            metadata[key] = value
    entry = ModelEntry(
        id=args.id,
        name=args.name,
        architecture=args.architecture,
        path=args.path,
        format=args.format or DEFAULT_FORMAT,
        size_gb=0.0 if args.size_gb is None else args.size_gb,
        downloaded=bool(args.downloaded),
        backends=_unique(args.backends) if args.backends else DEFAULT_BACKENDS,
        metadata=metadata,
    )
    given = {"id", "name", "architecture", *(f"metadata.{key}" for key in metadata)}
    given.update(
        field
        for field, value in (
            ("format", args.format),
            ("backends", args.backends),
            ("path", args.path),
            ("size_gb", args.size_gb),
            ("downloaded", args.downloaded),
        )
        if value is not None
    )
    return ListedEntry(entry, frozenset(given))


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


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


def register_entries(
    hive: Hive, entries: list[ListedEntry], source: str | None
) -> list[tuple[str, bool]]:
    """Add `entries` under the catalog's lock, all or nothing.

    Returns each id with True when it was added, False when it was already registered.
    """
    from rbee.catalog import edit_catalog

    hive.require_root()
    hive.note_if_locked()
    outcomes: list[tuple[str, bool]] = []
    with edit_catalog(hive.catalog_path, create_pool_id=hive.pool_id) as catalog:
        # One index and one bulk add: a list of 10,000 models must not take quadratic time.
        registered = catalog.models_by_id()
        new: list[ModelEntry] = []
        for listed in entries:
            entry = listed.entry
            current = registered.get(entry.id)
            if current is None:
                entry.validate()
                registered[entry.id] = entry
                new.append(entry)
                outcomes.append((entry.id, True))
                continue
            conflicts = listed.conflicts_with(current)
            if not conflicts:
                outcomes.append((entry.id, False))
            else:
                fields = ", ".join(conflicts)
                where = f"{source}: " if source is not None else ""
                nothing = f"nothing from {source} was registered" if source else "nothing changed"
                raise CommandError(
                    f"{where}model {entry.id!r} is already registered with different fields "
                    f"({fields}); {nothing} (use 'rbee-hive models update' to change it)"
                )
        catalog.add_models(new)
    return outcomes
