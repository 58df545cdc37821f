"""A `rbee.workflows.progress.Progress` that shows only the notes, as `note: ...` on stderr."""

from __future__ import annotations

from rbee.cli.output import Output
from rbee.cli.style import printable
from rbee.workflows.progress import Progress


class NoteProgress(Progress):
    """Workflow notes (files not read, fields the files disagree with) as hints on stderr."""

    def __init__(self, out: Output, *, quiet: bool = False) -> None:
        self.out = out
        self.quiet = quiet

    def note(self, text: str) -> None:
        if not self.quiet:
            self.out.hint(f"note: {printable(text)}")
