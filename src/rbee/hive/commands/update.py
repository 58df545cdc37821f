"""`rbee-hive models update`: change fields of one entry in place; the rest stay as they are.

The rules are the library's (`rbee.workflows.update.update_model`); this module parses the
options (through the one option table, `rbee.hive.entry_options`), calls it and renders.
"""

from __future__ import annotations

import argparse

from rbee.cli.errors import UsageError
from rbee.hive.context import Hive


def run(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.hive.entry_options import entry_values

    fields, metadata = entry_values(args)
    if not fields and not metadata:
        raise UsageError(
            "nothing to update: give at least one field option "
            "(see 'rbee-hive models update --help')"
        )
    from rbee.workflows.update import update_model

    hive.note_if_locked()
    result = update_model(hive.catalog_path, args.id, fields, metadata)
    if args.json:
        hive.out.json(result.to_dict())
    elif not args.quiet:
        if result.changed:
            hive.out.line(
                hive.out.style(f"✅ Model {args.id} updated", "green")
                + f" ({', '.join(result.changed)})"
            )
        else:
            hive.out.line(f"= Model {args.id} already has these values; nothing changed")
    return 0
