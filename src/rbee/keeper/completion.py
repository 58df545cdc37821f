"""`llorch completion bash|zsh`: completion scripts generated from llorch's own parser.

Every command, option and choice, rbee-hive's remote subcommands included; files for `--pools`
and `--from FILE`; and the pool names of the pools file for `--host` and every option whose
value is a POOL, by asking `llorch pool list -q` (with a `--pools FILE` already on the line).
Paths given to the remote commands (`inspect PATH`) are paths on the pool and are not
completed here. The generator is `rbee.cli.completion`.
"""

from __future__ import annotations

import argparse

from rbee.cli import exitcodes
from rbee.cli.completion import Completion, script

FUNCTION = "_llorch"
FILE_OPTIONS = ("--pools", "--from")
# Options whose values `llorch pool list -q` needs to read the same pools file.
LOCATION_OPTIONS = ("--pools",)

COMPLETION = Completion(
    "llorch",
    FUNCTION,
    file_options=FILE_OPTIONS,
    dynamic_options={"--host": "pools", "POOL": "pools"},
    kinds={"pools": '"${COMP_WORDS[0]}" "${location[@]}" pool list -q'},
    location_options=LOCATION_OPTIONS,
)


def completion_script(shell: str) -> str:
    """The script for `shell` ("bash" or "zsh")."""
    from rbee.keeper.cli import build_parser

    return script(shell, build_parser(lazy=False), COMPLETION)


def run(args: argparse.Namespace) -> int:
    from rbee.keeper.commands.common import output

    out = output(args)
    out.stdout.write(completion_script(args.shell))
    return exitcodes.OK
