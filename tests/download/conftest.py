"""Fixtures for the download tests: a fake Hub (tests.hubserver), real model files, a pool.

Every download runs the installed `.venv/bin/rbee-hive` in a subprocess with the real
`huggingface_hub` client pointed at the local server (`HF_ENDPOINT`), a temp `HF_HOME`, and
telemetry and Xet off, as the protocol notes ask.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest
from safetensors.numpy import save_file

from tests.hubserver import FakeHub, HubRepo

HIVE = Path(sys.executable).parent / "rbee-hive"
LLORCH = Path(sys.executable).parent / "llorch"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class Ran:
    def __init__(self, completed: subprocess.CompletedProcess[bytes]) -> None:
        self.code = completed.returncode
        self.out = completed.stdout.decode()
        self.err = completed.stderr.decode()

    def __repr__(self) -> str:
        return f"Ran(code={self.code}, out={self.out!r}, err={self.err!r})"


def hub_environment(endpoint: str, hf_home: Path) -> dict[str, str]:
    environment = dict(os.environ)
    for name in ("HF_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HUGGING_FACE_HUB_TOKEN"):
        environment.pop(name, None)
    environment.update(
        {
            "HF_ENDPOINT": endpoint,
            "HF_HOME": str(hf_home),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        }
    )
    return environment


class Pool:
    """A pool directory with a catalog, and the console script run in it against the hub."""

    def __init__(self, root: Path, hub: FakeHub, hf_home: Path) -> None:
        self.root = root
        self.hub = hub
        self.hf_home = hf_home
        self.catalog = root / ".test-models" / "catalog.json"

    def env(self, **extra: str) -> dict[str, str]:
        environment = hub_environment(self.hub.url, self.hf_home)
        environment.update(extra)
        return environment

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Ran:
        completed = subprocess.run(
            [str(HIVE), *args],
            cwd=self.root,
            env=env or self.env(),
            capture_output=True,
            check=False,
            timeout=timeout,
        )
        return Ran(completed)

    def start(
        self, *args: str, stderr: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with open(stderr, "wb") as err:
            return subprocess.Popen(
                [str(HIVE), *args],
                cwd=self.root,
                env=env or self.env(),
                stdout=subprocess.PIPE,
                stderr=err,
            )

    def register(
        self,
        model_id: str,
        repo: str | None,
        *,
        format: str = "safetensors",
        quantization: str | None = None,
        path: str | None = None,
    ) -> None:
        """Add an entry with the catalog library (what `models register` does, without
        paying an interpreter start-up per entry)."""
        from rbee.catalog import ModelEntry, edit_catalog

        metadata: dict[str, Any] = {}
        if repo is not None:
            metadata["repo"] = repo
        if quantization is not None:
            metadata["quantization"] = quantization
        with edit_catalog(self.catalog, create_pool_id="test-pool") as catalog:
            catalog.add_model(
                ModelEntry(
                    id=model_id,
                    name=model_id,
                    architecture="llama",
                    format=format,
                    metadata=metadata,
                    path=path,
                )
            )

    def entry(self, model_id: str) -> dict[str, Any]:
        document = json.loads(self.catalog.read_text())
        found: dict[str, Any] = next(m for m in document["models"] if m["id"] == model_id)
        return found

    def model_dir(self, model_id: str) -> Path:
        return self.root / ".test-models" / model_id

    def files_in(self, model_id: str) -> list[str]:
        folder = self.model_dir(model_id)
        if not folder.exists():
            return []
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())

    def partial_files(self) -> list[Path]:
        partial = self.root / ".test-models" / ".rbee-partial"
        return sorted(p for p in partial.rglob("*.part")) if partial.exists() else []

    def partial_dir(self) -> Path:
        return self.root / ".test-models" / ".rbee-partial"


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub() as server:
        yield server


@pytest.fixture
def pool(tmp_path: Path, hub: FakeHub) -> Pool:
    root = tmp_path / "pool"
    root.mkdir()
    return Pool(root, hub, tmp_path / "hf-home")


# -- real model files ----------------------------------------------------------------------


def write_gguf(path: Path, *, file_type: int = 15, split_max_tensors: int = 0, n: int = 64) -> Path:
    """A small GGUF written by llama.cpp's `gguf.GGUFWriter` (file_type 15 is Q4_K_M)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(path, "llama", split_max_tensors=split_max_tensors)
    writer.add_name("Tiny Test Llama")
    writer.add_context_length(4096)
    writer.add_file_type(file_type)
    writer.add_tensor("token_embd.weight", np.zeros((n, 16), dtype=np.float32))
    writer.add_tensor("blk.0.attn_q.weight", np.ones((16, 16), dtype=np.float16))
    writer.add_tensor("output_norm.weight", np.zeros((16,), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def write_safetensors(path: Path, n_bytes: int = 4096, seed: int = 0) -> Path:
    """A safetensors file (Hugging Face's writer) with one uint8 tensor of about `n_bytes`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = ((np.arange(65536, dtype=np.uint32) * 2654435761 + seed) >> 13).astype(np.uint8)
    data = np.resize(block, n_bytes)  # a repeated block: cheap to make at 100 MB
    save_file({"weight": data}, str(path))
    return path


def write_config(folder: Path) -> None:
    (folder / "config.json").write_text(
        json.dumps(
            {
                "architectures": ["LlamaForCausalLM"],
                "model_type": "llama",
                "max_position_embeddings": 2048,
                "vocab_size": 32000,
                "torch_dtype": "bfloat16",
            }
        )
    )


def safetensors_repo(hub: FakeHub, folder: Path, repo_id: str = "org/tiny-st") -> HubRepo:
    """A safetensors repo with two shards, an index, tokenizer files and weights in other
    formats (which a download must leave out)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_safetensors(folder / "model-00001-of-00002.safetensors", 6000, seed=1)
    write_safetensors(folder / "model-00002-of-00002.safetensors", 5000, seed=2)
    (folder / "model.safetensors.index.json").write_text(
        json.dumps(
            {
                "metadata": {"total_size": 11000},
                "weight_map": {"weight": "model-00001-of-00002.safetensors"},
            }
        )
    )
    write_config(folder)
    (folder / "tokenizer.json").write_text('{"version": "1.0"}')
    (folder / "tokenizer.model").write_bytes(b"\x0a\x05hello")
    (folder / "merges.txt").write_text("#version: 0.2\n")
    (folder / "vocab.json").write_text('{"a": 0}')
    (folder / "README.md").write_text("# tiny\n")
    (folder / "pytorch_model.bin").write_bytes(b"\x80" * 3000)
    (folder / "onnx").mkdir()
    (folder / "onnx" / "model.onnx").write_bytes(b"onnx" * 100)
    (folder / "original").mkdir()
    (folder / "original" / "params.json").write_text('{"dim": 16}')
    repo = hub.repo(repo_id, COMMIT)
    repo.add_folder(folder)
    return repo


SAFETENSORS_SELECTED = [
    "config.json",
    "merges.txt",
    "model-00001-of-00002.safetensors",
    "model-00002-of-00002.safetensors",
    "model.safetensors.index.json",
    "original/params.json",
    "tokenizer.json",
    "tokenizer.model",
    "vocab.json",
]


def gguf_repo(hub: FakeHub, folder: Path, repo_id: str = "org/tiny-gguf") -> HubRepo:
    """A GGUF repo: Q4_K_M, Q8_0 (lower-case name), an F16 split in two, a projector."""
    folder.mkdir(parents=True, exist_ok=True)
    write_gguf(folder / "tiny-Q4_K_M.gguf", file_type=15)
    write_gguf(folder / "tiny-q8_0.gguf", file_type=7, n=128)
    split = write_gguf(folder / "tiny-F16.gguf", file_type=1, split_max_tensors=2)
    assert split.name == "tiny-F16.gguf"
    produced = sorted(folder.glob("tiny-F16-*-of-*.gguf"))
    assert len(produced) == 2, produced
    write_gguf(folder / "mmproj-tiny-f16.gguf", file_type=1)
    (folder / "README.md").write_text("# tiny gguf\n")
    repo = hub.repo(repo_id, COMMIT)
    repo.add_folder(folder)
    return repo


def big_safetensors(path: Path, n_bytes: int) -> Path:
    """A safetensors file of about `n_bytes` (cheap, deterministic, not all zeros)."""
    return write_safetensors(path, n_bytes, seed=7)
