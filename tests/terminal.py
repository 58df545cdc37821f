"""Run a command with its stderr on a pseudo-terminal, as a person at a terminal would see it.

For the progress tests: the bar is drawn only when stderr is a terminal. stdout stays a pipe, so
the result can be checked apart from the progress.
"""

from __future__ import annotations

import os
import pty
import subprocess
import threading
from typing import Any


def run_with_stderr_on_a_terminal(
    argv: list[str], *, timeout: float = 120, **popen: Any
) -> tuple[subprocess.CompletedProcess[bytes], str]:
    """Run `argv` (stdin from /dev/null, stdout a pipe, stderr a terminal) to its end; returns
    the finished process (its stdout captured) and everything written to the terminal."""
    controller, terminal = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(controller, 65536)
            except OSError:  # EIO: the terminal's last writer has gone
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=terminal,
            timeout=timeout,
            check=False,
            **popen,
        )
    finally:
        os.close(terminal)
        reader.join(timeout=30)
        os.close(controller)
    return done, b"".join(chunks).decode()
