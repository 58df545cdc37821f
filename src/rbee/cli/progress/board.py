"""llorch's display of several pools at once: one progress line per pool, redrawn in place."""

from __future__ import annotations

import threading
import time

from rbee.cli.output import terminal_columns
from rbee.cli.progress.events import replay
from rbee.cli.progress.lines import REDRAW_INTERVAL, LockedProgress, bar_line
from rbee.cli.progress.units import format_bytes
from rbee.cli.style import printable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import TextIO


class _BoardPool(LockedProgress):
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
            label = printable(name)[: self.label_width].ljust(self.label_width)
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
        self._write(up + printable(text) + "\n")
        self._drawn = 0
        self._draw(force=True)

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass
