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
    from rbee.workflows.download import DownloadInterrupted, DownloadResult


def run(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.workflows.download import DownloadInterrupted, download_models

    if args.revision is not None and not args.revision.strip():
        from rbee.cli.errors import UsageError

        raise UsageError("--revision needs a branch, tag or commit; leave it out for main")

    def show(result: DownloadResult) -> None:
        if not args.json and not hive.quiet:
            hive.out.lines(result_lines(result, hive))
            hive.out.stdout.flush()

    try:
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
    except DownloadInterrupted as stopped:
        from rbee.cli import exitcodes

        hive.out.stdout.flush()
        hive.out.hint(interrupted_line(stopped, hive))
        return exitcodes.INTERRUPTED
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
        if result.removed_partial_bytes:
            stale = _shown_path(result.removed_partial_dir, hive.root)
            detail += (
                f"; removed {format_bytes(result.removed_partial_bytes)} of stale partial data "
                f"from {printable(stale)}"
            )
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


def interrupted_line(stopped: DownloadInterrupted, hive: Hive) -> str:
    """The one stderr line after Ctrl-C: what was kept, where, and that a rerun resumes (the
    same `interrupted: ...` form as llorch's)."""
    from rbee.cli.progress import format_bytes, is_terminal
    from rbee.cli.style import printable

    # On a terminal, the echoed ^C goes: the line starts clean.
    erase = "\r\x1b[K" if is_terminal(hive.out.stderr) else ""
    model_id = printable(stopped.model_id)
    if not stopped.kept_bytes:
        return (
            f"{erase}interrupted: download of {model_id} stopped before any partial data was "
            "kept; run the same command again to resume"
        )
    where = printable(_shown_path(stopped.partial_dir, hive.root))
    return (
        f"{erase}interrupted: download of {model_id} stopped; "
        f"{format_bytes(stopped.kept_bytes)} of partial data kept in {where}/: run the same "
        "command again to resume"
    )


def _shown_path(path: str, root: str) -> str:
    import os

    relative = os.path.relpath(path, os.path.abspath(root))
    return path if relative.startswith("..") else relative
