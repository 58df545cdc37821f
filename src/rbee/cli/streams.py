"""The process's standard streams: a closed output pipe is not an error; a closed stdin stops.

A closed output pipe (`rbee-hive models scan | head -1`) is not an error.

When whoever reads our stdout (or stderr) goes away, the rest of what we write there is dropped:
the stream is pointed at `/dev/null` and the command carries on to its end, so its exit code is
its own (0 on success), whether the reader quit before, during or after the writing, and nothing
is printed about it. Exiting on the first failed write instead (with 141, as `SIGPIPE` does,
or with 1) would make the code depend on that race: `scan | head -1` would exit 0 when scan
wrote everything into the pipe before `head` quit, and 141 when it did not.
"""

from __future__ import annotations

import io
import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

    from _typeshed import ReadableBuffer


class _PipeSafeFile(io.FileIO):
    """The process's own stdout or stderr file descriptor, which a closed reader cannot fail."""

    def write(self, data: ReadableBuffer, /) -> int:
        try:
            return super().write(data)
        except BrokenPipeError:
            drop_output(self.fileno())
            return len(memoryview(data))


def drop_output(fd: int) -> None:
    """Point `fd` at /dev/null: everything written to it from now on is dropped."""
    devnull = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _guarded(stream: object, fd: int) -> TextIO | None:
    """A copy of the process's stream `stream` on a pipe-safe file, or None to leave it be."""
    if not isinstance(stream, io.TextIOWrapper):
        return None
    try:
        if stream.fileno() != fd:
            return None
    except (AttributeError, ValueError, OSError):
        return None  # replaced by a test's capture, or closed: not ours to guard
    stream.flush()
    raw = _PipeSafeFile(fd, "wb", closefd=False)
    buffered = io.BufferedWriter(raw)
    return io.TextIOWrapper(
        buffered,
        encoding=stream.encoding,
        errors=stream.errors,
        line_buffering=bool(stream.line_buffering),
        write_through=getattr(stream, "write_through", False),
    )


def guard_output() -> Callable[[], None]:
    """Make the process's stdout and stderr safe from a closed reader; returns the undo.

    Streams a caller has replaced (pytest's capture, an in-process test) are left alone.
    """
    saved = sys.stdout, sys.stderr
    out = _guarded(sys.stdout, 1) if sys.stdout is sys.__stdout__ else None
    err = _guarded(sys.stderr, 2) if sys.stderr is sys.__stderr__ else None
    if out is not None:
        sys.stdout = out
    if err is not None:
        sys.stderr = err

    def restore() -> None:
        for guard in (out, err):
            if guard is not None:
                try:  # noqa: SIM105 - contextlib would cost start-up time
                    guard.flush()
                except (OSError, ValueError):
                    pass
        if out is not None and sys.stdout is out:
            sys.stdout = saved[0]
        if err is not None and sys.stderr is err:
            sys.stderr = saved[1]

    return restore


def stop_when_stdin_closes() -> None:
    """Interrupt this process (as Ctrl-C would) when stdin reaches its end.

    For the long-running commands llorch runs over ssh (`--stop-on-stdin-eof`): when llorch's ssh
    goes away, a download or a hash nobody waits for must stop (a download keeps its partial
    files for a rerun).
    """
    import signal
    import threading

    stdin = sys.stdin.fileno()
    main: int = threading.main_thread().ident or 0

    def watch() -> None:
        try:
            while os.read(stdin, 65536):
                pass
        except (OSError, ValueError):
            pass
        # To the main thread itself: a signal that lands on this thread would leave the main
        # thread asleep in its socket wait until the next byte.
        signal.pthread_kill(main, signal.SIGINT)

    threading.Thread(target=watch, daemon=True).start()
