"""`llorch pool list` and `llorch pool check`."""

from __future__ import annotations

import argparse
import json
import posixpath
import sys
from typing import Any

from rbee.cli import exitcodes
from rbee.cli.style import Styler, use_color
from rbee.keeper.commands.common import (
    color_choice,
    in_order,
    load_config,
    make_runner,
    parallelism,
    select_pools,
)
from rbee.keeper.config import Pool
from rbee.keeper.ssh import WORKDIR_FAILED, RemoteResult, Runner, quote_word


def run_list(args: argparse.Namespace) -> int:
    config = load_config(args)
    if args.json:
        document = {
            pool.name: {"ssh": pool.ssh, "workdir": pool.workdir, "hive": pool.hive}
            for pool in config.pools.values()
        }
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return exitcodes.OK
    if not config.pools:
        state = "" if config.exists else " (the file does not exist)"
        print(
            f'no pools configured in {config.path}{state}; add [pools."NAME"] tables, '
            "see docs/remote.md",
            file=sys.stderr,
        )
        return exitcodes.OK
    style = Styler(use_color(sys.stdout, color_choice(args)))
    rows = [("POOL", "SSH", "WORKDIR", "HIVE")] + [
        (pool.name, pool.ssh, pool.workdir, pool.hive) for pool in config.pools.values()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for number, row in enumerate(rows):
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        line = f"{line}  {row[3]}"
        print(style(line, "bold") if number == 0 else line)
    return exitcodes.OK


def probe_script(pool: Pool) -> str:
    """Prints the workdir, the catalog path rbee-hive would use there, whether it exists, and
    `rbee-hive --version`. The catalog rule is rbee-hive's: $RBEE_CATALOG, else
    ${RBEE_ROOT:-.}/.test-models/catalog.json, relative to the workdir."""
    hive = " ".join(quote_word(word) for word in pool.hive_words())
    return (
        f"cd -- {quote_word(pool.workdir)} >/dev/null || exit {WORKDIR_FAILED}; "
        'c="${RBEE_CATALOG:-${RBEE_ROOT:-.}/.test-models/catalog.json}"; '
        'case "$c" in /*) ;; *) c="$PWD/$c" ;; esac; '
        'if [ -e "$c" ]; then e=yes; else e=no; fi; '
        'printf \'%s\\n\' "$PWD" "$c" "$e"; '
        f"{hive} --version; exit $?"
    )


def _check_one(runner: Runner, pool: Pool) -> dict[str, Any]:
    result: RemoteResult = runner.run_script(pool, probe_script(pool))
    if result.ok:
        lines = result.stdout.decode("utf-8", errors="replace").splitlines()
        if len(lines) >= 4:
            return {
                "ok": True,
                "ssh": pool.ssh,
                "version": lines[3].removeprefix("rbee-hive ").strip(),
                "workdir": lines[0],
                "catalog": posixpath.normpath(lines[1]),
                "catalog_exists": lines[2] == "yes",
            }
        result.kind = "hive"
        result.message = (
            f"{pool.name}: unexpected output from the pool (does its shell start-up print "
            f"anything?): {lines!r}"
        )
    elif result.kind == "hive":
        result.message = (
            f"{pool.name}: {pool.hive!r} is not a working rbee-hive "
            f"(`--version` exited {result.exit_code}): "
            + result.message.removeprefix(f"{pool.name}: ")
        )
    return {
        "ok": False,
        "ssh": pool.ssh,
        "error": result.message.removeprefix(f"{pool.name}: "),
        "kind": result.kind,
        "exit_code": exitcodes.FAILURE,
    }


def run_check(args: argparse.Namespace) -> int:
    config = load_config(args)
    pools = select_pools(args, config)
    runner = make_runner(args, config)
    results = in_order(pools, lambda pool: _check_one(runner, pool), parallelism(args), runner)
    status = exitcodes.OK
    if args.json:
        document = {}
        for pool, outcome in zip(pools, results, strict=True):
            document[pool.name] = outcome
            if not outcome["ok"]:
                status = exitcodes.FAILURE
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return status
    style = Styler(use_color(sys.stdout, color_choice(args)))
    width = max(len(pool.name) for pool in pools)
    for pool, outcome in zip(pools, results, strict=True):
        name = pool.name.ljust(width)
        if outcome["ok"]:
            catalog = outcome["catalog"] + (
                "" if outcome["catalog_exists"] else " (not created yet)"
            )
            line = (
                f"{name}  {style('ok', 'green')}      rbee-hive {outcome['version']}  "
                f"workdir {outcome['workdir']}  catalog {catalog}"
            )
        else:
            status = exitcodes.FAILURE
            line = f"{name}  {style('FAILED', 'red')}  {outcome['error']}"
        print(line, flush=True)
    return status
