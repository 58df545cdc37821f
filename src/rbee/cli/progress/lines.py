"""One run's progress: a bar redrawn in place on a terminal, or a line per finished file."""

from __future__ import annotations

import threading
import time

from rbee.cli.output import terminal_columns
from rbee.cli.progress.units import format_bytes, format_duration
from rbee.cli.style import printable
from rbee.workflows.progress import Progress

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import TextIO

REDRAW_INTERVAL = 0.1
"""Seconds between two redraws of the bar."""


class TaskState:
    """What the bar and the lines show; guarded by the owner's lock."""

    def __init__(self) -> None:
        self.task = ""
        self.total_bytes = 0
        self.total_files = 0
        self.done_bytes = 0  # including what was there before (resume)
        self.moved_bytes = 0  # transferred or hashed in this run (for the rate)
        self.files_done = 0
        self.started = time.monotonic()
        self.current = ""
        # name -> [size, done, kept]: `kept` is what an earlier run left (resume) until the first
        # new bytes of the file arrive: meanwhile the kept part is being checked (hashed).
        self.files: dict[str, list[int]] = {}

    @property
    def drawable(self) -> bool:
        """A task has begun with something to count (no bar for a note alone, or 0 of 0)."""
        return bool(self.task) and (self.total_bytes > 0 or self.total_files > 0)


class LockedProgress(Progress):
    """Bookkeeping shared by the bar and the lines; subclasses draw."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.state = TaskState()
        self.active = False  # between `begin` and `end`

    def begin(self, task: str, total_bytes: int, total_files: int) -> None:
        with self.lock:
            self.active = True
            self.state = TaskState()
            self.state.task = task
            self.state.total_bytes = max(0, total_bytes)
            self.state.total_files = max(0, total_files)
            self._changed(force=True)

    def file_started(self, name: str, size: int, already: int = 0) -> None:
        with self.lock:
            state = self.state
            state.files[name] = [size, already, max(0, already)]
            state.current = name
            state.done_bytes += already
            self._changed(force=True)

    def advance(self, name: str, n_bytes: int) -> None:
        with self.lock:
            state = self.state
            entry = state.files.get(name)
            if entry is not None:
                entry[1] += n_bytes
                entry[2] = 0  # bytes are moving: the kept part has been checked
                state.current = name
            state.done_bytes += n_bytes
            state.moved_bytes += n_bytes
            self._changed(force=False)

    def file_done(self, name: str, size: int, status: str = "ok") -> None:
        with self.lock:
            state = self.state
            entry = state.files.pop(name, None)
            if entry is not None and entry[1] < size:
                state.done_bytes += size - entry[1]  # e.g. a file skipped as complete
            elif entry is None:
                state.done_bytes += size
            state.files_done += 1
            if state.current == name:
                state.current = next(iter(state.files), "")
            self._finished(name, size, status)

    def note(self, text: str) -> None:
        with self.lock:
            self._note(text)

    def end(self) -> None:
        with self.lock:
            self._end()
            self.active = False  # notes after the task draw no bar of it

    # -- drawing, called with the lock held --------------------------------------------------

    def _changed(self, *, force: bool) -> None:
        pass

    def _finished(self, name: str, size: int, status: str) -> None:
        pass

    def _note(self, text: str) -> None:
        self._write(printable(text) + "\n")

    def _end(self) -> None:
        pass

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass  # progress is never worth failing the work for (closed or broken stderr)


class LineProgress(LockedProgress):
    """One line per finished file, and the notes; for streams that are not terminals."""

    def __init__(self, stream: TextIO, prefix: str = "") -> None:
        super().__init__(stream)
        self.prefix = prefix

    def _finished(self, name: str, size: int, status: str) -> None:
        state = self.state
        count = f"[{state.files_done}/{state.total_files}] " if state.total_files else ""
        self._write(f"{self.prefix}{count}{status}  {printable(name)}  {format_bytes(size)}\n")

    def _note(self, text: str) -> None:
        self._write(self.prefix + printable(text) + "\n")


class BarProgress(LockedProgress):
    """A one-line bar redrawn in place on a terminal."""

    def __init__(self, stream: TextIO, width: int | None = None) -> None:
        super().__init__(stream)
        self._width = width
        self._last_draw = 0.0
        self._drawn = False

    def columns(self) -> int:
        if self._width is not None:
            return self._width
        return terminal_columns(self.stream)

    def line(self) -> str:
        """The bar as it is now (without control characters)."""
        return bar_line(self.state, self.columns(), time.monotonic())

    def _changed(self, *, force: bool) -> None:
        if not (self.active and self.state.drawable):
            return
        now = time.monotonic()
        if not force and now - self._last_draw < REDRAW_INTERVAL:
            return
        self._last_draw = now
        self._write("\r\x1b[K" + bar_line(self.state, self.columns(), now))
        self._drawn = True

    def _clear(self) -> None:
        if self._drawn:
            self._write("\r\x1b[K")
            self._drawn = False

    def _finished(self, name: str, size: int, status: str) -> None:
        if status not in ("ok", "done", "downloaded"):
            # Worth a line of its own (skipped, failed...); a finished file just moves the bar.
            self._clear()
            self._write(f"{status}  {printable(name)}  {format_bytes(size)}\n")
        self._changed(force=True)

    def _note(self, text: str) -> None:
        self._clear()
        self._write(printable(text) + "\n")
        self._changed(force=True)

    def _end(self) -> None:
        self._clear()


def bar_line(state: TaskState, columns: int, now: float) -> str:
    """`task [#####-----] 1.20/2.20 GB  45.3 MB/s  0:21 left  [2/3] name 41%`, fitted to columns."""
    elapsed = max(1e-6, now - state.started)
    rate = state.moved_bytes / elapsed
    total = state.total_bytes
    done = min(state.done_bytes, total) if total else state.done_bytes
    fraction = done / total if total else 0.0
    parts = [f"{format_bytes(done)}/{format_bytes(total)}"]
    if not total and state.total_files:  # a task that counts files, not bytes (scan)
        fraction = min(1.0, state.files_done / state.total_files)
        parts = [f"{state.files_done}/{state.total_files} file(s)"]
    if state.moved_bytes and elapsed > 0.5:
        parts.append(f"{format_bytes(rate)}/s")
        if rate > 0 and total > done:
            parts.append(f"{format_duration((total - done) / rate)} left")
    figures = "  ".join(parts)
    current = ""
    if state.current:
        entry = state.files.get(state.current)
        percent = ""
        if entry is not None and entry[0] > 0:
            percent = f" {min(100, int(entry[1] * 100 / entry[0]))}%"
        index = min(state.files_done + 1, state.total_files) if state.total_files else 0
        count = f"[{index}/{state.total_files}] " if state.total_files else ""
        if entry is not None and entry[2] > 0:
            # A resume re-hashes what an earlier run left before new bytes come: say so.
            kept = f"checking kept {format_bytes(entry[2])} of "
            current = f"  {count}{kept}{printable(state.current)}"
        else:
            current = f"  {count}{printable(state.current)}{percent}"
    task = printable(state.task)
    bar_width = 20 if columns >= 100 else 10
    filled = int(fraction * bar_width)
    bar = "[" + "#" * filled + "-" * (bar_width - filled) + "]"
    line = f"{task} {bar} {figures}{current}"
    if len(line) >= columns and current:
        # The current file says the most: drop the task's name first, then cut the label.
        line = f"{bar} {figures}{current}"
        room = columns - 1 - len(f"{bar} {figures}")
        if len(line) >= columns:
            line = f"{bar} {figures}{current[:room]}" if room >= 20 else line
    if len(line) >= columns:
        line = f"{task} {bar} {figures}"
    if len(line) >= columns:
        line = f"{bar} {figures}"
    return line[: max(0, columns - 1)]
