"""How long-running workflows report progress, without knowing what shows it.

A workflow calls these methods as it goes; the CLI passes an object that draws a bar on a
terminal, prints a line per finished file elsewhere, or nothing (`NO_PROGRESS`). Calls may come
from several threads (parallel hashing), so implementations must be thread-safe.
"""

from __future__ import annotations


class Progress:
    """The do-nothing base: subclass it and override what you show."""

    def begin(self, task: str, total_bytes: int, total_files: int) -> None:
        """A task starts: e.g. ('download tinyllama', 2_200_000_000, 3)."""

    def file_started(self, name: str, size: int, already: int = 0) -> None:
        """A file's transfer or hash starts; `already` bytes of it were there before (resume)."""

    def advance(self, name: str, n_bytes: int) -> None:
        """`n_bytes` more of file `name` are done."""

    def file_done(self, name: str, size: int, status: str = "ok") -> None:
        """A file is finished: `status` is a word such as ok, skipped, changed, missing."""

    def note(self, text: str) -> None:
        """A one-line remark worth showing (e.g. 'waiting for another download of X')."""

    def end(self) -> None:
        """The task is over (also after an error)."""


NO_PROGRESS = Progress()
"""Reports nowhere."""
