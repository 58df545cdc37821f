"""`rbee-hive models scan [ID...]`: make catalog entries true to the files on disk.

The files' headers are read without the catalog's lock: reading a large or hostile model can take
a second, and other writers must not wait for it. Then, under the lock, the catalog is read
again and each change is applied to the entry as it is now, unless that entry was edited or
removed meanwhile (it is then left alone and reported). The catalog is saved once, only if
something changed. With `--dry-run` the catalog is only read.
"""

from __future__ import annotations

import argparse

from rbee.hive.context import Hive

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from rbee.catalog import ModelCatalog, ModelEntry
    from rbee.modelfiles import ScanResult

EDITED_MEANWHILE = "edited meanwhile, while its files were read: left as it is now (scan it again)"
REMOVED_MEANWHILE = "removed from the catalog meanwhile, while its files were read"


def run(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.catalog import load_catalog

    entries = _chosen(load_catalog(hive.catalog_path, track_changes=False), args.ids)
    results = _scan(entries, hive)
    if not args.dry_run and any(result.changes for result in results):
        _apply(entries, results, hive)
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


def _chosen(catalog: ModelCatalog, ids: list[str]) -> list[ModelEntry]:
    # Every id is looked up before anything is read or changed: an unknown id changes nothing.
    return [catalog.get_model(model_id) for model_id in dict.fromkeys(ids)] or list(catalog.models)


def _scan(entries: list[ModelEntry], hive: Hive) -> list[ScanResult]:
    from rbee.modelfiles import scan_entry

    return [scan_entry(entry, hive.root) for entry in entries]


def _apply(entries: list[ModelEntry], results: list[ScanResult], hive: Hive) -> None:
    """Under the lock, apply each result to its entry as the catalog holds it now."""
    from rbee.catalog import edit_catalog
    from rbee.modelfiles import apply_scan

    hive.note_if_locked()
    with edit_catalog(hive.catalog_path) as catalog:
        for scanned, result in zip(entries, results, strict=True):
            if not result.changes:
                continue
            current = catalog.find_model_mut(scanned.id)
            if current is None or current != scanned:
                # What the files were compared with is gone: neither the changes nor the
                # disagreements hold for the entry as it is now.
                result.changes = []
                result.disagreements = []
                result.problem = REMOVED_MEANWHILE if current is None else EDITED_MEANWHILE
                continue
            apply_scan(current, result)
