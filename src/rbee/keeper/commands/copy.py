"""`llorch models copy ID --from POOL --to POOL [--to POOL...]`: parse, copy, render.

The work is `rbee.keeper.copy.Copier` (relaying between the pools) and `rbee.workflows.copy` (the
rules, on the pools). Both pools must be in the pools file: a copy writes to the destination,
so a typo must not reach some other host.
"""

from __future__ import annotations

import argparse
import sys

from rbee.cli import exitcodes
from rbee.cli.errors import CommandError, UsageError, report
from rbee.keeper.commands.common import load_config, make_runner, output
from rbee.keeper.config import Pool, PoolsConfig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from rbee.keeper.copy import CopyInterrupted


def _pool(config: PoolsConfig, name: str, option: str) -> Pool:
    pool = config.pools.get(name)
    if pool is None:
        known = ", ".join(config.pools) if config.pools else "none are configured"
        raise CommandError(f"{option}: unknown pool {name!r}: not in {config.path} ({known})")
    return pool


def run(args: argparse.Namespace) -> int:
    from rbee.cli.progress import format_bytes, make_progress
    from rbee.keeper.copy import Copier, CopyInterrupted

    config = load_config(args)
    source = _pool(config, args.source, "--from")
    destinations = [_pool(config, name, "--to") for name in dict.fromkeys(args.destinations)]
    if source in destinations:
        raise UsageError(f"--to {source.name}: that is the pool the model is copied from")
    if args.path is not None and not args.path.strip():
        raise UsageError("--path needs a folder; leave it out for the default")
    base = make_runner(args, config).base
    progress = make_progress(sys.stderr, quiet=args.quiet or args.json)
    copier = Copier(
        base,
        source,
        destinations,
        connect_timeout=args.timeout,
        pools_file=config.path,
        progress=progress,
    )
    out = output(args)
    try:
        result = copier.copy(args.id, path=args.path, update=args.update)
    except CopyInterrupted as stopped:
        out.stdout.flush()
        erase = "\r\x1b[K" if out.stderr.isatty() else ""  # the terminal's ^C goes
        out.hint(f"{erase}{interrupted_line(stopped)}")
        return exitcodes.INTERRUPTED
    if args.json:
        out.json(result.to_dict())
    for item in result.results:
        if not item.ok:
            report(item.error)
        elif not args.quiet and not args.json:
            mark = out.style("✅", "green")
            if item.status == "up-to-date":
                out.line(
                    f"{mark} {args.id} is already on {item.pool.name} ({item.path}): nothing copied"
                )
                continue
            details = [f"{item.files} file(s)", f"{format_bytes(item.sent_bytes)} sent"]
            if item.resumed_bytes:
                details.append(f"{format_bytes(item.resumed_bytes)} resumed")
            if item.skipped_files:
                details.append(f"{item.skipped_files} file(s) already there")
            out.line(
                f"{mark} Copied {args.id} from {source.name} to {item.pool.name} "
                f"({item.path}): {', '.join(details)}"
            )
    return exitcodes.OK if result.ok else exitcodes.FAILURE


def interrupted_line(stopped: CopyInterrupted) -> str:
    """The one stderr line after Ctrl-C (the `interrupted: ...` form of `llorch pool ...`): where
    the bytes that arrived are kept, and that a rerun resumes."""
    from rbee.cli.style import printable

    model_id = printable(stopped.model_id)
    if not stopped.staged:
        return f"interrupted: copy of {model_id} stopped before any file was sent"
    where = ", ".join(f"{printable(pool.name)}:{printable(path)}" for pool, path in stopped.staged)
    return (
        f"interrupted: copy of {model_id} stopped; what arrived is kept in {where}: run the "
        "same command again to resume"
    )
