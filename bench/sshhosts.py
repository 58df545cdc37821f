"""Fake pools for the remote tests and the keeper benchmark: one real sshd per pool on 127.0.0.1.

Shared by `tests/keeper/conftest.py` (pytest's `pythonpath` setting makes `bench` importable)
and `bench/bench_keeper.py`. It lives here rather than in `src/` because it is not shipped: it
only spawns test infrastructure, following `../shared/notes/ssh-test-hosts.md`.

Each pool gets its own sshd, its own HOME (sshd's `SetEnv=HOME=...`), a `.bashrc` that exports
`RBEE_POOL_ID=<pool>` and puts this interpreter's bin directory (where `rbee-hive` is installed)
on PATH, then `cd "$HOME"`, and, unless asked otherwise, the default workdir
`~/Projects/llama-orch`. Only 127.0.0.1 is ever contacted; pool names are only `Host` aliases in
our own ssh config, so no name is ever looked up in DNS.
"""

from __future__ import annotations

import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"
DEFAULT_WORKDIR = "Projects/llama-orch"
"""The default pool workdir relative to HOME (`~/Projects/llama-orch`)."""
START_TIMEOUT = 10.0


def interpreter_bin_dir() -> Path:
    """The directory of the running interpreter, where the venv's console scripts live."""
    return Path(sys.executable).parent


@dataclass
class FakePool:
    name: str
    port: int
    home: Path
    workdir: Path
    process: subprocess.Popen[bytes]


class SshHostsError(RuntimeError):
    pass


class SshHosts:
    """A set of sshd processes acting as pools, with a client config naming each one.

    Use as a context manager, or call `close()`. `ssh_command` is the value for
    `RBEE_SSH_COMMAND`.
    """

    def __init__(self, base_dir: Path | None = None, *, control_master: bool = True) -> None:
        self._own_dir = base_dir is None
        self.dir = Path(tempfile.mkdtemp(prefix="rbee-ssh-")) if base_dir is None else base_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        # Unix socket paths must stay under ~100 bytes: control sockets get a short dir.
        self.control_dir = Path(tempfile.mkdtemp(prefix="rbee-cm-", dir="/tmp"))
        self.control_master = control_master
        self.pools: dict[str, FakePool] = {}
        self._extra_blocks: list[str] = []
        self._outside_defaults: list[str] = []
        self.host_key = self.dir / "host_key"
        self.client_key = self.dir / "client_key"
        self.ssh_config = self.dir / "ssh_config"
        self.sshd_config = self.dir / "sshd_config"
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)
        for key in (self.host_key, self.client_key):
            if not key.exists():
                subprocess.run(
                    ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                    check=True,
                    timeout=30,
                )
        (self.dir / "authorized_keys").write_bytes(self.client_key.with_suffix(".pub").read_bytes())
        self.sshd_config.write_text(
            "ListenAddress 127.0.0.1\n"
            f"HostKey {self.host_key}\n"
            f"AuthorizedKeysFile {self.dir / 'authorized_keys'}\n"
            "PermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "StrictModes no\n"
            "UsePAM no\n"
            "UseDNS no\n"
            "PrintMotd no\n"
            "MaxStartups 100\n"
            "MaxSessions 100\n"
        )
        self._write_client_config()

    @property
    def ssh_command(self) -> str:
        return f"ssh -F {shlex.quote(str(self.ssh_config))}"

    def ssh_command_without_master(self) -> str:
        """An ssh command whose config is the same but never uses a ControlMaster."""
        path = self.dir / "ssh_config_no_master"
        path.write_text(self._client_config_text(control_master=False))
        return f"ssh -F {shlex.quote(str(path))}"

    def ssh_argv(self) -> list[str]:
        return ["ssh", "-F", str(self.ssh_config)]

    # -- pools ---------------------------------------------------------------------------------

    def add_pool(
        self,
        name: str,
        *,
        hive_on_path: bool = True,
        create_workdir: bool = True,
        bashrc_extra: str = "",
    ) -> FakePool:
        """Start an sshd for pool `name` (an ssh alias of 127.0.0.1:PORT in our config)."""
        home = self.dir / "homes" / name
        workdir = home / DEFAULT_WORKDIR
        home.mkdir(parents=True, exist_ok=True)
        if create_workdir:
            workdir.mkdir(parents=True, exist_ok=True)
        path_line = (
            f"export PATH={shlex.quote(str(interpreter_bin_dir()))}:$PATH\n" if hive_on_path else ""
        )
        (home / ".bashrc").write_text(
            f'export RBEE_POOL_ID={shlex.quote(name)}\n{path_line}{bashrc_extra}cd "$HOME"\n'
        )
        last_error = ""
        for _attempt in range(5):
            port = _free_port()
            process = subprocess.Popen(
                [
                    SSHD,
                    "-D",
                    "-e",
                    "-f",
                    str(self.sshd_config),
                    "-p",
                    str(port),
                    "-o",
                    f"PidFile={self.dir / (name + '.pid')}",
                    "-o",
                    f"SetEnv=HOME={home}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            if _wait_for_banner(port, process):
                pool = FakePool(name, port, home, workdir, process)
                self.pools[name] = pool
                self._write_client_config()
                return pool
            process.kill()
            _, err = process.communicate(timeout=5)
            last_error = err.decode(errors="replace").strip()
        raise SshHostsError(f"sshd for {name} did not start: {last_error}")

    def add_alias(self, name: str, port: int, extra: str = "") -> None:
        """A `Host name` block for 127.0.0.1:port (e.g. a listener that is not an sshd)."""
        self._extra_blocks.append(f"Host {name}\n    HostName 127.0.0.1\n    Port {port}\n{extra}")
        self._write_client_config()

    def add_unauthorized_alias(self, name: str, pool: str) -> Path:
        """An alias of `pool` that logs in with a key the pool does not accept."""
        key = self.dir / "stranger_key"
        if not key.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                check=True,
                timeout=30,
            )
        # IdentityFile adds to the keys of every matching block: this alias must not match the
        # catch-all block (which offers the accepted key), so it sets everything itself.
        self._outside_defaults.append(name)
        self.add_alias(
            name,
            self.pools[pool].port,
            f"    User root\n    IdentityFile {key}\n    IdentitiesOnly yes\n"
            "    IdentityAgent none\n    StrictHostKeyChecking no\n"
            "    UserKnownHostsFile /dev/null\n    BatchMode yes\n    LogLevel ERROR\n"
            "    ConnectTimeout 5\n    KexAlgorithms curve25519-sha256\n",
        )
        return key

    def _write_client_config(self) -> None:
        tmp = self.ssh_config.with_suffix(".tmp")
        tmp.write_text(self._client_config_text(self.control_master))
        tmp.replace(self.ssh_config)

    def _client_config_text(self, control_master: bool) -> str:
        blocks = [
            f"Host {pool.name}\n    HostName 127.0.0.1\n    Port {pool.port}\n"
            for pool in self.pools.values()
        ]
        blocks.extend(self._extra_blocks)
        control = (
            "    ControlMaster auto\n"
            f"    ControlPath {self.control_dir}/%C\n"
            "    ControlPersist 20\n"  # bounds a master left behind by a killed run
            if control_master
            else ""
        )
        excluded = "".join(f" !{name}" for name in self._outside_defaults)
        blocks.append(
            f"Host *{excluded}\n"
            "    User root\n"
            f"    IdentityFile {self.client_key}\n"
            "    IdentitiesOnly yes\n"
            "    IdentityAgent none\n"
            "    StrictHostKeyChecking no\n"
            "    UserKnownHostsFile /dev/null\n"
            "    BatchMode yes\n"
            "    LogLevel ERROR\n"
            "    ConnectTimeout 5\n"
            "    KexAlgorithms curve25519-sha256\n" + control
        )
        return "".join(blocks)

    def stop_masters(self) -> None:
        """Close every ControlMaster connection (the next call opens a fresh one)."""
        if not self.control_master:
            return
        for name in self.pools:
            subprocess.run(
                [*self.ssh_argv(), "-O", "exit", name],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=10,
                check=False,
            )

    def close(self) -> None:
        self.stop_masters()
        for pool in self.pools.values():
            if pool.process.poll() is None:
                pool.process.terminate()
            try:
                pool.process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                pool.process.kill()
                pool.process.communicate(timeout=10)
        self.pools.clear()
        shutil.rmtree(self.control_dir, ignore_errors=True)
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> SshHosts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_banner(port: int, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.settimeout(2)
                if sock.recv(8).startswith(b"SSH-2.0"):
                    return True
        except OSError:
            pass
        time.sleep(0.01)
    return False
