"""The `rbee-hive` console script: parse, resolve the pool, run one command.

Start-up time is a feature: only argparse is imported here; each command imports what it needs.
"""

from __future__ import annotations

import sys

from rbee.cli.errors import run

PROG = "rbee-hive"


def _main(argv: list[str] | None = None) -> int:
    from rbee.hive.arguments import build_parser
    from rbee.hive.context import Hive

    args, unknown = build_parser().parse_known_args(argv)
    if unknown:
        from rbee.cli.errors import UsageError

        command = " ".join(
            part for part in (PROG, args.command, getattr(args, "models_command", None)) if part
        )
        raise UsageError(
            f"{command}: unrecognized arguments: {' '.join(unknown)} (see '{command} --help')"
        )
    module_name, _, function_name = args.handler.partition(":")
    __import__(module_name)  # importlib.import_module would cost importing importlib
    handler = getattr(sys.modules[module_name], function_name)
    status: int = handler(args, Hive(args))
    sys.stdout.flush()
    return status


def main(argv: list[str] | None = None) -> int:
    """Run `rbee-hive` with `argv` (default: the process's arguments); returns the exit code."""
    return run(lambda: _main(argv), PROG)


if __name__ == "__main__":
    sys.exit(main())
