"""`rbee-hive models download ID [ID...]`: models' files from the Hugging Face Hub.

Parses, calls `rbee.workflows.download.download_models` (every id checked against the catalog
before any byte moves, then one model after another), renders each result as it finishes.
Progress goes to stderr (`rbee.cli.progress`).
"""

from __future__ import annotations

import argparse

from rbee.hive.context import Hive

TYPE_CHECKING = False
if TYPE_CHECKING:
    from rbee.workflows.download import DownloadResult


def run(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.workflows.download import download_models

    def show(result: DownloadResult) -> None:
        if not args.json and not hive.quiet:
            hive.out.lines(result_lines(result, hive))
            hive.out.stdout.flush()

    results = download_models(
        hive.catalog_path,
        args.ids,
        hive.root,
        on_result=show,
        revision=args.revision,
        quant=args.quant,
        include=args.include or (),
        dry_run=args.dry_run,
        force=args.force,
        progress=hive.long_running_progress(args),
    )
    if args.json:
        hive.out.json({"dry_run": bool(args.dry_run), "models": [r.to_dict() for r in results]})
    return 0


def result_lines(result: DownloadResult, hive: Hive) -> list[str]:
    from rbee.cli.progress import format_bytes
    from rbee.cli.style import printable
    from rbee.workflows.disk import format_gb

    style = hive.out.style
    where = _shown_path(result.destination, hive.root)
    if not result.dry_run:
        count = len(result.files)
        moved = result.transferred_bytes
        if result.status == "complete":
            detail = "already complete, nothing transferred"
        else:
            detail = f"{format_bytes(moved)} transferred"
        mark = style("✅", "green")
        return [
            f"{mark} Model {printable(result.model_id)} downloaded: {count} file(s), "
            f"{format_bytes(result.total_bytes)} in {printable(where)} ({detail})"
        ]
    lines = [
        style(
            f"{printable(result.model_id)}: {printable(result.repo)}@{printable(result.revision)}"
            f" (commit {result.commit[:12]}) -> {printable(where)}",
            "bold",
        )
    ]
    width = max(len(printable(f.remote.path)) for f in result.files)
    for planned in result.files:
        action = planned.action
        if action == "resume":
            action = f"resume from {format_bytes(planned.already)}"
        lines.append(
            f"  {printable(planned.remote.path).ljust(width)}  "
            f"{format_bytes(planned.remote.size):>10}  {action}"
        )
    lines.append(
        f"  total {format_bytes(result.total_bytes)} in {len(result.files)} file(s), "
        f"{format_bytes(result.missing_bytes)} to download; "
        f"{format_gb(result.free_bytes)} free at the destination"
    )
    lines.append("  (dry run: nothing was written)")
    return lines


def _shown_path(path: str, root: str) -> str:
    import os

    relative = os.path.relpath(path, os.path.abspath(root))
    return path if relative.startswith("..") else relative
