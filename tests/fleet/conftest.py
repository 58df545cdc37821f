"""Real sshd pools for the fleet tests (the hosts of bench/sshhosts.py, as tests/keeper uses).

- `mac.home.arpa`, `workstation.home.arpa`: rbee-hive on PATH, workdir `~/Projects/llama-orch`;
- `down.home.arpa`: a port nobody listens on (an unreachable pool).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bench.sshhosts import SshHosts, interpreter_bin_dir

LLORCH = str(interpreter_bin_dir() / "llorch")
RBEE_HIVE = str(interpreter_bin_dir() / "rbee-hive")
MAC = "mac.home.arpa"
WS = "workstation.home.arpa"
DOWN = "down.home.arpa"


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="session")
def fleet_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshHosts]:
    hosts = SshHosts(tmp_path_factory.mktemp("fleethosts"))
    try:
        hosts.add_pool(MAC)
        hosts.add_pool(WS)
        hosts.add_alias(DOWN, _closed_port())
        yield hosts
    finally:
        hosts.close()


@dataclass
class Fleet:
    hosts: SshHosts
    env: dict[str, str]
    ssh_log: Path

    def workdir(self, pool: str) -> Path:
        return self.hosts.pools[pool].workdir

    def llorch(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [LLORCH, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )

    def hive(self, pool: str, *args: str) -> subprocess.CompletedProcess[str]:
        """`rbee-hive ARGS` in the pool's workdir, as the pool itself would run it."""
        env = {**self.env, "HOME": str(self.hosts.pools[pool].home), "RBEE_POOL_ID": pool}
        done = subprocess.run(
            [RBEE_HIVE, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            cwd=self.workdir(pool),
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done

    def ssh_calls(self) -> list[str]:
        return self.ssh_log.read_text().splitlines() if self.ssh_log.exists() else []


@pytest.fixture
def fleet(fleet_hosts: SshHosts, tmp_path: Path) -> Fleet:
    """llorch with a pools file naming mac, workstation and down; catalogs start empty. Every
    ssh call llorch makes is logged (one line each) through a wrapper around the real ssh."""
    for pool in fleet_hosts.pools.values():
        shutil.rmtree(pool.workdir / ".test-models", ignore_errors=True)
    pools_file = tmp_path / "pools.toml"
    pools_file.write_text("".join(f'[pools."{name}"]\n' for name in (MAC, WS, DOWN)))
    log = tmp_path / "ssh.log"
    wrapper = tmp_path / "logged-ssh"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec ssh "$@"\n')
    wrapper.chmod(0o755)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("RBEE_") and key not in ("NO_COLOR", "FORCE_COLOR")
    }
    env["RBEE_POOLS"] = str(pools_file)
    env["RBEE_SSH_COMMAND"] = f"{wrapper} " + fleet_hosts.ssh_command.removeprefix("ssh ")
    return Fleet(fleet_hosts, env, log)
