"""`llorch models copy`: a model's files from one pool to others, relayed by the orchestrator.

No pool reaches another: llorch opens one ssh to the source and one to each destination, with
its own ssh configuration for both, and moves the bytes from one pipe to the other (`splice`,
never the whole file in memory). The pools' ends are the hidden `rbee-hive models send` and
`rbee-hive models receive` commands; every rule of what is sent, verified and registered is in
`rbee.workflows.copy` (docs/copy.md).

Per destination:
1. `receive ID --source-pool SRC [--path P] [--update]` is started and sent the source's
   manifest (its entry and file record, from `send ID --manifest`) as one JSON line; it answers
   with its plan: which files are there already, verified, and how much of each partial one.
2. `send ID` on the source is started with those ranges on stdin; its stdout is relayed to the
   receiver's stdin, counting each file's bytes for the progress.
3. The receiver verifies each file's sha256, moves the files into place, registers the entry,
   and says `rbee-copy-done`.

Destinations are served at the same time, each by its own thread and its own pair of ssh
processes. `RBEE_COPY_RATE` (bytes per second) caps each relay; the tests use it to interrupt a
transfer halfway without racing it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import threading
import time
from typing import IO, Any

from rbee.keeper.config import Pool
from rbee.keeper.ssh import classify, kill_session, remote_script, ssh_argv
from rbee.workflows.copy import DONE_PREFIX, PLAN_PREFIX
from rbee.workflows.errors import WorkflowError
from rbee.workflows.progress import NO_PROGRESS, Progress

RATE_VARIABLE = "RBEE_COPY_RATE"
RELAY_CHUNK = 1 << 20


class CopyFailed(WorkflowError):
    """The copy could not start (unknown pool, the source's answer), or a destination failed."""


class CopyInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the copy: every ssh is ended; `staged` names, per destination that had
    planned its reception, the staging folder (on that pool) where what arrived is kept for a
    rerun to resume."""

    def __init__(self, model_id: str, staged: list[tuple[Pool, str]]) -> None:
        super().__init__(model_id)
        self.model_id = model_id
        self.staged = staged


class DestinationResult:
    """How the copy to one destination went."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.ok = False
        self.status = "failed"  # copied, up-to-date, failed
        self.path = ""
        self.staging = ""  # the staging folder on the pool, once its receiver has planned
        self.files = 0
        self.skipped_files = 0
        self.sent_bytes = 0
        self.resumed_bytes = 0
        self.total_bytes = 0
        self.error = ""
        self.kind = ""

    def to_dict(self) -> dict[str, Any]:
        if not self.ok:
            return {"ok": False, "error": self.error, "kind": self.kind}
        return {
            "ok": True,
            "status": self.status,
            "path": self.path,
            "files": self.files,
            "skipped_files": self.skipped_files,
            "sent_bytes": self.sent_bytes,
            "resumed_bytes": self.resumed_bytes,
            "total_bytes": self.total_bytes,
        }


class CopyReport:
    def __init__(self, model_id: str, source: Pool, results: list[DestinationResult]) -> None:
        self.model_id = model_id
        self.source = source
        self.results = results

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.model_id,
            "from": self.source.name,
            "ok": self.ok,
            "to": {result.pool.name: result.to_dict() for result in self.results},
        }


class _Processes:
    """The ssh processes of this copy; `kill_all` ends them (Ctrl-C, a failed destination)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._stderr: dict[int, IO[bytes]] = {}
        self.closed = False

    def start(self, argv: list[str], stdin: int | IO[bytes] | None) -> subprocess.Popen[bytes]:
        with self._lock:
            if self.closed:
                raise KeyboardInterrupt
            # stderr into a file: it never fills up and blocks the pool's command.
            errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by `stderr_of`'s caller
            process = subprocess.Popen(
                argv,
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=errors,
                start_new_session=True,
                bufsize=0,  # raw pipes: nothing read ahead past a line we parse
            )
            self._running.add(process)
            self._stderr[process.pid] = errors
            return process

    def stderr_of(self, process: subprocess.Popen[bytes]) -> bytes:
        errors = self._stderr.get(process.pid)
        if errors is None:
            return b""
        errors.seek(0)
        return errors.read()

    def forget(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._running.discard(process)
            errors = self._stderr.pop(process.pid, None)
        if errors is not None:
            errors.close()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def kill_all(self) -> None:
        with self._lock:
            self.closed = True
            running = list(self._running)
        for process in running:
            kill_session(process)
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=2)


class Copier:
    """Copies one model from `source` to `destinations` with the ssh command `base`."""

    def __init__(
        self,
        base: list[str],
        source: Pool,
        destinations: list[Pool],
        *,
        connect_timeout: float = 30.0,
        pools_file: str = "",
        progress: Progress = NO_PROGRESS,
    ) -> None:
        self.base = base
        self.source = source
        self.destinations = destinations
        self.connect_timeout = connect_timeout
        self.pools_file = pools_file
        self.progress = progress
        self.processes = _Processes()
        rate = os.environ.get(RATE_VARIABLE, "").strip()
        try:
            self.rate = float(rate) if rate else 0.0
        except ValueError:
            raise CopyFailed(
                f"{RATE_VARIABLE}={rate!r}: not a number of bytes per second"
            ) from None

    # -- ssh --------------------------------------------------------------------------------

    def _argv(self, pool: Pool, hive_arguments: list[str]) -> list[str]:
        script = remote_script(pool, ["--color", "never", *hive_arguments])
        return ssh_argv(self.base, pool.ssh, script, self.connect_timeout)

    def _error(self, pool: Pool, process: subprocess.Popen[bytes], role: str) -> tuple[str, str]:
        """(message, kind) for a failed ssh call of `role` ("from"/"to") to `pool`."""
        code = process.wait()
        err = self.processes.stderr_of(process)
        if code < 0 or (code == 255 and not err.strip()) or code == 0:
            return (
                f"{role} {pool.name}: the connection was lost during the copy; run the same "
                "command again to resume",
                "connection",
            )
        result = classify(pool, code, b"", err, self.pools_file)
        if result.ok:
            return f"{role} {pool.name}: the pool ended the copy without a word", "hive"
        message = result.message.removeprefix(f"{pool.name}: ")
        if code == 2 and (
            "invalid choice: 'send'" in message or "invalid choice: 'receive'" in message
        ):
            message = (
                "its rbee-hive has no `models send`/`models receive` (an older rbee): update "
                f"rbee on that pool ({message})"
            )
        return f"{role} {pool.name}: {message}", result.kind

    # -- 1. the source's manifest ------------------------------------------------------------

    def manifest(self, model_id: str) -> dict[str, Any]:
        process = self.processes.start(
            self._argv(self.source, ["models", "send", "--manifest", "--", model_id]),
            subprocess.DEVNULL,
        )
        try:
            assert process.stdout is not None
            out = process.stdout.read()
            if process.wait() != 0:
                message, _kind = self._error(self.source, process, "from")
                raise CopyFailed(message)
        finally:
            if process.poll() is None:  # Ctrl-C while the source answered
                kill_session(process)
                process.wait()
            self.processes.forget(process)
        try:
            document = json.loads(out)
            entry = document["entry"]
            files = entry["record"]["files"]
        except (ValueError, KeyError, TypeError):
            raise CopyFailed(
                f"from {self.source.name}: rbee-hive did not answer with a manifest (is it an "
                "older rbee without `models send`?)"
            ) from None
        if not isinstance(files, list):
            raise CopyFailed(f"from {self.source.name}: the manifest has no file list")
        result: dict[str, Any] = document
        return result

    # -- 2. each destination -----------------------------------------------------------------

    def copy(self, model_id: str, *, path: str | None = None, update: bool = False) -> CopyReport:
        """Copy to every destination at once; returns how each went (never raises for one).

        Ctrl-C ends every ssh and raises `CopyInterrupted` (a `KeyboardInterrupt`)."""
        try:
            manifest = self.manifest(model_id)
        except KeyboardInterrupt:
            self.processes.kill_all()
            raise CopyInterrupted(model_id, []) from None
        files = manifest["entry"]["record"]["files"]
        size = sum(int(f["size"]) for f in files)
        self.progress.begin(
            f"copy {model_id} from {self.source.name}",
            size * len(self.destinations),
            len(files) * len(self.destinations),
        )
        results = [DestinationResult(pool) for pool in self.destinations]
        try:
            if len(results) == 1:
                self._copy_to(results[0], model_id, manifest, path, update)
            else:
                threads = [
                    threading.Thread(
                        target=self._copy_to,
                        args=(result, model_id, manifest, path, update),
                        daemon=True,
                    )
                    for result in results
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    while thread.is_alive():
                        thread.join(0.25)  # short slices: Ctrl-C is noticed
        except KeyboardInterrupt:
            self.processes.kill_all()
            staged = [(r.pool, r.staging) for r in results if r.staging and not r.ok]
            raise CopyInterrupted(model_id, staged) from None
        except BaseException:
            self.processes.kill_all()
            raise
        finally:
            self.progress.end()
        return CopyReport(model_id, self.source, results)

    def _copy_to(
        self,
        result: DestinationResult,
        model_id: str,
        manifest: dict[str, Any],
        path: str | None,
        update: bool,
    ) -> None:
        try:
            self._copy_to_unguarded(result, model_id, manifest, path, update)
        except CopyFailed as exc:
            result.ok = False
            result.error = str(exc)
            result.kind = result.kind or "copy"
        except OSError as exc:
            result.ok = False
            result.error = f"to {result.pool.name}: {exc.strerror or exc}"
            result.kind = "local"
        except (ValueError, KeyError, TypeError) as exc:  # an answer we cannot read
            result.ok = False
            result.error = (
                f"to {result.pool.name}: its rbee-hive answered something this llorch does not "
                f"understand ({type(exc).__name__}: {exc}); are both the same rbee version?"
            )
            result.kind = "hive"

    def _copy_to_unguarded(
        self,
        result: DestinationResult,
        model_id: str,
        manifest: dict[str, Any],
        path: str | None,
        update: bool,
    ) -> None:
        pool = result.pool
        arguments = ["models", "receive", f"--source-pool={self.source.name}"]
        if path is not None:
            arguments.append(f"--path={path}")
        if update:
            arguments.append("--update")
        receiver = self.processes.start(
            self._argv(pool, [*arguments, "--", model_id]), subprocess.PIPE
        )
        sender: subprocess.Popen[bytes] | None = None
        try:
            assert receiver.stdin is not None
            assert receiver.stdout is not None
            header = json.dumps({"manifest": manifest}, ensure_ascii=False) + "\n"
            with contextlib.suppress(BrokenPipeError):  # it failed at once: stderr says why
                _write_all(receiver.stdin.fileno(), header.encode("utf-8"))
            plan = _read_tagged(receiver.stdout, PLAN_PREFIX)
            if plan is None:
                with contextlib.suppress(OSError):
                    receiver.stdin.close()
                result.error, result.kind = self._error(pool, receiver, "to")
                raise CopyFailed(result.error)
            result.path = str(plan["path"])
            if not plan["up_to_date"]:
                result.staging = str(plan.get("staging") or "")
            wanted = [f for f in plan["files"] if f["state"] != "verified"]
            result.files = len(plan["files"])
            result.total_bytes = sum(int(f["size"]) for f in plan["files"])
            result.skipped_files = len(plan["files"]) - len(wanted)
            result.resumed_bytes = sum(int(f["offset"]) for f in wanted)
            for item in plan["files"]:
                if item["state"] == "verified" or plan["up_to_date"]:
                    name = f"{pool.name}: {item['path']}"
                    self.progress.file_started(name, int(item["size"]), int(item["size"]))
                    self.progress.file_done(name, int(item["size"]), "skipped")
            cut = False
            if wanted and not plan["up_to_date"]:
                ranges = [[f["path"], int(f["offset"])] for f in wanted]
                read_end, write_end = os.pipe()
                try:
                    sender = self.processes.start(
                        self._argv(self.source, ["models", "send", "--", model_id]), read_end
                    )
                finally:
                    os.close(read_end)
                try:
                    with contextlib.suppress(BrokenPipeError):
                        _write_all(write_end, json.dumps(ranges, ensure_ascii=False).encode())
                finally:
                    os.close(write_end)
                cut = not self._relay(sender, receiver, wanted, pool, result)
            with contextlib.suppress(OSError):
                receiver.stdin.close()
            if cut:  # the receiver went away: its end says why
                assert sender is not None
                kill_session(sender)
                result.error, result.kind = self._error(pool, receiver, "to")
                raise CopyFailed(result.error)
            if sender is not None and sender.wait() != 0:
                kill_session(receiver)
                result.error, result.kind = self._error(self.source, sender, "from")
                raise CopyFailed(result.error)
            done = _read_tagged(receiver.stdout, DONE_PREFIX)
            if done is None or receiver.wait() != 0:
                result.error, result.kind = self._error(pool, receiver, "to")
                raise CopyFailed(result.error)
            result.path = str(done["path"])
            result.ok = True
            result.status = "up-to-date" if plan["up_to_date"] else "copied"
        finally:
            for process in (sender, receiver):
                if process is not None:
                    if process.poll() is None:
                        kill_session(process)
                        process.wait()
                    self.processes.forget(process)

    def _relay(
        self,
        sender: subprocess.Popen[bytes],
        receiver: subprocess.Popen[bytes],
        wanted: list[dict[str, Any]],
        pool: Pool,
        result: DestinationResult,
    ) -> bool:
        """Move the sender's stdout to the receiver's stdin; False if the receiver went away.

        Exactly the bytes the plan asks for are moved, never more: the receiver reads that
        many, then verifies, registers, says `rbee-copy-done` and exits, which may be before
        the source's ssh has closed its stdout. Once they are all moved the receiver's pipe is
        not touched again (a `splice` that finds the source at its end still fails with EPIPE
        when the target has no reader left); the sender's stdout is read to its end here, and
        anything after the planned bytes is dropped (each file's sha256 is what is checked).
        """
        assert sender.stdout is not None
        assert receiver.stdin is not None
        source = sender.stdout.fileno()
        target = receiver.stdin.fileno()
        _widen_pipes(source, target)
        splice = getattr(os, "splice", None)
        chunk = RELAY_CHUNK if not self.rate else max(4096, min(RELAY_CHUNK, int(self.rate / 20)))
        expected = sum(int(f["size"]) - int(f["offset"]) for f in wanted)
        relayed = 0
        started = time.monotonic()
        files = iter(wanted)
        current = next(files, None)
        left = 0
        name = ""
        if current is not None:
            name = f"{pool.name}: {current['path']}"
            left = int(current["size"]) - int(current["offset"])
            self.progress.file_started(name, int(current["size"]), int(current["offset"]))
        while True:
            want = min(chunk, expected - relayed)
            if want == 0:
                _drain(source)
                return True
            try:
                if splice is not None:
                    moved: int = splice(source, target, want)
                else:
                    data = os.read(source, want)
                    moved = len(data)
                    view = memoryview(data)
                    while view:
                        view = view[os.write(target, view) :]
            except BrokenPipeError:
                kill_session(sender)
                return False
            except OSError as exc:
                if splice is not None and exc.errno in (22, 38):  # EINVAL, ENOSYS: no splice
                    splice = None
                    continue
                raise
            if moved == 0:
                return True
            relayed += moved
            result.sent_bytes += moved
            while moved and current is not None:
                step = min(moved, left)
                if step:
                    self.progress.advance(name, step)
                left -= step
                moved -= step
                if left == 0:
                    self.progress.file_done(name, int(current["size"]), "sent")
                    current = next(files, None)
                    if current is not None:
                        name = f"{pool.name}: {current['path']}"
                        left = int(current["size"]) - int(current["offset"])
                        self.progress.file_started(
                            name, int(current["size"]), int(current["offset"])
                        )
            if self.rate:
                ahead = result.sent_bytes / self.rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)


def _widen_pipes(*fds: int) -> None:
    """Let each pipe hold 1 MiB (Linux): fewer, larger moves for the same bytes."""
    import fcntl

    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is None:
        return
    for fd in fds:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, set_size, RELAY_CHUNK)


def _drain(fd: int) -> None:
    """Read `fd` to its end, dropping what it holds."""
    while os.read(fd, RELAY_CHUNK):
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_tagged(stream: IO[bytes], prefix: str) -> dict[str, Any] | None:
    """The JSON after `prefix` on the next line that starts with it; None at end of stream."""
    tag = prefix.encode("ascii")
    while True:
        line = stream.readline()
        if not line:
            return None
        if line.startswith(tag):
            try:
                document = json.loads(line[len(tag) :])
            except ValueError:
                return None
            return document if isinstance(document, dict) else None
