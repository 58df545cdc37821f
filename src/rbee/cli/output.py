"""Where a command's output goes and how it looks: human text, JSON or nothing.

Results go to stdout; hints and progress go to stderr, so a script reading stdout sees only the
result. JSON is never coloured.
"""

from __future__ import annotations

import os
import sys

from rbee.cli.style import Styler, use_color

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any, TextIO


DEFAULT_TERMINAL_WIDTH = 80
"""The width of a terminal that does not say how wide it is."""


def terminal_columns(stream: TextIO) -> int:
    """The width of the terminal `stream` writes to; `DEFAULT_TERMINAL_WIDTH` when it does not say
    (0 columns, none at all, or not a terminal)."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return DEFAULT_TERMINAL_WIDTH
    return columns if columns > 0 else DEFAULT_TERMINAL_WIDTH


class Output:
    """A command's two streams, each with its own colour decision."""

    def __init__(
        self,
        color: str = "auto",
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        *,
        honour_environment: bool = True,
    ) -> None:
        """`honour_environment=False` when the user gave `--color` (even `auto`) for this run."""
        self.stdout = sys.stdout if stdout is None else stdout
        self.stderr = sys.stderr if stderr is None else stderr
        env = honour_environment
        self.style = Styler(use_color(self.stdout, color, honour_environment=env))
        self.err_style = Styler(use_color(self.stderr, color, honour_environment=env))

    def line(self, text: str = "") -> None:
        """One line of the result on stdout."""
        self.stdout.write(text + "\n")

    def lines(self, lines: list[str]) -> None:
        self.stdout.write("".join(line + "\n" for line in lines))

    def json(self, document: Any) -> None:
        """A JSON result on stdout, indented like the catalog file, never coloured."""
        import json

        self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")

    def write_bytes(self, data: bytes, *, stderr: bool = False) -> None:
        """Bytes as they are (llorch relaying a pool's output), after the text already written.

        A stream without a binary buffer (a test's StringIO) gets them decoded as UTF-8.
        """
        stream = self.stderr if stderr else self.stdout
        stream.flush()
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            buffer.write(data)
            buffer.flush()
        else:
            stream.write(data.decode("utf-8", errors="replace"))
            stream.flush()

    def hint(self, text: str) -> None:
        """A hint or a note on stderr (yellow when stderr takes colour)."""
        self.stderr.write(self.err_style(text, "yellow") + "\n")
        self.stderr.flush()

    def terminal_width(self) -> int | None:
        """The width of the terminal stdout writes to, or None when it is not a terminal.

        A terminal that reports no width (0 columns, or none: a serial console, some CI runners) is
        taken to be `DEFAULT_TERMINAL_WIDTH` wide.
        """
        try:
            if not self.stdout.isatty():
                return None
        except (AttributeError, ValueError, OSError):
            return None
        return terminal_columns(self.stdout)
