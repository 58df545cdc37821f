"""`llorch pool models download ID... --host H | --all`: `rbee-hive models download` on pools.

The same output rules as the other remote commands (`rbee.keeper.commands.models`): one pool
relays rbee-hive's stdout and exit code, several print `==> NAME <==` blocks or, with `--json`,
one object keyed by pool; exit 1 if any pool failed. What differs is progress, because a
download takes minutes to hours:

- each pool's stderr is read while it runs, not at the end; `--timeout` bounds connecting only,
  never the transfer;
- on a terminal, each pool is asked for machine-readable progress (`--progress=json`) and llorch
  draws one line per pool (`rbee.cli.progress.PoolBoard`); off a terminal, the pools' own lines
  (one per finished file) are relayed as they come, prefixed with the pool's name when there
  are several; `-q` asks the pools for none;
- Ctrl-C stops every pool: the ssh clients are killed, so each rbee-hive sees its stdin close
  (`--stop-on-stdin-eof`) and stops as on Ctrl-C, keeping its partial files for a rerun.
"""

from __future__ import annotations

import argparse
import threading

from rbee.cli.progress import is_terminal
from rbee.keeper.commands.common import (
    in_order,
    load_config,
    make_runner,
    output,
    parallelism,
    safe_text,
    select_pools,
)
from rbee.keeper.commands.models import Relay, forward_arguments
from rbee.keeper.config import Pool
from rbee.keeper.ssh import RemoteResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from rbee.cli.progress import PoolBoard


def run(args: argparse.Namespace) -> int:
    from rbee.cli.progress import PoolBoard

    config = load_config(args)
    pools = select_pools(args, config)
    runner = make_runner(args, config)
    out = output(args)
    json_mode = bool(getattr(args, "json", False))
    quiet = bool(getattr(args, "quiet", False))
    several = len(pools) > 1
    colored = out.style.enabled and not json_mode
    board = None
    if not quiet and is_terminal(out.stderr):
        board = PoolBoard(out.stderr, [pool.name for pool in pools])
        mode = "json"
    else:
        mode = "none" if quiet else "lines"
    forwarded = forward_arguments(args.remote_parser, args)
    hive_arguments = [
        "--color",
        "always" if colored else "never",
        "models",
        args.models_command,  # download, verify, record: the same streaming relay
        f"--progress={mode}",
        "--stop-on-stdin-eof",
        *forwarded,
    ]
    write_lock = threading.Lock()

    def relay_line(pool: Pool, line: str) -> bool:
        """Show one stderr line now; False to keep it for the final relay (errors)."""
        if line.startswith("error: ") or not line.strip():
            return False
        if board is not None and board.feed(pool.name, line):
            return True
        text = safe_text(line.encode(), color=None).rstrip("\n")
        with write_lock:
            if board is not None:
                board.print_above(f"{pool.name}: {text}" if several else text)
            else:
                out.stdout.flush()
                out.stderr.write((f"{pool.name}: {text}" if several else text) + "\n")
                out.stderr.flush()
        return True

    def job(pool: Pool) -> RemoteResult:
        return runner.run_streaming(pool, hive_arguments, lambda line: relay_line(pool, line))

    relay = Relay(out, color=(colored and out.err_style.enabled) if colored else None)
    try:
        results = in_order(pools, job, parallelism(args), runner)
        if not several:
            result = next(iter(results))
            if board is not None:
                if result.ok and result.exit_code == 0:
                    board.close()
                else:
                    board.clear()  # the error takes the progress line's place
            return relay.one(result)
        finished = _after_board(results, board)
        if json_mode:
            return relay.json(finished)
        return relay.text(finished)
    finally:
        if board is not None:
            board.close()


def _after_board(results: Iterable[RemoteResult], board: PoolBoard | None) -> list[RemoteResult]:
    """Every result (the board keeps drawing until the last pool is done), then the board goes."""
    collected = list(results)
    if board is not None:
        board.close()
    return collected
