"""`rbee-hive models record ID...`: store the model files' sizes and sha256 as they are now.

Calls `rbee.workflows.verify.record_models` (files hashed outside the catalog's lock, one
transaction at the end) and renders one line per model. Progress on stderr. Exit 1 when a
model's record could not be stored (it was edited or removed meanwhile).
"""

from __future__ import annotations

import argparse

from rbee.hive.context import Hive


def run(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.cli.progress import format_bytes
    from rbee.cli.style import printable
    from rbee.workflows.verify import record_models

    progress = hive.long_running_progress(args)
    report = record_models(
        hive.catalog_path, hive.root, args.ids, force=bool(args.force), progress=progress
    )
    if args.json:
        hive.out.json(report.to_dict())
    style = hive.out.style
    for model in [] if args.json else report.models:
        name = printable(model.id)
        if not model.recorded:
            hive.out.line(f"{name}: {style('not recorded', 'red')}: {model.status}")
        elif not hive.quiet:
            verb = "recorded again" if model.replaced else "recorded"
            note = ""
            if model.source_kept:
                kind = printable(str(model.source.get("type", "?")))
                note = f" (files unchanged: source {kind} kept)"
            elif model.replaced:
                previous = model.source.get("previous")
                kind = previous.get("type", "?") if isinstance(previous, dict) else "local"
                note = f" (files changed: source now local, was {printable(str(kind))})"
            hive.out.line(
                f"{name}: {style(verb, 'green')} {len(model.files)} file(s), "
                f"{format_bytes(model.total_bytes)} in {printable(model.directory)}{note}"
            )
    if report.ok:
        return 0
    missed = ", ".join(printable(m.id) for m in report.models if not m.recorded)
    hive.out.stderr.write(f"record: not recorded: {missed} (edited or removed meanwhile)\n")
    return 1
