"""`llorch pool list` and `llorch pool check`."""

from __future__ import annotations

import argparse
import posixpath
import re
import shlex
from typing import Any

from rbee.cli import exitcodes
from rbee.cli.style import printable
from rbee.keeper.commands.common import (
    in_order,
    load_config,
    make_runner,
    output,
    parallelism,
    select_pools,
)
from rbee.keeper.config import Pool
from rbee.keeper.ssh import WORKDIR_FAILED, RemoteResult, Runner, quote_word


def run_list(args: argparse.Namespace) -> int:
    config = load_config(args)
    out = output(args)
    if args.json:
        document = {
            pool.name: {"ssh": pool.ssh, "workdir": pool.workdir, "hive": pool.hive}
            for pool in config.pools.values()
        }
        out.json(document)
        return exitcodes.OK
    if getattr(args, "quiet", False):
        # Names only (shell completion reads them); a name may hold any character: inert.
        out.lines([printable(name) for name in config.pools])
        return exitcodes.OK
    if not config.pools:
        state = "" if config.exists else " (the file does not exist)"
        out.hint(
            f'no pools configured in {config.path}{state}; add [pools."NAME"] tables, '
            "see docs/remote.md"
        )
        return exitcodes.OK
    rows = [("POOL", "SSH", "WORKDIR", "HIVE")] + [
        # A workdir may hold any character (a newline, an escape): one row each, and inert.
        (pool.name, pool.ssh, printable(pool.workdir), printable(pool.hive))
        for pool in config.pools.values()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for number, row in enumerate(rows):
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        line = f"{line}  {row[3]}"
        out.line(out.style(line, "bold") if number == 0 else line)
    return exitcodes.OK


PROBE_MARKER = "--rbee-check--"
"""The probe's first line: anything before it was printed by the pool's shell start-up."""


def probe_script(pool: Pool) -> str:
    """Prints the workdir, the catalog path rbee-hive would use there, whether it exists, and
    `rbee-hive --version`. The catalog rule is rbee-hive's: $RBEE_CATALOG, else
    ${RBEE_ROOT:-.}/.test-models/catalog.json, relative to the workdir; with the variables
    that a `hive = "env NAME=VALUE ... rbee-hive"` setting gives it."""
    words = pool.hive_words()
    hive = " ".join(quote_word(word) for word in words)
    exports = "".join(
        f"export {name}={shlex.quote(value)}; " for name, value in env_assignments(words)
    )
    return (
        f"cd -- {quote_word(pool.workdir)} >/dev/null || exit {WORKDIR_FAILED}; "
        f"( {exports}"
        'c="${RBEE_CATALOG:-${RBEE_ROOT:-.}/.test-models/catalog.json}"; '
        'case "$c" in /*) ;; *) c="$PWD/$c" ;; esac; '
        'if [ -e "$c" ]; then e=yes; else e=no; fi; '
        f'printf \'%s\\n\' {PROBE_MARKER} "$PWD" "$c" "$e" ); '
        f"{hive} --version; exit $?"
    )


def env_assignments(words: list[str]) -> list[tuple[str, str]]:
    """The `NAME=VALUE` words of a command that starts with `env` (as `env` reads them)."""
    if not words or words[0] != "env":
        return []
    found = []
    for word in words[1:]:
        name, equals, value = word.partition("=")
        if not equals or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            break
        found.append((name, value))
    return found


def _config_name(runner: Runner) -> str:
    return runner.pools_file or "pools.toml"


def _check_one(runner: Runner, pool: Pool) -> dict[str, Any]:
    result: RemoteResult = runner.run_script(pool, probe_script(pool))
    if result.ok:
        lines = result.stdout.decode("utf-8", errors="replace").splitlines()
        start = lines.index(PROBE_MARKER) if PROBE_MARKER in lines else len(lines)
        found = lines[start + 1 :]
        version = found[3] if len(found) == 4 else ""
        if start == 0 and version.startswith("rbee-hive "):
            return {
                "ok": True,
                "ssh": pool.ssh,
                "version": version.removeprefix("rbee-hive ").strip(),
                "workdir": found[0],
                "catalog": posixpath.normpath(found[1]),
                "catalog_exists": found[2] == "yes",
            }
        result.kind = "shell"
        if start > 0:
            # It would be mixed into every rbee-hive output: tables, and JSON that no longer parses.
            result.message = (
                f"{pool.name}: the pool's shell prints {lines[0]!r} when it starts, before any "
                "command's output; make its start-up files (~/.bashrc) print only in "
                "interactive shells"
            )
        else:
            result.kind = "not-installed"
            printed = repr(" | ".join(found[3:])) if found[3:] else "nothing"
            result.message = (
                f"{pool.name}: {pool.hive!r} is not rbee-hive: `--version` printed {printed}; "
                f'set hive = "/path/to/rbee-hive" for this pool in {_config_name(runner)}'
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
    # Each result names its pool: after Ctrl-C, `in_order` yields only the pools that answered.
    results = in_order(
        pools,
        lambda pool: (pool, _check_one(runner, pool)),
        parallelism(args),
        runner,
        partial=True,
    )
    out = output(args)
    status = exitcodes.OK
    if args.json:
        document = {}
        try:
            for pool, report in results:
                document[pool.name] = report
                if not report["ok"]:
                    status = exitcodes.FAILURE
        except KeyboardInterrupt:
            out.json(document)
            raise
        out.json(document)
        return status
    style = out.style
    width = max(len(pool.name) for pool in pools)
    for pool, report in results:
        name = pool.name.ljust(width)
        if report["ok"]:
            catalog = report["catalog"] + ("" if report["catalog_exists"] else " (not created yet)")
            # What the pool printed must not drive our terminal (escape sequences).
            line = (
                f"{name}  {style('ok', 'green')}      rbee-hive {printable(report['version'])}  "
                f"workdir {printable(report['workdir'])}  catalog {printable(catalog)}"
            )
        else:
            status = exitcodes.FAILURE
            line = f"{name}  {style('FAILED', 'red')}  {printable(report['error'])}"
        out.line(line)
        out.stdout.flush()
    return status
