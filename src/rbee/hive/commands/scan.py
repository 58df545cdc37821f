"""`rbee-hive models scan [ID...]`: make catalog entries true to the files on disk.

Everything happens under the catalog's lock: the entries are read, their files' headers are read,
the changes are applied and the catalog is saved once (only if something changed). With
`--dry-run` the catalog is only read.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rbee.hive.context import Hive

if TYPE_CHECKING:
    from rbee.catalog import ModelCatalog
    from rbee.modelfiles import ScanResult


def run(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.catalog import edit_catalog, load_catalog

    if args.dry_run:
        results = _scan(load_catalog(hive.catalog_path, track_changes=False), args.ids, hive)
    else:
        hive.require_catalog()
        hive.note_if_locked()
        with edit_catalog(hive.catalog_path) as catalog:
            results = _scan(catalog, args.ids, hive, apply=True)
    changed = [r.model_id for r in results if r.changes]
    if args.json:
        hive.out.json(
            {
                "dry_run": bool(args.dry_run),
                "changed": changed,
                "models": [r.to_dict() for r in results],
            }
        )
        return 0
    from rbee.hive.model_files import scan_lines

    for result in results:
        hive.out.lines(scan_lines(result, hive.out.style))
    disagreeing = sum(1 for r in results if r.disagreements)
    summary = f"Scanned {len(results)} model(s): {len(changed)} changed"
    if disagreeing:
        summary += f", {disagreeing} with fields the files disagree with"
    if args.dry_run:
        summary += " (dry run: nothing was written)"
    hive.out.line(summary)
    return 0


def _scan(
    catalog: ModelCatalog, ids: list[str], hive: Hive, *, apply: bool = False
) -> list[ScanResult]:
    from rbee.modelfiles import apply_scan, scan_entry

    # Every id is looked up before anything is read or changed: an unknown id changes nothing.
    entries = [catalog.get_model(model_id) for model_id in dict.fromkeys(ids)] or list(
        catalog.models
    )
    results = []
    for entry in entries:
        result = scan_entry(entry, hive.root)
        if apply and result.changes:
            apply_scan(entry, result)
        results.append(result)
    return results
