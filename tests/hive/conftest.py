"""Fixtures for the rbee-hive tests: the installed console script, pools, and an in-process runner.

End-to-end tests run `.venv/bin/rbee-hive` in a subprocess, as users do; the rest call
`rbee.hive.cli.main` in-process (faster on this machine) with captured stdout/stderr.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "test-models.toml"
HIVE = Path(sys.executable).parent / "rbee-hive"

# The seed's WU2.4 commands, verbatim (architecture qwen and phi as the seed wrote them).
SEED_REGISTER_COMMANDS = [
    [
        "register",
        "tinyllama",
        "--name",
        "TinyLlama 1.1B Chat",
        "--repo",
        "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        "--architecture",
        "llama",
    ],
    [
        "register",
        "qwen-0.5b",
        "--name",
        "Qwen2.5 0.5B Instruct",
        "--repo",
        "Qwen/Qwen2.5-0.5B-Instruct",
        "--architecture",
        "qwen",
    ],
    [
        "register",
        "phi3",
        "--name",
        "Phi-3 Mini 4K Instruct",
        "--repo",
        "microsoft/Phi-3-mini-4k-instruct",
        "--architecture",
        "phi",
    ],
    [
        "register",
        "mistral",
        "--name",
        "Mistral 7B Instruct v0.2",
        "--repo",
        "mistralai/Mistral-7B-Instruct-v0.2",
        "--architecture",
        "mistral",
    ],
]


@dataclass
class Result:
    code: int
    out: str
    err: str


class HiveRunner:
    """Runs rbee-hive in one pool directory (its cwd and root)."""

    def __init__(self, pool: Path) -> None:
        self.pool = pool
        self.catalog = pool / ".test-models" / "catalog.json"

    def run(
        self,
        *args: str,
        stdin: str | bytes | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
    ) -> Result:
        """The installed console script in a subprocess, in the pool directory."""
        environment = dict(os.environ)
        environment.update(env or {})
        command = [str(HIVE), *args]
        if user == "nobody":
            # Not the checkout's .venv, which nobody may not enter: see tests/unprivileged.py.
            from tests.unprivileged import nobody_command

            command = nobody_command("-m", "rbee.hive.cli", *args)
        data = stdin.encode() if isinstance(stdin, str) else stdin
        completed = subprocess.run(
            command,
            cwd=self.pool,
            env=environment,
            input=data,
            capture_output=True,
            check=False,
            timeout=120,
        )
        return Result(
            completed.returncode,
            completed.stdout.decode("utf-8"),
            completed.stderr.decode("utf-8"),
        )

    def call(self, *args: str, capsys: pytest.CaptureFixture[str]) -> Result:
        """`rbee.hive.cli.main` in-process, with the pool as the current directory."""
        from rbee.hive.cli import main

        previous = Path.cwd()
        os.chdir(self.pool)
        try:
            code = main(list(args))
        finally:
            os.chdir(previous)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def catalog_bytes(self) -> bytes:
        return self.catalog.read_bytes()


@pytest.fixture
def hive(tmp_path: Path) -> HiveRunner:
    """An empty pool directory."""
    pool = tmp_path / "pool"
    pool.mkdir()
    return HiveRunner(pool)


@pytest.fixture
def seeded(hive: HiveRunner, capsys: pytest.CaptureFixture[str]) -> HiveRunner:
    """A pool whose catalog holds the seed's four models (from examples/test-models.toml)."""
    result = hive.call(
        "--pool-id", "mac.home.arpa", "models", "register", "--from", str(EXAMPLES), capsys=capsys
    )
    assert result.code == 0, result.err
    return hive


@pytest.fixture
def shared_pool() -> Iterator[HiveRunner]:
    """A pool in a world-readable directory, for tests that run rbee-hive as `nobody`."""
    directory = Path(tempfile.mkdtemp(prefix="rbee-hive-test-"))
    directory.chmod(0o755)
    try:
        yield HiveRunner(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
