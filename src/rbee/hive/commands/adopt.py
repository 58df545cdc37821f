"""`rbee-hive models adopt [SOURCE...]`: register the models already on disk, in place.

The rules live in `rbee.workflows.adopt`; this module parses, calls it, and renders: one line
per adopted model on stdout, each problem as a `warning:` line on stderr, progress (hashing)
on stderr through `rbee.cli.progress`.
"""

from __future__ import annotations

import argparse

from rbee.hive.context import Hive

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from rbee.workflows.adopt import AdoptReport


def run(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.workflows.adopt import adopt_models

    hive.require_root()
    progress = hive.long_running_progress(args)
    report = adopt_models(
        hive.catalog_path,
        hive.root,
        list(args.sources) or None,
        dry_run=bool(args.dry_run),
        progress=progress,
        pool_id=hive.pool_id,
    )
    _warn(report, hive)
    if args.json:
        hive.out.json(report.to_dict())
        return 0
    if hive.quiet:
        return 0
    hive.out.lines(_lines(report, hive))
    return 0


def _warn(report: AdoptReport, hive: Hive) -> None:
    from rbee.cli.style import printable

    for problem in report.problems:
        text = printable(" ".join(f"{problem.where}: {problem.message}".split()))
        hive.out.stderr.write(hive.out.err_style("warning: ", "yellow") + text + "\n")
    hive.out.stderr.flush()


def _lines(report: AdoptReport, hive: Hive) -> list[str]:
    from rbee.cli.style import printable
    from rbee.workflows.disk import format_gb

    style = hive.out.style
    lines: list[str] = []
    for model in report.adopted:
        what = f"{model.id} ({model.format}, {format_gb(model.size_bytes)}): {model.description}"
        if report.dry_run:
            lines.append(printable(f"+ Would adopt {what}"))
        else:
            lines.append(style(printable(f"✅ Adopted {what}"), "green"))
    already = len(report.already)
    problems = f"; {len(report.problems)} problem(s), see above" if report.problems else ""
    if not report.adopted:
        if already:
            lines.append(
                f"Nothing to adopt: {already} model(s) found, all already in the catalog" + problems
            )
        else:
            where = ", ".join(s["location"] for s in report.sources) or "no source found"
            lines.append(f"Nothing to adopt: no models found ({printable(where)})" + problems)
        return lines
    count = len(report.adopted)
    tail = f"; {already} already in the catalog" if already else ""
    if report.dry_run:
        lines.append(f"Would adopt {count} model(s){tail}{problems} (dry run: nothing was written)")
    else:
        lines.append(f"Adopted {count} model(s) into {report.catalog_path}{tail}{problems}")
    return lines
