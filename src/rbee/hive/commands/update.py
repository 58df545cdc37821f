"""`rbee-hive models update`: change fields of one entry in place; the rest stay as they are."""

from __future__ import annotations

import argparse

from rbee.cli.errors import UsageError
from rbee.hive.context import Hive

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

_FIELDS = ("name", "architecture", "format", "path", "size_gb", "downloaded")
_METADATA = ("repo", "context_length", "vocab_size", "quantization")


def changes_from_options(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """(entry fields, metadata keys) the options set; a metadata value of None removes the key."""
    fields: dict[str, Any] = {
        name: getattr(args, name) for name in _FIELDS if getattr(args, name) is not None
    }
    if args.backends:
        fields["backends"] = list(dict.fromkeys(args.backends))
    metadata: dict[str, Any] = {
        key: getattr(args, key) for key in _METADATA if getattr(args, key) is not None
    }
    if args.clear_quantization:
        if "quantization" in metadata:
            raise UsageError("--quantization and --clear-quantization contradict each other")
        metadata["quantization"] = None
    return fields, metadata


def run(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.catalog import ModelEntry, edit_catalog
    from rbee.catalog.entries_file import differing_fields

    fields, metadata = changes_from_options(args)
    if not fields and not metadata:
        raise UsageError(
            "nothing to update: give at least one field option "
            "(see 'rbee-hive models update --help')"
        )
    hive.note_if_locked()
    with edit_catalog(hive.catalog_path) as catalog:
        current = catalog.get_model(args.id)
        document = current.to_dict()
        document.update(fields)
        merged = dict(document["metadata"])
        for key, value in metadata.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        document["metadata"] = merged
        updated = ModelEntry.from_dict(document)
        changed = differing_fields(current, updated)
        if changed:
            catalog.replace_model(updated)
    if args.json:
        hive.out.json(
            {
                "updated": [args.id] if changed else [],
                "unchanged": [] if changed else [args.id],
                "changed": changed,
            }
        )
    elif not args.quiet:
        if changed:
            hive.out.line(
                hive.out.style(f"✅ Model {args.id} updated", "green") + f" ({', '.join(changed)})"
            )
        else:
            hive.out.line(f"= Model {args.id} already has these values; nothing changed")
    return 0
