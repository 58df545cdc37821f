"""Progress on stderr for the CLIs: a bar on a terminal, a line per file elsewhere, or nothing.

`make_progress(stream, quiet=...)` picks one of them:

- `BarProgress` (the stream is a terminal): one line redrawn in place, at most ten times a
  second: the task, a bar, bytes done of the total, the rate, the time left, and the current
  file with its own percentage (`[2/3] model-00002-of-00003.safetensors 41%`).
- `LineProgress` (a pipe, a file, ssh without a terminal): one line per finished file
  (`ok  model.safetensors  4.9 GB`) and the notes; never a carriage return.
- `NO_PROGRESS` with `-q`: nothing but errors.

All three are `rbee.workflows.progress.Progress` implementations; every method may be called
from any thread (a lock guards the state and the writes). Only the standard library: `tqdm`
alone would cost about as much import time as the rest of rbee-hive.

`JsonProgress` writes one machine-readable line per event (`rbee-progress {...}`); llorch asks
a pool for it to draw one line per pool (see `rbee.keeper.commands.download`).
"""

from __future__ import annotations

import sys
import threading
import time

from rbee.cli.output import terminal_columns
from rbee.workflows.progress import NO_PROGRESS, Progress

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import TextIO

JSON_PREFIX = "rbee-progress "
"""The start of each `JsonProgress` line (the rest is one JSON object)."""

REDRAW_INTERVAL = 0.1
"""Seconds between two redraws of the bar."""


def format_bytes(n_bytes: float) -> str:
    """`n_bytes` with a decimal unit: 512 B, 3.4 kB, 12.0 MB, 1.23 GB."""
    if n_bytes < 1000:
        return f"{int(n_bytes)} B"
    for unit in ("kB", "MB", "GB", "TB"):
        n_bytes /= 1000
        if n_bytes < 1000 or unit == "TB":
            return f"{n_bytes:.2f} {unit}" if unit in ("GB", "TB") else f"{n_bytes:.1f} {unit}"
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    """`seconds` as `m:ss`, or `h:mm:ss` from an hour on."""
    seconds = max(0, int(seconds + 0.5))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def _printable(text: str) -> str:
    from rbee.cli.style import printable

    return printable(text)


class _State:
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


class _LockedProgress(Progress):
    """Bookkeeping shared by the bar and the lines; subclasses draw."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.state = _State()
        self.active = False  # between `begin` and `end`

    def begin(self, task: str, total_bytes: int, total_files: int) -> None:
        with self.lock:
            self.active = True
            self.state = _State()
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
        self._write(_printable(text) + "\n")

    def _end(self) -> None:
        pass

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass  # progress is never worth failing the work for (closed or broken stderr)


class LineProgress(_LockedProgress):
    """One line per finished file, and the notes; for streams that are not terminals."""

    def __init__(self, stream: TextIO, prefix: str = "") -> None:
        super().__init__(stream)
        self.prefix = prefix

    def _finished(self, name: str, size: int, status: str) -> None:
        state = self.state
        count = f"[{state.files_done}/{state.total_files}] " if state.total_files else ""
        self._write(f"{self.prefix}{count}{status}  {_printable(name)}  {format_bytes(size)}\n")

    def _note(self, text: str) -> None:
        self._write(self.prefix + _printable(text) + "\n")


class BarProgress(_LockedProgress):
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
            self._write(f"{status}  {_printable(name)}  {format_bytes(size)}\n")
        self._changed(force=True)

    def _note(self, text: str) -> None:
        self._clear()
        self._write(_printable(text) + "\n")
        self._changed(force=True)

    def _end(self) -> None:
        self._clear()


def bar_line(state: _State, columns: int, now: float) -> str:
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
            current = f"  {count}{kept}{_printable(state.current)}"
        else:
            current = f"  {count}{_printable(state.current)}{percent}"
    task = _printable(state.task)
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


class _BoardPool(_LockedProgress):
    """One pool's line on a `PoolBoard` (its events come from `replay`)."""

    def __init__(self, board: PoolBoard, name: str) -> None:
        super().__init__(board.stream)
        self.lock = board.lock  # type: ignore[assignment]
        self.board = board
        self.name = name
        self.done = False

    def _changed(self, *, force: bool) -> None:
        self.board._draw(force=force)

    def _finished(self, name: str, size: int, status: str) -> None:
        self.board._draw(force=True)

    def _note(self, text: str) -> None:
        self.board._print_above(f"{self.name}: {text}")

    def _end(self) -> None:
        self.done = True
        self.board._draw(force=True)


class PoolBoard:
    """One progress line per pool on a terminal, redrawn in place (llorch over several pools).

    `feed(pool, line)` takes a pool's `JsonProgress` lines; `print_above(text)` prints a line
    above the board; `close()` leaves the board's last state on screen.
    """

    def __init__(self, stream: TextIO, names: list[str], width: int | None = None) -> None:
        self.stream = stream
        self.lock = threading.RLock()
        self.names = names
        self.label_width = min(24, max((len(n) for n in names), default=0))
        self.pools = {name: _BoardPool(self, name) for name in names}
        self._width = width
        self._drawn = 0
        self._last = 0.0
        self._closed = False

    def feed(self, name: str, line: str) -> bool:
        pool = self.pools.get(name)
        if pool is None:
            return False
        return replay(pool, line)

    def print_above(self, text: str) -> None:
        with self.lock:
            self._print_above(text)

    def close(self) -> None:
        """Leave the board's last state on screen; none if no pool ever began (an error, soon
        printed below, says why)."""
        with self.lock:
            if self._closed:
                return
            if any(pool.state.task for pool in self.pools.values()):
                self._draw(force=True)
            else:
                self._erase()
            self._closed = True

    def clear(self) -> None:
        """Take the board off the screen for good (before an error is printed in its place)."""
        with self.lock:
            if self._closed:
                return
            self._erase()
            self._closed = True

    def _erase(self) -> None:
        if self._drawn:
            self._write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def lines(self) -> list[str]:
        columns = self._columns()
        now = time.monotonic()
        shown = []
        for name, pool in self.pools.items():
            label = _printable(name)[: self.label_width].ljust(self.label_width)
            state = pool.state
            if not state.task:
                body = "connecting..."
            elif pool.done:
                body = f"done: {state.files_done} file(s), {format_bytes(state.done_bytes)}"
            else:
                body = bar_line(state, max(20, columns - len(label) - 2), now)
            shown.append(f"{label}  {body}"[: max(0, columns - 1)])
        return shown

    def _columns(self) -> int:
        if self._width is not None:
            return self._width
        return terminal_columns(self.stream)

    def _draw(self, *, force: bool) -> None:
        if self._closed:
            return
        now = time.monotonic()
        if not force and now - self._last < REDRAW_INTERVAL:
            return
        self._last = now
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        body = "".join(f"\x1b[K{line}\n" for line in self.lines())
        self._write(up + body)
        self._drawn = len(self.pools)

    def _print_above(self, text: str) -> None:
        up = f"\x1b[{self._drawn}F\x1b[J" if self._drawn and not self._closed else ""
        self._write(up + _printable(text) + "\n")
        self._drawn = 0
        self._draw(force=True)

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass


class JsonProgress(Progress):
    """Each event as one line `rbee-progress {"event": ..., ...}`; for llorch to draw."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self._last = 0.0
        self._pending: dict[str, int] = {}

    def _emit(self, event: dict[str, object]) -> None:
        import json

        try:
            self.stream.write(JSON_PREFIX + json.dumps(event, separators=(",", ":")) + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def _flush_pending(self) -> None:
        for name, n_bytes in self._pending.items():
            self._emit({"event": "advance", "name": name, "bytes": n_bytes})
        self._pending.clear()

    def begin(self, task: str, total_bytes: int, total_files: int) -> None:
        with self.lock:
            self._emit({"event": "begin", "task": task, "bytes": total_bytes, "files": total_files})

    def file_started(self, name: str, size: int, already: int = 0) -> None:
        with self.lock:
            self._flush_pending()
            self._emit({"event": "file_started", "name": name, "size": size, "already": already})

    def advance(self, name: str, n_bytes: int) -> None:
        with self.lock:
            self._pending[name] = self._pending.get(name, 0) + n_bytes
            now = time.monotonic()
            if now - self._last >= REDRAW_INTERVAL * 2:
                self._last = now
                self._flush_pending()

    def file_done(self, name: str, size: int, status: str = "ok") -> None:
        with self.lock:
            self._flush_pending()
            self._emit({"event": "file_done", "name": name, "size": size, "status": status})

    def note(self, text: str) -> None:
        with self.lock:
            self._flush_pending()
            self._emit({"event": "note", "text": text})

    def end(self) -> None:
        with self.lock:
            self._flush_pending()
            self._emit({"event": "end"})


def replay(progress: Progress, line: str) -> bool:
    """Feed one `JsonProgress` line to `progress`; False when `line` is not one."""
    if not line.startswith(JSON_PREFIX):
        return False
    import json

    try:
        event = json.loads(line[len(JSON_PREFIX) :])
        kind = event["event"]
        if kind == "begin":
            progress.begin(str(event["task"]), int(event["bytes"]), int(event["files"]))
        elif kind == "file_started":
            progress.file_started(str(event["name"]), int(event["size"]), int(event["already"]))
        elif kind == "advance":
            progress.advance(str(event["name"]), int(event["bytes"]))
        elif kind == "file_done":
            progress.file_done(str(event["name"]), int(event["size"]), str(event["status"]))
        elif kind == "note":
            progress.note(str(event["text"]))
        elif kind == "end":
            progress.end()
        else:
            return False
    except (ValueError, KeyError, TypeError):
        return False
    return True


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def make_progress(
    stream: TextIO | None = None, *, quiet: bool = False, mode: str = "auto"
) -> Progress:
    """The progress for a CLI run: `mode` auto (bar on a terminal, else lines), bar, lines,
    json or none; `quiet` always means none."""
    stream = sys.stderr if stream is None else stream
    if quiet or mode == "none":
        return NO_PROGRESS
    if mode == "json":
        return JsonProgress(stream)
    if mode == "bar" or (mode == "auto" and is_terminal(stream)):
        return BarProgress(stream)
    return LineProgress(stream)
