"""Pools with real model files for the verify and record tests.

Model files are written by their own libraries: safetensors by `safetensors.numpy`, GGUF by
llama.cpp's `gguf.GGUFWriter` (tests/modelfiles/conftest.py). Entries are registered and recorded
through the real `rbee-hive` command line (in-process; `HiveRunner` from tests/hive). The llorch
tests use the suite's real sshd pools (tests/keeper/conftest.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save_file

from tests.hive.conftest import HiveRunner, Result
from tests.keeper.conftest import Keeper, keeper, ssh_hosts  # noqa: F401 - fixtures for test_remote
from tests.modelfiles.conftest import write_gguf

__all__ = ["HiveRunner", "Keeper", "Result", "write_gguf", "write_safetensors_model"]


def write_safetensors_model(folder: Path, seed: int = 0) -> Path:
    """A small Hugging Face style model folder: weights, config.json, tokenizer.json."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    save_file(
        {
            "model.embed_tokens.weight": rng.standard_normal((64, 16)).astype(np.float16),
            "model.norm.weight": np.ones((16,), dtype=np.float16),
        },
        str(folder / "model.safetensors"),
    )
    (folder / "config.json").write_text(
        json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}, indent=2)
    )
    (folder / "tokenizer.json").write_text(json.dumps({"version": "1.0", "seed": seed}))
    return folder


class Pool(HiveRunner):
    """A pool directory with helpers for these tests."""

    def ok(self, *args: str, capsys: pytest.CaptureFixture[str]) -> Result:
        result = self.call(*args, capsys=capsys)
        assert result.code == 0, (args, result.out, result.err)
        return result

    def json(self, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
        result = self.call(*args, "--json", capsys=capsys)
        document: dict[str, Any] = json.loads(result.out)
        return result.code, document

    def register(
        self, model_id: str, path: str, fmt: str, *, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.ok(
            "--pool-id",
            "test.pool",
            "models",
            "register",
            model_id,
            "--name",
            model_id.upper(),
            "--architecture",
            "llama",
            "--format",
            fmt,
            "--path",
            path,
            capsys=capsys,
        )


@pytest.fixture
def pool(tmp_path: Path) -> Pool:
    directory = tmp_path / "pool"
    directory.mkdir()
    return Pool(directory)


@pytest.fixture
def models(pool: Pool, capsys: pytest.CaptureFixture[str]) -> Pool:
    """A pool with three entries: `st` (a safetensors folder) and `gg` (one GGUF file in a
    folder shared with another GGUF), both recorded; `bare` (a GGUF folder) without a record."""
    write_safetensors_model(pool.pool / ".test-models" / "st")
    shared = pool.pool / ".test-models" / "ggufs"
    write_gguf(shared / "gg-q4.gguf", name="GG")
    write_gguf(shared / "other-q8.gguf", name="Other")
    write_gguf(pool.pool / ".test-models" / "bare" / "bare.gguf", name="Bare")
    pool.register("st", ".test-models/st", "safetensors", capsys=capsys)
    pool.register("gg", ".test-models/ggufs/gg-q4.gguf", "gguf", capsys=capsys)
    pool.register("bare", ".test-models/bare", "gguf", capsys=capsys)
    pool.ok("models", "record", "st", "gg", capsys=capsys)
    return pool
