"""The one place that turns exceptions into a one-line message and an exit code.

`error: <message>` on stderr; a traceback only with `RBEE_DEBUG=1`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from rbee.cli import exitcodes


class UsageError(Exception):
    """The command line is wrong in a way argparse cannot see; exit code 2."""


class CommandError(Exception):
    """An operational failure the CLI itself detects; exit code 1 unless told otherwise."""

    def __init__(self, message: str, exit_code: int = exitcodes.FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def debug_enabled() -> bool:
    return os.environ.get("RBEE_DEBUG", "") not in ("", "0")


def report(message: str) -> None:
    """Print one `error: ...` line on stderr."""
    from rbee.cli.style import printable

    # A file name or a value quoted from a hostile file must not drive the terminal.
    one_line = printable(" ".join(str(message).split()))
    print(f"error: {one_line}", file=sys.stderr, flush=True)


def run(main: Callable[[], int], prog: str) -> int:
    """Run a CLI's `main`, mapping every failure to a message and a named exit code.

    A closed output pipe is no failure: see `rbee.cli.streams`.
    """
    from rbee.cli.streams import guard_output

    restore = guard_output()
    try:
        return _run(main, prog)
    finally:
        restore()


def _run(main: Callable[[], int], prog: str) -> int:
    try:
        return main()
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return exitcodes.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); don't complain about it, and don't let Python's
        # own flush at exit raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return exitcodes.FAILURE
    except Exception as exc:
        if debug_enabled():
            raise
        # Imported only now: a command that never touches a catalog must not pay for it.
        from rbee.catalog.errors import CatalogError

        if isinstance(exc, UsageError | CommandError | CatalogError | OSError):
            report(str(exc) if not isinstance(exc, OSError) else _os_error_message(exc))
            if isinstance(exc, UsageError):
                return exitcodes.USAGE
            if isinstance(exc, CommandError):
                return exc.exit_code
            return exitcodes.FAILURE
        report(
            f"{prog}: unexpected {type(exc).__name__}: {exc} (run with RBEE_DEBUG=1 for details)"
        )
        return exitcodes.FAILURE


def _os_error_message(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    return f"{exc.filename}: {reason}" if exc.filename else reason
