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
    hive = Hive(args)
    try:
        status: int = handler(args, hive)
    except Exception as exc:
        from rbee.catalog.errors import ModelNotFoundError

        if isinstance(exc, ModelNotFoundError):
            # Say which catalog: over ssh, or with RBEE_CATALOG set, that is not obvious.
            from rbee.cli.errors import CommandError

            raise CommandError(
                f"model {exc.model_id!r} is not in the catalog {hive.catalog_path}"
            ) from exc
        raise
    sys.stdout.flush()
    return status


def main(argv: list[str] | None = None) -> int:
    """Run `rbee-hive` with `argv` (default: the process's arguments); returns the exit code."""
    try:
        return run(lambda: _main(argv), PROG)
    except SystemExit as exc:  # argparse's --help, --version and usage errors
        if exc.code is None:
            return 0
        return exc.code if isinstance(exc.code, int) else 1


if __name__ == "__main__":
    sys.exit(main())
