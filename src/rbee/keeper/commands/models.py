"""`llorch pool models SUBCOMMAND`: rbee-hive's `models` commands, run on pools over ssh.

The command line sent to a pool is rebuilt from the parsed options (every value as one
`--option=value` word, so a value starting with `-` cannot turn into an option), never pasted
from what was typed. `--from FILE` is read and validated here and sent on stdin as `--from -`.

Output: with one pool, exactly what rbee-hive printed there (stdout, stderr, exit code). With
several, each pool's stdout under a `==> NAME <==` line in the order given, its stderr lines
prefixed with its name, failures as `error: NAME: ...` on stderr, and exit 1 if any failed;
with `--json`, one object keyed by pool.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import Any

from rbee.cli import exitcodes
from rbee.cli.errors import CommandError, UsageError, report
from rbee.cli.style import Styler
from rbee.keeper.commands.common import (
    in_order,
    load_config,
    make_runner,
    parallelism,
    select_pools,
    wants_color,
    write_bytes,
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
    for action in parser._actions:
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
        elif isinstance(action, argparse._StoreConstAction):
            # store_true/store_false/store_const; several may share a dest (--downloaded and
            # --not-downloaded): forward the one whose constant is the parsed value.
            if value == action.const and type(value) is type(action.const):
                options.append(flag)
        elif isinstance(action, argparse._CountAction):
            options.extend([flag] * int(value))
        elif isinstance(action, argparse._AppendAction):
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
    colored = wants_color(args, sys.stdout) and not json_mode
    hive_arguments = [
        "--color",
        "always" if colored else "never",
        "models",
        args.models_command,
        *forwarded,
    ]

    def job(pool: Pool) -> RemoteResult:
        return runner.run(pool, hive_arguments, stdin_data)

    results = in_order(pools, job, parallelism(args), runner)
    if not several:
        return _relay_one(next(iter(results)))
    if json_mode:
        return _relay_json(list(results))
    return _relay_text(results, Styler(colored))


def _relay_one(result: RemoteResult) -> int:
    """One pool: rbee-hive's bytes and exit code as they are, or our one-line ssh error."""
    if not result.hive_ran:
        write_bytes(sys.stdout, result.stdout)
        report(result.message)
        return exitcodes.FAILURE
    write_bytes(sys.stdout, result.stdout)
    write_bytes(sys.stderr, result.stderr)
    return result.exit_code


def _relay_stderr(result: RemoteResult) -> None:
    """A pool's stderr lines, each naming the pool; its error lines as `error: NAME: ...`."""
    name = result.pool.name
    if not result.hive_ran:
        report(result.message)
        return
    text = result.stderr.decode("utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    out = []
    for line in lines:
        if line.startswith("error: "):
            out.append(f"error: {name}: {line.removeprefix('error: ')}\n")
        else:
            out.append(f"{name}: {line}\n")
    if not result.ok and not any(line.startswith("error: ") for line in out):
        out.append(f"error: {result.message}\n")
    if out:
        sys.stdout.flush()
        sys.stderr.write("".join(out))
        sys.stderr.flush()


def _relay_text(results: Iterable[RemoteResult], style: Styler) -> int:
    status = exitcodes.OK
    for index, result in enumerate(results):
        header = ("\n" if index else "") + style(f"==> {result.pool.name} <==", "bold") + "\n"
        sys.stdout.write(header)
        write_bytes(sys.stdout, result.stdout)
        if result.stdout and not result.stdout.endswith(b"\n"):
            sys.stdout.write("\n")  # keep the next pool's header on a line of its own
        _relay_stderr(result)
        if not result.ok:
            status = exitcodes.FAILURE
    return status


def _relay_json(results: list[RemoteResult]) -> int:
    document: dict[str, Any] = {}
    status = exitcodes.OK
    for result in results:
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
            status = exitcodes.FAILURE
        document[name] = entry
        _relay_stderr(result)
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return status
