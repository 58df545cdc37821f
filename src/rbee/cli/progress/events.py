"""Progress as machine-readable lines (`rbee-progress {...}`), and their replay: how a pool's
rbee-hive tells llorch what it is doing, for llorch to draw."""

from __future__ import annotations

import threading
import time

from rbee.cli.progress.lines import REDRAW_INTERVAL
from rbee.workflows.progress import Progress

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import TextIO

JSON_PREFIX = "rbee-progress "
"""The start of each `JsonProgress` line (the rest is one JSON object)."""


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
