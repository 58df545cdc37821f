"""Pools for the copy tests: real sshd processes on 127.0.0.1 (bench/sshhosts.py), each with its
own HOME, workdir and catalog, and a pools file naming them for llorch.

- `src.home.arpa`: holds the models; `dst1.home.arpa`, `dst2.home.arpa`: empty destinations.
- `small`: dst1's sshd with its workdir on a 40 MB tmpfs (when this machine lets us mount one),
  for a destination whose disk is too small.

The 100 MB model is written once per session; each test gets fresh catalogs and workdirs on
the destinations (the source's catalog is rebuilt too, its files are kept).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bench.sshhosts import SshHosts, interpreter_bin_dir
from safetensors.numpy import save_file

LLORCH = str(interpreter_bin_dir() / "llorch")
RBEE_HIVE = str(interpreter_bin_dir() / "rbee-hive")
SOURCE = "src.home.arpa"
DESTINATIONS = ("dst1.home.arpa", "dst2.home.arpa")
SMALL = "small"
SMALL_FULL = "small-full"
NO_SPACE = "nospace"
SMALL_SIZE_MB = 40
BIG_MODEL = "big-model"
BIG_SHARD = "model-00001-of-00002.safetensors"
BIG_BYTES = 100_000_000
CALL_TIMEOUT = 120


@dataclass
class Pools:
    hosts: SshHosts
    pools_file: Path
    env: dict[str, str]
    small_dir: Path | None

    def workdir(self, pool: str) -> Path:
        return self.hosts.pools[pool].workdir

    def configured(self) -> list[str]:
        import tomllib

        return list(tomllib.loads(self.pools_file.read_text())["pools"])

    def catalog(self, pool: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(
            (self.workdir(pool) / ".test-models" / "catalog.json").read_text()
        )
        return data

    def entry(self, pool: str, model_id: str) -> dict[str, Any] | None:
        try:
            models = self.catalog(pool)["models"]
        except FileNotFoundError:
            return None
        return next((m for m in models if m["id"] == model_id), None)

    def llorch(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [LLORCH, *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env={**self.env, **(env or {})},
            timeout=CALL_TIMEOUT,
            check=False,
        )

    def copy_json(self, *args: str) -> tuple[int, dict[str, Any], str]:
        done = self.llorch("models", "copy", *args, "--json")
        document = json.loads(done.stdout) if done.stdout.strip() else {}
        return done.returncode, document, done.stderr

    def hive(self, pool: str, *args: str) -> subprocess.CompletedProcess[str]:
        """`rbee-hive ARGS` in the pool's workdir, as its own user would run it there."""
        return subprocess.run(
            [RBEE_HIVE, *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            cwd=self.workdir(pool),
            env={**self.env, "HOME": str(self.hosts.pools[pool].home), "RBEE_POOL_ID": pool},
            timeout=CALL_TIMEOUT,
            check=False,
        )


def write_model(folder: Path, big: bool) -> None:
    """A safetensors model in two shards (the first 100 MB when `big`), config and tokenizer."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = BIG_BYTES // 4 // 1000 if big else 64
    first = np.arange(rows * 1000, dtype=np.float32).reshape(rows, 1000)
    save_file({"model.embed_tokens.weight": first}, str(folder / BIG_SHARD))
    save_file(
        {"lm_head.weight": np.ones((64, 64), dtype=np.float32)},
        str(folder / "model-00002-of-00002.safetensors"),
    )
    (folder / "config.json").write_text(
        json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"})
    )
    (folder / "tokenizer.json").write_text('{"version": "1.0"}')


def add_model(pools: Pools, model_id: str, *extra: str, folder: str | None = None) -> Path:
    """A small model on the source, registered as downloaded (no record yet)."""
    path = pools.workdir(SOURCE) / ".test-models" / (folder or model_id)
    write_model(path, big=False)
    if folder is not None:
        extra = (*extra, "--path", f".test-models/{folder}")
    register(pools, SOURCE, model_id, *extra)
    return path


def register(pools: Pools, pool: str, model_id: str, *extra: str) -> None:
    done = pools.hive(
        pool,
        "models",
        "register",
        model_id,
        "--name",
        f"Test {model_id}",
        "--architecture",
        "llama",
        *(() if "--not-downloaded" in extra else ("--downloaded", "--size-gb", "0.1")),
        *extra,
    )
    assert done.returncode == 0, done.stderr


def _mount_small(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SMALL_SIZE_MB}m", "tmpfs", str(path)],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return False
    return done.returncode == 0


@pytest.fixture(scope="session")
def copy_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SshHosts, Path | None]]:
    base = tmp_path_factory.mktemp("copyhosts")
    hosts = SshHosts(base)
    small: Path | None = base / "small-fs"
    assert small is not None
    mounted = _mount_small(small)
    try:
        for name in (SOURCE, *DESTINATIONS):
            hosts.add_pool(name)
        write_model(hosts.pools[SOURCE].workdir / ".test-models" / BIG_MODEL, big=True)
        yield hosts, small if mounted else None
    finally:
        hosts.close()
        if mounted:
            subprocess.run(["umount", str(small)], capture_output=True, timeout=30, check=False)


@pytest.fixture
def pools(copy_hosts: tuple[SshHosts, Path | None], tmp_path: Path) -> Pools:
    hosts, small = copy_hosts
    for name in DESTINATIONS:
        shutil.rmtree(hosts.pools[name].workdir, ignore_errors=True)
        hosts.pools[name].workdir.mkdir(parents=True)
    models = hosts.pools[SOURCE].workdir / ".test-models"
    for leftover in models.iterdir():
        if leftover.name != BIG_MODEL:
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
    if small is not None:
        for leftover in small.iterdir():
            with contextlib.suppress(OSError):
                shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    text = "".join(f'[pools."{name}"]\nssh = "{name}"\n\n' for name in (SOURCE, *DESTINATIONS))
    # The free-space check, pointed past any disk by the margin it keeps (RBEE_COPY_MARGIN).
    text += f'[pools.{NO_SPACE}]\nssh = "{DESTINATIONS[1]}"\n'
    text += 'hive = "env RBEE_COPY_MARGIN=1000000000000000 rbee-hive"\n\n'
    if small is not None:
        text += f'[pools.{SMALL}]\nssh = "{DESTINATIONS[0]}"\nworkdir = "{small}"\n\n'
        # The same small disk with no margin: the check passes and the writes fill the disk.
        text += f'[pools.{SMALL_FULL}]\nssh = "{DESTINATIONS[0]}"\nworkdir = "{small}"\n'
        text += 'hive = "env RBEE_COPY_MARGIN=-1000000000 rbee-hive"\n\n'
    pools_file = tmp_path / "pools.toml"
    pools_file.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RBEE_")}
    env["RBEE_POOLS"] = str(pools_file)
    env["RBEE_SSH_COMMAND"] = hosts.ssh_command
    result = Pools(hosts, pools_file, env, small)
    register(result, SOURCE, BIG_MODEL)
    return result
