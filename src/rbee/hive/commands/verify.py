"""`rbee-hive models verify [ID...]`: check model files against their records, offline.

Calls `rbee.workflows.verify.verify_models` and renders its report: one line per file that is
not ok, one summary line per model, then a total. Progress on stderr (`rbee.cli.progress`).
Exit 0 when everything is ok, 1 otherwise. The catalog is never written.
"""

from __future__ import annotations

import argparse
import os

from rbee.hive.context import Hive

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from rbee.cli.style import Styler
    from rbee.workflows.verify import ModelCheck, VerifyReport


def run(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.workflows.verify import verify_models

    progress = hive.long_running_progress(args)
    report = verify_models(
        hive.catalog_path, hive.root, args.ids, strict=bool(args.strict), progress=progress
    )
    if args.json:
        hive.out.json(report.to_dict())
    else:
        hive.out.lines(report_lines(report, hive.out.style, quiet=hive.quiet))
    if report.ok:
        return 0
    # The last line on stderr: what a caller that keeps only the exit code and stderr (llorch
    # with several pools, a cron mail) shows as the reason.
    hive.out.stderr.write(failure_line(report) + "\n")
    return 1


def failure_line(report: VerifyReport) -> str:
    """`verify: not ok: st (1 missing), qwen (no record)`."""
    from rbee.cli.style import printable
    from rbee.workflows.verify import FAILED

    parts = []
    for model in report.models:
        if model.status == FAILED:
            counts = [
                f"{model.count(status)} {status}"
                for status in ("missing", "changed", "unreadable")
                if model.count(status)
            ]
            if model.extra:
                counts.append(f"{len(model.extra)} extra")
            parts.append(f"{printable(model.id)} ({', '.join(counts)})")
        elif report.strict and not model.has_record:
            why = "no record" if model.downloaded else "not downloaded"
            parts.append(f"{printable(model.id)} ({why})")
    return "verify: not ok: " + ", ".join(parts)


def report_lines(report: VerifyReport, style: Styler, *, quiet: bool = False) -> list[str]:
    """The human report: per model, its files that are not ok, then its summary; then a total.

    `quiet`: only the models that fail (nothing at all when everything is ok).
    """
    from rbee.workflows.verify import FAILED, NO_RECORD, SCAN_NOTE

    lines: list[str] = []
    for model in report.models:
        failing = model.status == FAILED or (model.status == NO_RECORD and report.strict)
        if quiet and not failing:
            continue
        lines.extend(model_lines(model, style, strict=report.strict))
    if quiet and report.ok:
        return lines
    failed = len(report.failed)
    missing_record = len(report.without_record)
    not_downloaded = len(report.not_downloaded)
    checked = len(report.models) - missing_record
    total = f"Verified {checked} model(s): {checked - failed} ok, {failed} failed"
    if missing_record - not_downloaded:
        total += f"; {missing_record - not_downloaded} without a record"
    if not_downloaded:
        total += f"; {not_downloaded} not downloaded"
    if missing_record and report.strict:
        total += " (failures with --strict)"
    lines.append(style(total, "bold"))
    if failed:
        lines.append(SCAN_NOTE[0].upper() + SCAN_NOTE[1:] + ".")
    return lines


def model_lines(model: ModelCheck, style: Styler, *, strict: bool = False) -> list[str]:
    """One line per file of `model` that is not ok (and per extra weight file), then a summary."""
    from rbee.cli.progress import format_bytes
    from rbee.cli.style import printable
    from rbee.workflows.verify import NO_RECORD

    name = printable(model.id)
    if model.status == NO_RECORD and not model.downloaded:
        # `record` would fail (nothing on disk): what to do is download it.
        if model.repo:
            text = f"{name}: not downloaded (get it with 'rbee-hive models download {name}')"
        else:
            text = f"{name}: not downloaded, no model files in {printable(model.directory)}"
        return [style(text, "red" if strict else "yellow")]
    if model.status == NO_RECORD:
        text = f"{name}: no record (make one with 'rbee-hive models record {name}')"
        return [style(text, "red" if strict else "yellow")]
    lines = []
    for item in model.problems():
        reason = f" ({item.reason})" if item.reason else ""
        lines.append(f"{name}: {style(item.status, 'red')} {printable(item.path)}{reason}")
    for extra in model.extra:
        lines.append(
            f"{name}: {style('extra', 'red')} {printable(extra)} "
            "(a weight file the record does not list)"
        )
    n_files = len(model.files)
    if not lines:
        size = format_bytes(model.recorded_bytes)
        lines.append(f"{name}: {style('ok', 'green')}, {n_files} file(s), {size}")
        return lines
    counts = [
        f"{model.count(status)} {status}"
        for status in ("missing", "changed", "unreadable")
        if model.count(status)
    ]
    summary = f"{name}: {style('failed', 'red')}"
    if counts:
        summary += f": {', '.join(counts)} of {n_files} file(s)"
    if n_files and model.count("missing") == n_files and not os.path.isdir(model.directory):
        summary += f" (no folder {printable(model.directory)})"
    if model.extra:
        summary += f"{';' if counts else ':'} {len(model.extra)} weight file(s) not in the record"
    lines.append(summary)
    return lines
