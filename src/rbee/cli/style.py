"""When to colour, and the few styles we use.

Rules, strongest first: `--color always|never`, or `--color auto` given on the command line
(colour on a terminal, whatever the environment says: a per-run option beats the environment, as
the NO_COLOR convention asks); `NO_COLOR` non-empty turns colour off; `FORCE_COLOR` non-empty
turns it on; otherwise colour only when the stream is a terminal. JSON output is never coloured:
callers simply don't style it.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import TextIO

COLOR_CHOICES = ("auto", "always", "never")

_RESET = "\x1b[0m"
_CODES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "cyan": "36",
}


def use_color(stream: TextIO, choice: str = "auto", *, honour_environment: bool = True) -> bool:
    """Whether output to `stream` should be coloured under `choice` and the environment.

    `honour_environment=False` is for an `auto` the user typed: then only the terminal decides.
    """
    if choice == "always":
        return True
    if choice == "never":
        return False
    if honour_environment:
        if os.environ.get("NO_COLOR"):
            return False
        if os.environ.get("FORCE_COLOR"):
            return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Styler:
    """Wraps text in ANSI styles, or leaves it alone when colour is off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\x1b[{codes}m{text}{_RESET}"


def printable(text: str) -> str:
    """`text` safe to print on a terminal: control characters shown as escapes (`\\x1b`).

    Model files, and catalogs edited by hand, are not ours: a GGUF name or a file name holding
    escape sequences must not retitle the terminal, clear it or recolour what follows. The rule
    (which characters, how escaped) is the catalog library's, so errors and output agree.
    """
    if text.isprintable():  # without importing the catalog library at all
        return text
    from rbee.catalog.errors import one_line

    return one_line(text)
