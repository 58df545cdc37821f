"""`llorch pool models SUBCOMMAND`: rbee-hive's `models` commands, run on pools over ssh.

The command line sent to a pool is rebuilt from the parsed options (every value as one
`--option=value` word, so a value starting with `-` cannot turn into an option), never pasted
from what was typed. `--from FILE` is read and validated here and sent on stdin as `--from -`.

Output: with one pool, exactly what rbee-hive printed there (stdout, stderr, exit code). With
several, each pool's stdout under a `==> NAME <==` line in the order given, its stderr lines
prefixed with its name, failures as `error: NAME: ...` on stderr, and exit 1 if any failed;
with `--json`, one object keyed by pool. A pool's stderr is shown with its control characters
escaped (it must not drive our terminal). After Ctrl-C, the pools that had answered are shown
and `llorch` names the others (see `rbee.keeper.commands.common.in_order`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterable
from typing import Any

from rbee.cli import exitcodes
from rbee.cli.errors import CommandError, UsageError, report
from rbee.cli.output import Output
from rbee.cli.parsing import action_kind, parser_actions
from rbee.cli.style import printable
from rbee.keeper.commands.common import (
    in_order,
    load_config,
    make_runner,
    output,
    parallelism,
    safe_text,
    select_pools,
)
from rbee.keeper.config import Pool
from rbee.keeper.ssh import RemoteResult, plain_lines

LLORCH_DESTS = frozenset(
    {"hosts", "group_hosts", "all", "timeout", "parallel", "pools", "color", "help"}
)
"""Options llorch consumes itself; everything else is rbee-hive's and is forwarded."""

STDIN_FILE_DESTS = {"from_file": "from_name"}
"""Options naming a local file that is read here and sent on stdin as `-`, each with the
option that tells rbee-hive the file's name (for its messages and for TOML-or-JSON)."""


def _flag(action: argparse.Action) -> str:
    return next((s for s in action.option_strings if s.startswith("--")), action.option_strings[0])


def forward_arguments(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    extra_options: list[str] | None = None,
) -> list[str]:
    """The rbee-hive arguments equivalent to what was parsed: options first, then positionals."""
    options: list[str] = []
    positionals: list[str] = []
    for action in parser_actions(parser):
        dest = action.dest
        if dest in LLORCH_DESTS or dest == argparse.SUPPRESS or not hasattr(args, dest):
            continue
        value = getattr(args, dest)
        if not action.option_strings:
            if value is not None:
                items = value if isinstance(value, list) else [value]
                positionals.extend(str(item) for item in items)
            continue
        if value is None or (value == action.default and type(value) is type(action.default)):
            continue
        flag = _flag(action)
        if dest in STDIN_FILE_DESTS:
            options.append(f"{flag}=-")
        elif action_kind(action) == "const":
            # store_true/store_false/store_const; several may share a dest (--downloaded and
            # --not-downloaded): forward the one whose constant is the parsed value.
            if value == action.const and type(value) is type(action.const):
                options.append(flag)
        elif action_kind(action) == "count":
            options.extend([flag] * int(value))
        elif action_kind(action) == "append":
            options.extend(f"{flag}={item}" for item in value)
        elif isinstance(value, list) and action.nargs is None:
            # Python 3.11's argparse turns the value `--` (as in `--name=--`) into [].
            raise UsageError(
                f"{flag}: the value '--' cannot be passed on a command line (Python's argparse "
                "drops it); put the entry in a file and use --from"
            )
        elif isinstance(value, list):
            options.append(flag)
            options.extend(str(item) for item in value)
        else:
            options.append(f"{flag}={value}")
    if any(item.startswith("-") for item in positionals):
        positionals.insert(0, "--")
    return options + (extra_options or []) + positionals


def read_stdin_file(value: str, label: str | None = None) -> bytes:
    """The contents of a `--from` list (`-`: our stdin), validated here before any pool sees it."""
    from rbee.catalog.entries_file import STDIN_NAME, parse_entries

    if value == "-":
        data = sys.stdin.buffer.read()
        source = label or STDIN_NAME
    else:
        try:
            with open(value, "rb") as file:
                data = file.read()
        except OSError as exc:
            raise CommandError(f"{value}: cannot read the file: {exc.strerror or exc}") from None
        source = value
    parse_entries(data, source)
    return data


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    pools = select_pools(args, config)
    stdin_data: bytes | None = None
    name_options: list[str] = []
    for dest, name_dest in STDIN_FILE_DESTS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        label = getattr(args, name_dest, None)
        if value != "-" and label is not None:
            raise UsageError(f"--{name_dest.replace('_', '-')} goes with --from - (stdin) only")
        stdin_data = read_stdin_file(value, label)
        if value != "-" and hasattr(args, name_dest):
            # The pool reads stdin; it names the list (and tells TOML from JSON) as we do.
            name_options.append(f"--{name_dest.replace('_', '-')}={value}")
    runner = make_runner(args, config)
    forwarded = forward_arguments(args.remote_parser, args, extra_options=name_options)
    json_mode = bool(getattr(args, "json", False))
    several = len(pools) > 1
    out = output(args)
    colored = out.style.enabled and not json_mode
    hive_arguments = [
        "--color",
        "always" if colored else "never",
        "models",
        args.models_command,
        *forwarded,
    ]

    def job(pool: Pool) -> RemoteResult:
        return runner.run(pool, hive_arguments, stdin_data)

    # After Ctrl-C, the pools that had answered are still shown (each result names its pool).
    results = in_order(pools, job, parallelism(args), runner, partial=True)
    # A pool's stderr is escaped: whatever runs there must not drive our terminal. Colour
    # sequences stay when we asked rbee-hive for them and our stderr takes colour.
    relay = Relay(out, color=(colored and out.err_style.enabled) if colored else None)
    if not several:
        return relay.one(next(iter(results)))
    if json_mode:
        return relay.json(results)
    return relay.text(results)


class Relay:
    """Prints what pools returned, through the shared `Output`."""

    def __init__(self, out: Output, *, color: bool | None) -> None:
        self.out = out
        self.color = color

    def one(self, result: RemoteResult) -> int:
        """One pool: rbee-hive's stdout and exit code as they are, its stderr made safe; or our
        one-line ssh error."""
        self.out.write_bytes(result.stdout)
        if not result.hive_ran:
            report(result.message)
            return exitcodes.FAILURE
        self.out.stderr.write(safe_text(result.stderr, color=self.color))
        self.out.stderr.flush()
        return result.exit_code

    def stderr(self, result: RemoteResult) -> None:
        """A pool's stderr lines, each naming the pool; its error lines as `error: NAME: ...`."""
        name = result.pool.name
        if not result.hive_ran:
            report(result.message)
            return
        text = safe_text(result.stderr, color=self.color)
        lines = [line for line in text.splitlines() if line.strip()]
        out = []
        for line in lines:
            if line.startswith("error: "):
                out.append(f"error: {name}: {line.removeprefix('error: ')}\n")
            else:
                out.append(f"{name}: {line}\n")
        if not result.ok and not any(line.startswith("error: ") for line in out):
            out.append(f"error: {printable(result.message)}\n")
        if out:
            self.out.stdout.flush()
            self.out.stderr.write("".join(out))
            self.out.stderr.flush()

    def text(self, results: Iterable[RemoteResult]) -> int:
        """Several pools: each one's stdout under a `==> NAME <==` line, in order."""
        status = exitcodes.OK
        for index, result in enumerate(results):
            header = self.out.style(f"==> {result.pool.name} <==", "bold")
            self.out.line(("\n" if index else "") + header)
            self.out.write_bytes(result.stdout)
            if result.stdout and not result.stdout.endswith(b"\n"):
                self.out.line()  # keep the next pool's header on a line of its own
            self.stderr(result)
            if not result.ok:
                status = exitcodes.FAILURE
        return status

    def json(self, results: Iterable[RemoteResult]) -> int:
        """Several pools with --json: one object keyed by pool (after Ctrl-C: the pools that
        had answered)."""
        document: dict[str, Any] = {}
        status = exitcodes.OK
        try:
            for result in results:
                if not self._add(document, result):
                    status = exitcodes.FAILURE
                self.stderr(result)
        except KeyboardInterrupt:
            self.out.json(document)
            raise
        self.out.json(document)
        return status

    @staticmethod
    def _add(document: dict[str, Any], result: RemoteResult) -> bool:
        name = result.pool.name
        entry: dict[str, Any]
        if result.ok:
            try:
                entry = {"ok": True, "result": json.loads(result.stdout)}
            except ValueError:
                first = " ".join(plain_lines(result.stdout)[:1])[:120]
                result.kind = "hive"
                result.message = f"{name}: rbee-hive printed something that is not JSON: {first!r}"
                result.exit_code = exitcodes.FAILURE
        if not result.ok:
            entry = {
                "ok": False,
                "error": result.message.removeprefix(f"{name}: "),
                "exit_code": result.exit_code if result.kind == "hive" else exitcodes.FAILURE,
                "kind": result.kind,
            }
            if result.kind == "hive" and result.stdout.strip():
                # A report that says "not ok" by its exit code (verify): keep the report.
                with contextlib.suppress(ValueError):
                    entry["result"] = json.loads(result.stdout)
        document[name] = entry
        return result.ok
