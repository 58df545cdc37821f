"""`rbee-hive models catalog`: the seed's table, the catalog document as JSON, or ids."""

from __future__ import annotations

import argparse

from rbee.hive.context import Hive


def no_catalog_document() -> dict[str, object]:
    """`--json` without a catalog: the document's keys, null for what no file holds yet (the
    current format's version, no pool id, no update time, no models); nothing is made up."""
    from rbee.catalog import SCHEMA_VERSION

    return {"version": SCHEMA_VERSION, "pool_id": None, "updated_at": None, "models": []}


def run(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.catalog import CatalogNotFoundError, ModelCatalog, load_catalog

    found = True
    try:
        catalog = load_catalog(hive.catalog_path, track_changes=False)
    except CatalogNotFoundError:
        found = False
        hive.out.hint(
            f"No catalog found at {hive.catalog_path}. Create one with 'rbee-hive models register'"
        )
        catalog = ModelCatalog.new(hive.pool_id)
    entries = catalog.filter(
        architecture=args.architecture,
        backend=args.backend,
        format=args.format,
        downloaded=args.downloaded,
        text=args.search,
    )
    if args.json and not found:
        hive.out.json(no_catalog_document())
    elif args.json:
        hive.out.json(catalog.with_models(entries).to_dict())
    elif args.quiet:
        hive.out.lines([entry.id for entry in entries])
    elif found:
        from rbee.hive.render import catalog_table

        hive.out.lines(
            catalog_table(catalog.pool_id, entries, hive.out.style, hive.out.terminal_width())
        )
    return 0
