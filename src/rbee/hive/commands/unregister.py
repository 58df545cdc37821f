"""`rbee-hive models unregister`: remove entries, all or nothing; model files stay on disk."""

from __future__ import annotations

import argparse

from rbee.hive.context import Hive


def run(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.catalog import ModelNotFoundError, edit_catalog

    ids = list(dict.fromkeys(args.ids))
    removed: list[str] = []
    missing: list[str] = []
    hive.note_if_locked()
    with edit_catalog(hive.catalog_path) as catalog:
        for model_id in ids:
            if catalog.find_model(model_id) is None:
                if not args.missing_ok:
                    raise ModelNotFoundError(model_id)
                missing.append(model_id)
            else:
                catalog.remove_model(model_id)
                removed.append(model_id)
    if args.json:
        hive.out.json({"unregistered": removed, "missing": missing})
    elif not args.quiet:
        for model_id in removed:
            hive.out.line(
                hive.out.style(f"✅ Model {model_id} unregistered", "green")
                + " (its files, if any, were left in place)"
            )
        for model_id in missing:
            hive.out.line(f"= Model {model_id} was not in the catalog")
    return 0
