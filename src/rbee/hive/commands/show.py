"""`rbee-hive models show`: every field of one entry."""

from __future__ import annotations

import argparse

from rbee.hive.context import Hive


def run(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.catalog import load_catalog

    entry = load_catalog(hive.catalog_path, track_changes=False).get_model(args.id)
    if args.json:
        hive.out.json(entry.to_dict())
    else:
        from rbee.hive.render import entry_lines

        hive.out.lines(entry_lines(entry, hive.out.style))
    return 0
