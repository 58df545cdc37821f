"""`rbee-hive completion bash|zsh`: completion scripts generated from the parser itself.

The script knows every command, option and choice (so it cannot drift from `--help`), completes
files and directories for path options, and model ids for `show`, `update`, `unregister` and
`scan` by asking `rbee-hive models catalog -q` (with the `--root`/`--catalog` already on the
line). The generator, shared with llorch, is `rbee.cli.completion`.
"""

from __future__ import annotations

import argparse

from rbee.cli import completion
from rbee.cli.completion import Completion
from rbee.hive.context import Hive

FUNCTION = "_rbee_hive"
DIRECTORY_OPTIONS = ("--root",)
FILE_OPTIONS = ("--catalog", "--from", "--path")
MODEL_ID_COMMANDS = ("models show", "models update", "models unregister", "models scan")
PATH_POSITIONALS = ("PATH",)
# Options whose values `rbee-hive models catalog -q` needs to find the same catalog.
LOCATION_OPTIONS = ("--root", "--catalog")


COMPLETION = Completion(
    "rbee-hive",
    FUNCTION,
    directory_options=DIRECTORY_OPTIONS,
    file_options=FILE_OPTIONS,
    dynamic_positionals=dict.fromkeys(MODEL_ID_COMMANDS, "ids"),
    kinds={"ids": '"${COMP_WORDS[0]}" "${location[@]}" models catalog -q'},
    location_options=LOCATION_OPTIONS,
    path_positionals=PATH_POSITIONALS,
)


def _parser() -> argparse.ArgumentParser:
    from rbee.hive.arguments import build_parser

    return build_parser(lazy=False)


def bash_function() -> str:
    """The completion function (bash syntax that zsh's bashcompinit also runs)."""
    return completion.bash_function(_parser(), COMPLETION)


def bash_script() -> str:
    return completion.bash_script(_parser(), COMPLETION)


def zsh_script() -> str:
    return completion.zsh_script(_parser(), COMPLETION)


def run(args: argparse.Namespace, hive: Hive) -> int:
    hive.out.stdout.write(bash_script() if args.shell == "bash" else zsh_script())
    return 0
