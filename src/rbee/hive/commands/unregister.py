"""`rbee-hive models unregister`: remove entries, all or nothing; model files stay on disk.

The rules are the library's (`rbee.workflows.unregister.unregister_models`).
"""

from __future__ import annotations

import argparse

from rbee.hive.context import Hive


def run(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.workflows.unregister import unregister_models

    hive.note_if_locked()
    result = unregister_models(hive.catalog_path, args.ids, missing_ok=args.missing_ok)
    if args.json:
        hive.out.json(result.to_dict())
    elif not args.quiet:
        for model_id in result.removed:
            hive.out.line(
                hive.out.style(f"✅ Model {model_id} unregistered", "green")
                + " (its files, if any, were left in place)"
            )
        for model_id in result.missing:
            hive.out.line(f"= Model {model_id} was not in the catalog")
    return 0
