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

Modules: `lines` (the bar and the lines of one run), `board` (llorch's line per pool),
`events` (the machine-readable lines and their replay), `units` (bytes and durations).
"""

from __future__ import annotations

import sys

from rbee.cli.progress.board import PoolBoard
from rbee.cli.progress.events import JSON_PREFIX, JsonProgress, replay
from rbee.cli.progress.lines import BarProgress, LineProgress, bar_line
from rbee.cli.progress.units import format_bytes, format_duration
from rbee.workflows.progress import NO_PROGRESS, Progress

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import TextIO


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


__all__ = [
    "JSON_PREFIX",
    "BarProgress",
    "JsonProgress",
    "LineProgress",
    "PoolBoard",
    "bar_line",
    "format_bytes",
    "format_duration",
    "is_terminal",
    "make_progress",
    "replay",
]
