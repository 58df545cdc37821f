"""`rbee-hive models scan [ID...]`: make catalog entries true to the files on disk.

The rules (files read outside the lock, changes applied under it to the entry as it is then,
entries edited meanwhile left alone) are the library's: `rbee.workflows.scan.scan_models`.
"""

from __future__ import annotations

import argparse

from rbee.hive.context import Hive


def run(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.workflows.scan import scan_models

    if not args.dry_run:
        hive.note_if_locked()
    report = scan_models(hive.catalog_path, hive.root, args.ids, dry_run=bool(args.dry_run))
    if args.json:
        hive.out.json(report.to_dict())
        return 0
    from rbee.hive.model_files import scan_lines

    results = report.results
    for result in results:
        hive.out.lines(scan_lines(result, hive.out.style))
    disagreeing = sum(1 for r in results if r.disagreements)
    summary = f"Scanned {len(results)} model(s): {len(report.changed)} changed"
    if disagreeing:
        summary += f", {disagreeing} with fields the files disagree with"
    if args.dry_run:
        summary += " (dry run: nothing was written)"
    hive.out.line(summary)
    return 0
