"""Running one command on a pool with the system's OpenSSH client, and saying what went wrong.

Safety by construction:
- the remote command line is built here from words, each quoted for a POSIX shell (the pool's
  login shell must be sh-compatible: sh, bash, dash, zsh, ksh); a leading `~/` of the workdir
  or of a `hive` word stays outside the quotes so the pool's shell still expands it;
- data (the entries of `--from`) goes over stdin, never into the command line;
- a destination that starts with `-` is refused, and `--` ends ssh's options anyway;
- ssh always runs in BatchMode (it never prompts), without a terminal, with a connect timeout,
  in its own session (so it cannot open our terminal), and the whole call is bounded by a
  timeout after which ssh and anything it started (ProxyCommand) are killed.

The remote script is `cd -- WORKDIR >/dev/null || exit 199; HIVE ARGS...; exit $?`. It does not
`exec` rbee-hive on purpose: the shell then reports a rbee-hive killed by a signal as 128+N,
which tells it apart from ssh's own 255 ("could not connect"). 199 is our marker for "cannot
cd to the workdir"; rbee-hive itself only exits 0, 1, 2 or 130.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import threading
import time

from rbee.keeper.config import Pool

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable

WORKDIR_FAILED = 199
COMMAND_NOT_FOUND = 127
COMMAND_NOT_EXECUTABLE = 126
SSH_FAILED = 255
HIVE_EXIT_CODES = (0, 1, 2, 130)
DEFAULT_TIMEOUT = 30.0
MAX_CONNECT_TIMEOUT = 10
SSH_COMMAND_VARIABLE = "RBEE_SSH_COMMAND"

_TILDE_PREFIX = re.compile(r"^~[A-Za-z0-9._-]*(/|$)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class SshConfigError(Exception):
    """`RBEE_SSH_COMMAND` cannot be used."""


def quote_word(word: str) -> str:
    """Quote `word` for a POSIX shell, keeping a leading `~/` or `~user/` expandable.

    The slash stays unquoted too: the shell's tilde prefix ends at the first *unquoted* slash.
    """
    found = _TILDE_PREFIX.match(word)
    if found is None:
        return shlex.quote(word)
    prefix = found.group(0)
    rest = word[len(prefix) :]
    return prefix + (shlex.quote(rest) if rest else "")


def remote_script(pool: Pool, hive_arguments: list[str]) -> str:
    """The command line the pool's shell runs for `rbee-hive ARGS` in the pool's workdir."""
    hive = " ".join(quote_word(word) for word in pool.hive_words())
    arguments = " ".join(shlex.quote(argument) for argument in hive_arguments)
    return (
        f"cd -- {quote_word(pool.workdir)} >/dev/null || exit {WORKDIR_FAILED}; "
        f"{hive} {arguments}; exit $?"
    )


def ssh_base_command() -> list[str]:
    """`ssh`, or `RBEE_SSH_COMMAND` split as a shell would split it."""
    configured = os.environ.get(SSH_COMMAND_VARIABLE, "")
    if not configured.strip():
        return ["ssh"]
    try:
        words = shlex.split(configured)
    except ValueError as exc:
        raise SshConfigError(f"{SSH_COMMAND_VARIABLE}={configured!r}: {exc}") from None
    return words


def ssh_argv(base: list[str], destination: str, script: str, timeout: float) -> list[str]:
    """The full ssh command line. Options given here win over any ssh_config file."""
    connect_timeout = max(1, min(MAX_CONNECT_TIMEOUT, int(timeout * 0.8)))
    return [
        *base,
        "-T",
        "-o",
        "BatchMode=yes",
        "-o",
        f"ConnectTimeout={connect_timeout}",
        "--",
        destination,
        script,
    ]


class RemoteResult:
    """What one ssh call to one pool produced, and how it went.

    `kind` is "ok" or "hive" when rbee-hive ran (its output and exit code are relayed as they
    are), else what went wrong: "connect", "auth", "timeout", "hostkey", "resolve", "ssh",
    "workdir", "not-installed", "signal". `message` is the one-line error, naming the pool.
    """

    __slots__ = ("exit_code", "kind", "message", "pool", "stderr", "stdout")

    def __init__(
        self,
        pool: Pool,
        exit_code: int,
        stdout: bytes,
        stderr: bytes,
        kind: str = "ok",
        *,
        message: str = "",
    ) -> None:
        self.pool = pool
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        self.kind = kind
        self.message = message

    def __repr__(self) -> str:
        return (
            f"RemoteResult({self.pool.name!r}, {self.exit_code}, {self.kind!r}, {self.message!r})"
        )

    @property
    def ok(self) -> bool:
        return self.kind == "ok"

    @property
    def hive_ran(self) -> bool:
        return self.kind in ("ok", "hive")


class Runner:
    """Runs ssh calls, bounded by `timeout`; `kill_all` ends every call still running.

    `base` is the ssh command (default: `ssh`, or `RBEE_SSH_COMMAND`); `pools_file` is named in
    hints about pools.toml settings.
    """

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        pools_file: str = "",
        base: list[str] | None = None,
    ) -> None:
        self.timeout = timeout
        self.pools_file = pools_file
        self.base = ssh_base_command() if base is None else base
        self._running: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._closed = False

    def run(
        self, pool: Pool, hive_arguments: list[str], stdin: bytes | None = None
    ) -> RemoteResult:
        return self.run_script(pool, remote_script(pool, hive_arguments), stdin)

    def run_script(self, pool: Pool, script: str, stdin: bytes | None = None) -> RemoteResult:
        argv = ssh_argv(self.base, pool.ssh, script, self.timeout)
        try:
            with self._lock:
                if self._closed:
                    raise KeyboardInterrupt
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                )
                self._running.add(process)
        except FileNotFoundError:
            return RemoteResult(
                pool,
                COMMAND_NOT_FOUND,
                b"",
                b"",
                "ssh",
                message=f"{pool.name}: cannot run {self.base[0]!r}: not found; install the OpenSSH "
                f"client or fix {SSH_COMMAND_VARIABLE}",
            )
        try:
            deadline = time.monotonic() + self.timeout
            data = stdin
            while True:
                # Short slices, so that Ctrl-C (kill_all) is noticed by this thread too. The input
                # is handed over once: communicate() keeps sending it across its own retries.
                remaining = deadline - time.monotonic()
                try:
                    out, err = process.communicate(data, timeout=max(0.0, min(0.25, remaining)))
                    break
                except subprocess.TimeoutExpired:
                    data = None
                    if not self._closed and time.monotonic() < deadline:
                        continue
                kill_session(process)
                out, err = _collect_after_kill(process)
                if self._closed:
                    return RemoteResult(
                        pool,
                        process.returncode,
                        out,
                        err,
                        "interrupted",
                        message=f"{pool.name}: interrupted",
                    )
                return RemoteResult(
                    pool,
                    process.returncode,
                    out,
                    err,
                    "timeout",
                    message=f"{pool.name}: no answer from {_via(pool)} within {self.timeout:g}s "
                    "(the pool is down, a firewall drops the connection, or the command hung); "
                    "use --timeout to wait longer",
                )
        except BaseException:
            # Ctrl-C arrives in this very wait when the call runs on the main thread (one pool,
            # or --parallel 1): end ssh here, as kill_all would. It is in a session of its own,
            # so the terminal's SIGINT never reached it, and once it is forgotten below
            # kill_all cannot find it.
            kill_session(process)
            with contextlib.suppress(BaseException):
                process.wait(timeout=5)
            raise
        finally:
            with self._lock:
                self._running.discard(process)
        return classify(pool, process.returncode, out, err, self.pools_file)

    def run_streaming(
        self,
        pool: Pool,
        hive_arguments: list[str],
        on_line: Callable[[str], bool],
    ) -> RemoteResult:
        """Run rbee-hive on `pool` like `run`, but hand each stderr line to `on_line` as it arrives
        (lines it returns False for are kept in the result's stderr) and bound only the
        connection, not the whole call (a download takes hours). Killed by `kill_all` (Ctrl-C).

        Its stdin stays open: its end tells a rbee-hive run with `--stop-on-stdin-eof` to stop."""
        argv = ssh_argv(self.base, pool.ssh, remote_script(pool, hive_arguments), self.timeout)
        with self._lock:
            if self._closed:
                raise KeyboardInterrupt
            try:
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE,  # kept open: its end tells the pool to stop
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                )
            except FileNotFoundError:
                return self.run(pool, hive_arguments)  # the runner's own "ssh not found" error
            self._running.add(process)
        kept: list[bytes] = []
        everything: list[bytes] = []
        stdout_parts: list[bytes] = []

        def read_stdout() -> None:
            assert process.stdout is not None
            while chunk := process.stdout.read(65536):
                stdout_parts.append(chunk)

        reader = threading.Thread(target=read_stdout, daemon=True)
        reader.start()
        try:
            assert process.stderr is not None
            for raw in iter(process.stderr.readline, b""):
                everything.append(raw)
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if not on_line(line):
                    kept.append(raw)
            process.wait()
            reader.join()
        except BaseException:
            kill_session(process)
            with contextlib.suppress(BaseException):
                process.wait(timeout=5)
            raise
        finally:
            with self._lock:
                self._running.discard(process)
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
        stdout = b"".join(stdout_parts)
        if self._closed:
            return RemoteResult(
                pool,
                process.returncode,
                stdout,
                b"".join(kept),
                "interrupted",
                message=f"{pool.name}: interrupted",
            )
        result = classify(pool, process.returncode, stdout, b"".join(everything), self.pools_file)
        if result.hive_ran:
            result.stderr = b"".join(kept)  # the rest was shown while it ran
        return result

    def kill_all(self) -> None:
        """End every ssh still running (Ctrl-C); later calls are refused."""
        with self._lock:
            self._closed = True
            running = list(self._running)
        for process in running:
            kill_session(process)
        # Reap them before we return (and usually exit): a process that was sent SIGKILL is
        # still listed until it is gone, and nobody must find an ssh of ours after we exit.
        deadline = time.monotonic() + 2
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.0, deadline - time.monotonic()))


def kill_session(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL an ssh client started with `start_new_session=True`, and its session."""
    # ssh runs in a session of its own: this also ends a ProxyCommand it started. A
    # ControlMaster it forked has left the session (daemon()) and survives, as it should.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _collect_after_kill(process: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """Whatever a killed ssh had written, without waiting for pipes others still hold open.

    A ControlMaster holds the client's stdout and stderr (passed to it over the control socket)
    until the remote command ends, so waiting for end-of-file could take as long as the hang.
    """
    process.wait()
    try:
        return process.communicate(timeout=0.2)
    except subprocess.TimeoutExpired:
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        return b"", b""


def _via(pool: Pool) -> str:
    return f"ssh {pool.ssh}" if pool.ssh == pool.name else f"ssh {pool.ssh} (pool {pool.name})"


def plain_lines(data: bytes) -> list[str]:
    """Non-empty lines of `data` without ANSI colour codes."""
    text = _ANSI.sub("", data.decode("utf-8", errors="replace"))
    return [line.strip() for line in text.splitlines() if line.strip()]


def hive_error_line(stderr: bytes) -> str:
    """rbee-hive's `error: ...` message (without the prefix), else its last stderr line."""
    lines = plain_lines(stderr)
    for line in reversed(lines):
        if line.startswith("error: "):
            return line.removeprefix("error: ")
    return lines[-1] if lines else ""


_SSH_FAILURES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("Connection refused",),
        "connect",
        "cannot connect: {reason}; is the pool up and its sshd running (and the port right)?",
    ),
    (
        ("No route to host", "Network is unreachable", "Host is down"),
        "connect",
        "cannot connect: {reason}; is the pool up and on this network?",
    ),
    (
        ("Permission denied",),
        "auth",
        "the pool refused our ssh key ({reason}); add your public key to the pool's "
        "~/.ssh/authorized_keys (ssh-copy-id) or set User/IdentityFile in ~/.ssh/config",
    ),
    (
        ("timed out", "Timeout"),
        "timeout",
        "no answer: {reason}; is the pool up, and is it an ssh server on that port?",
    ),
    (
        ("Could not resolve hostname", "Name or service not known"),
        "resolve",
        "unknown host: {reason}; add a pool to pools.toml or a Host entry to ~/.ssh/config",
    ),
    (
        ("Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "hostkey",
        "the pool's host key is unknown or has changed ({reason}); connect once with plain "
        "ssh to check and accept it",
    ),
    (
        ("Connection closed", "Connection reset", "kex_exchange_identification"),
        "connect",
        "the connection was closed before login: {reason}; is that an ssh server, and does it "
        "accept us (MaxStartups, sshd logs)?",
    ),
)


def classify(
    pool: Pool, exit_code: int, out: bytes, err: bytes, pools_file: str = ""
) -> RemoteResult:
    """Tell ssh's failures, the wrapper's markers and rbee-hive's own results apart."""
    result = RemoteResult(pool, exit_code, out, err)
    lines = plain_lines(err)
    last = lines[-1] if lines else ""
    if exit_code == SSH_FAILED:
        for needles, kind, template in _SSH_FAILURES:
            if any(needle in line for line in lines for needle in needles):
                reason = next(line for line in lines if any(n in line for n in needles))
                result.kind = kind
                result.message = f"{pool.name}: {_via(pool)}: " + template.format(
                    reason=reason.removeprefix("ssh: ")
                )
                return result
        result.kind = "ssh"
        result.message = (
            f"{pool.name}: {_via(pool)} failed: {last}"
            if last
            else f"{pool.name}: {_via(pool)} failed with no message (exit 255): the connection "
            "was lost or the pool's shell was killed"
        )
        return result
    if exit_code == WORKDIR_FAILED:
        reason = last.rsplit(": ", 1)[-1] if last else "cannot change into it"
        result.kind = "workdir"
        result.message = (
            f"{pool.name}: workdir {pool.workdir} is not usable on the pool ({reason}); create "
            f'it there, or set workdir = "..." for this pool{_in_file(pool, pools_file)}'
        )
        return result
    hive = pool.hive
    if exit_code == COMMAND_NOT_FOUND or (
        exit_code == 1 and any("No module named" in line and "rbee" in line for line in lines)
    ):
        result.kind = "not-installed"
        result.message = (
            f"{pool.name}: rbee-hive is not installed on the pool ({hive!r} not found by a "
            f"non-interactive ssh shell: {last or 'command not found'}); install it there (see "
            f'docs/remote.md), or set hive = "/path/to/rbee-hive" for this pool'
            f"{_in_file(pool, pools_file)}{_split_path_hint(pool, last)}"
        )
        return result
    if exit_code == COMMAND_NOT_EXECUTABLE:
        result.kind = "not-installed"
        result.message = (
            f"{pool.name}: cannot run {hive!r} on the pool ({last or 'not executable'}); fix "
            f'its permissions or set hive = "/path/to/rbee-hive" for this pool'
            f"{_in_file(pool, pools_file)}"
        )
        return result
    if exit_code > 128 and exit_code not in HIVE_EXIT_CODES and exit_code - 128 < 65:
        number = exit_code - 128
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        result.kind = "signal"
        result.message = f"{pool.name}: rbee-hive was killed by {name} on the pool"
        return result
    if exit_code != 0:
        result.kind = "hive"
        message = hive_error_line(err) or f"rbee-hive exited with code {exit_code}"
        result.message = f"{pool.name}: {message}"
    return result


def _split_path_hint(pool: Pool, shell_message: str) -> str:
    """A hint when `hive` is a path with spaces, which was split into several words."""
    words = pool.hive_words()
    if len(words) < 2 or f"{words[0]}: No such file or directory" not in shell_message:
        return ""
    return (
        "; note that hive is a command line, split into words as a shell would: quote a path "
        f'that contains spaces, e.g. hive = "{shlex.quote(pool.hive)}"'
    )


def _in_file(pool: Pool, pools_file: str) -> str:
    where = pools_file or "pools.toml"
    if pool.configured:
        return f" in {where}"
    return f' (add a [pools."{pool.name}"] table to {where})'
