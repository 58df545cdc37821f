"""Fake pools for the llorch tests: real sshd processes on 127.0.0.1, one per pool.

The host-spawning code lives in `bench/sshhosts.py` because the keeper benchmark needs the very
same hosts; pytest's `pythonpath` setting (pyproject.toml) makes the repository root, and so
`bench`, importable.

Pools (ssh aliases in the suite's own ssh config, all 127.0.0.1):
- `mac.home.arpa`, `workstation.home.arpa`: rbee-hive on PATH, workdir `~/Projects/llama-orch`;
- `nohive.home.arpa`: no rbee-hive on PATH; `noworkdir.home.arpa`: the workdir does not exist;
- `chatty.home.arpa`: its `.bashrc` prints a greeting, even in non-interactive shells;
- `stranger.home.arpa`: mac's sshd, logging in with a key it does not accept;
- `silent.home.arpa`: a listener that accepts connections and never says a word;
- `down.home.arpa`: a port nobody listens on.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bench.sshhosts import SshHosts, interpreter_bin_dir

BIN = interpreter_bin_dir()
LLORCH = str(BIN / "llorch")
RBEE_HIVE = str(BIN / "rbee-hive")
CALL_TIMEOUT = 60
HIVE_POOLS = ("mac.home.arpa", "workstation.home.arpa")


class SilentListener:
    """Accepts TCP connections on 127.0.0.1 and never writes (an ssh banner that never comes)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port: int = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        self.sock.close()
        for connection in self.accepted:
            connection.close()


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="session")
def ssh_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshHosts]:
    hosts = SshHosts(tmp_path_factory.mktemp("sshhosts"))
    silent = SilentListener()
    try:
        for name in HIVE_POOLS:
            hosts.add_pool(name)
        hosts.add_pool("nohive.home.arpa", hive_on_path=False)
        hosts.add_pool("noworkdir.home.arpa", create_workdir=False)
        hosts.add_pool("chatty.home.arpa", bashrc_extra='echo "Welcome to chatty"\n')
        hosts.add_unauthorized_alias("stranger.home.arpa", "mac.home.arpa")
        hosts.add_alias("silent.home.arpa", silent.port)
        hosts.add_alias("down.home.arpa", _closed_port())
        yield hosts
    finally:
        hosts.close()
        silent.close()


@dataclass
class Keeper:
    """Runs llorch against the fake pools, with a pools file of its own."""

    hosts: SshHosts
    pools_file: Path
    env: dict[str, str]
    llorch: str = LLORCH

    def workdir(self, pool: str) -> Path:
        return self.hosts.pools[pool].workdir

    def catalog_path(self, pool: str) -> Path:
        return self.workdir(pool) / ".test-models" / "catalog.json"

    def run(
        self, *args: str, input: bytes | None = None, timeout: float = CALL_TIMEOUT
    ) -> subprocess.CompletedProcess[bytes]:
        """`llorch ARGS` as a separate process; stdout and stderr are pipes (not terminals)."""
        return subprocess.run(
            [LLORCH, *args],
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )

    def hive_locally(
        self, pool: str, *args: str, input: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """`rbee-hive ARGS` run directly in the pool's workdir, with the pool's environment."""
        env = {
            **self.env,
            "HOME": str(self.hosts.pools[pool].home),
            "RBEE_POOL_ID": pool,
        }
        return subprocess.run(
            [RBEE_HIVE, *args],
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            cwd=self.workdir(pool),
            env=env,
            timeout=CALL_TIMEOUT,
            check=False,
        )

    def in_process(self, *args: str) -> tuple[int, bytes, bytes]:
        """`llorch ARGS` in this process (no interpreter start-up): exit code, stdout, stderr."""
        from rbee.keeper.cli import main

        out, err = io.BytesIO(), io.BytesIO()
        saved = sys.stdout, sys.stderr, dict(os.environ)
        fake_out = io.TextIOWrapper(out, encoding="utf-8")
        fake_err = io.TextIOWrapper(err, encoding="utf-8")
        sys.stdout, sys.stderr = fake_out, fake_err
        os.environ.clear()
        os.environ.update(self.env)
        try:
            code = main(list(args))
        finally:
            fake_out.flush()
            fake_err.flush()
            sys.stdout, sys.stderr = saved[0], saved[1]
            os.environ.clear()
            os.environ.update(saved[2])
        return code, out.getvalue(), err.getvalue()


def write_pools_file(path: Path, hosts: SshHosts, extra: str = "") -> Path:
    """A pools.toml with the two working pools (ssh = the pool name)."""
    path.write_text("".join(f'[pools."{name}"]\nssh = "{name}"\n\n' for name in HIVE_POOLS) + extra)
    return path


def clean_environment(pools_file: Path, hosts: SshHosts) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("RBEE_") and key not in ("NO_COLOR", "FORCE_COLOR")
    }
    env["RBEE_POOLS"] = str(pools_file)
    env["RBEE_SSH_COMMAND"] = hosts.ssh_command
    return env


@pytest.fixture
def keeper(ssh_hosts: SshHosts, tmp_path: Path) -> Keeper:
    """llorch with the suite's ssh config and a pools file naming mac and workstation; every
    pool's catalog starts empty."""
    for pool in ssh_hosts.pools.values():
        shutil.rmtree(pool.workdir / ".test-models", ignore_errors=True)
    pools_file = write_pools_file(tmp_path / "pools.toml", ssh_hosts)
    return Keeper(ssh_hosts, pools_file, clean_environment(pools_file, ssh_hosts))
