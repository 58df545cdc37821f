"""Other tools' stores, laid out exactly as each tool writes them, with real model files.

- `HfCache`: `huggingface_hub`'s cache: `models--ORG--NAME/blobs/<etag>` (an LFS file's etag is
  its sha256, a regular git file's the git blob sha1), `snapshots/<commit>/<path>` relative
  symlinks into `blobs/`, `refs/<revision>` holding the commit (no newline).
- `OllamaStore`: `manifests/HOST/NAMESPACE/MODEL/TAG` (Go's `json.Encoder`: compact, one
  newline), `blobs/sha256-<hex>`, a config blob with `model_format`, `model_family`,
  `model_type`, `file_type`, and the template/params layers Ollama adds.
- `LmStudio`: `~/.lmstudio-home-pointer` naming the home, `models/PUBLISHER/MODEL/*.gguf`.

Model files come from `gguf.GGUFWriter` and `safetensors` (see tests/modelfiles/conftest.py).
Every test gets a fresh HOME with HF_HOME, OLLAMA_MODELS and XDG_CACHE_HOME pointed into it, so
no test reads the real `~/.ollama`, `~/.cache/huggingface` or `~/.lmstudio`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save as save_bytes

from tests.modelfiles.conftest import write_gguf


def rbee_hive() -> str:
    import sys

    return str(Path(sys.executable).parent / "rbee-hive")


def gguf_bytes(tmp: Path, **options: Any) -> bytes:
    """A GGUF written by llama.cpp's writer, as bytes (`options` as `write_gguf` takes them)."""
    counter = len(list(tmp.glob("scratch-*.gguf")))
    path = write_gguf(tmp / f"scratch-{counter}.gguf", **options)
    data = path.read_bytes()
    path.unlink()
    return data


def projector_bytes(tmp: Path) -> bytes:
    """A llama.cpp multimodal projector (`general.type` mmproj, architecture clip)."""

    def extra(writer: Any) -> None:
        writer.add_type("mmproj")

    return gguf_bytes(tmp, arch="clip", name="mmproj", context_length=None, extra=extra)


def safetensors_bytes(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return save_bytes(
        {
            "model.embed_tokens.weight": rng.standard_normal((32, 8)).astype(np.float16),
            "model.norm.weight": np.ones((8,), dtype=np.float16),
        }
    )


def config_json(model_type: str = "qwen2") -> bytes:
    return json.dumps(
        {
            "architectures": ["Qwen2ForCausalLM"],
            "model_type": model_type,
            "max_position_embeddings": 32768,
            "vocab_size": 151936,
            "torch_dtype": "bfloat16",
        },
        indent=2,
    ).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


LFS_SUFFIXES = (".gguf", ".safetensors", ".bin")


@dataclass
class HfCache:
    """A hub cache folder (`HF_HUB_CACHE`)."""

    hub: Path

    def add(
        self,
        repo: str,
        files: dict[str, bytes],
        *,
        commit: str = "0" * 40,
        refs: tuple[str, ...] = ("main",),
    ) -> Path:
        """A snapshot of `repo` at `commit` holding `files`; returns the snapshot folder.

        Files ending in .gguf/.safetensors are LFS (blob named by sha256), others regular git
        files (blob named by the git sha1), as the Hub's etags are.
        """
        folder = self.hub / ("models--" + repo.replace("/", "--"))
        blobs = folder / "blobs"
        snapshot = folder / "snapshots" / commit
        blobs.mkdir(parents=True, exist_ok=True)
        snapshot.mkdir(parents=True, exist_ok=True)
        for rel, data in files.items():
            etag = sha256(data) if rel.endswith(LFS_SUFFIXES) else git_sha1(data)
            blob = blobs / etag
            if not blob.exists():
                blob.write_bytes(data)
            link = snapshot / rel
            link.parent.mkdir(parents=True, exist_ok=True)
            # huggingface_hub's _create_symlink: a relative link from the snapshot to the blob.
            os.symlink(os.path.relpath(blob, link.parent), link)
        for ref in refs:
            ref_path = folder / "refs" / ref
            ref_path.parent.mkdir(parents=True, exist_ok=True)
            ref_path.write_text(commit)
        return snapshot


@dataclass
class OllamaStore:
    """An Ollama models folder (`OLLAMA_MODELS`)."""

    root: Path
    blobs_written: list[Path] = field(default_factory=list)

    def blob(self, data: bytes) -> dict[str, Any]:
        digest = sha256(data)
        path = self.root / "blobs" / f"sha256-{digest}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.blobs_written.append(path)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    def add(
        self,
        model: str,
        tag: str,
        gguf: bytes,
        *,
        projector: bytes | None = None,
        family: str = "llama",
        file_type: str = "Q4_K_M",
        model_type: str = "3.2B",
        host: str = "registry.ollama.ai",
        namespace: str = "library",
    ) -> Path:
        """A pulled model as Ollama writes it; returns the manifest's path."""
        layers = [{"mediaType": "application/vnd.ollama.image.model", **self.blob(gguf)}]
        if projector is not None:
            layers.append(
                {"mediaType": "application/vnd.ollama.image.projector", **self.blob(projector)}
            )
        layers.append(
            {
                "mediaType": "application/vnd.ollama.image.template",
                **self.blob(b"{{ .Prompt }}"),
            }
        )
        layers.append(
            {
                "mediaType": "application/vnd.ollama.image.params",
                **self.blob(b'{"stop":["<|eot|>"]}'),
            }
        )
        config = {
            "model_format": "gguf",
            "model_family": family,
            "model_families": [family],
            "model_type": model_type,
            "file_type": file_type,
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [x["digest"] for x in layers]},
        }
        config_layer = {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            **self.blob(json.dumps(config, separators=(",", ":")).encode()),
        }
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": config_layer,
            "layers": layers,
        }
        path = self.root / "manifests" / host / namespace / model / tag
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(manifest, separators=(",", ":")) + "\n")
        return path


@dataclass
class LmStudio:
    """An LM Studio home, named by `~/.lmstudio-home-pointer`."""

    home: Path

    def add(self, publisher: str, model: str, files: dict[str, bytes]) -> Path:
        folder = self.home / "models" / publisher / model
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
        return folder


@dataclass
class Machine:
    """A pool machine: a HOME with the three stores' places, and a pool root."""

    home: Path
    root: Path
    hf: HfCache
    ollama: OllamaStore
    lmstudio: LmStudio
    scratch: Path
    env: dict[str, str]

    @property
    def catalog(self) -> Path:
        return self.root / ".test-models" / "catalog.json"

    def gguf(self, **options: Any) -> bytes:
        return gguf_bytes(self.scratch, **options)

    def projector(self) -> bytes:
        return projector_bytes(self.scratch)

    def hive(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`rbee-hive ARGS` in the pool root, with this machine's environment."""
        return subprocess.run(
            [rbee_hive(), *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def catalog_document(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.catalog.read_text())
        return document

    def entries(self) -> dict[str, dict[str, Any]]:
        return {m["id"]: m for m in self.catalog_document()["models"]}


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Machine:
    """A fresh HOME (with HF_HOME, OLLAMA_MODELS and XDG_CACHE_HOME inside it) and pool root.

    The stores' folders are not created: each test makes the ones it needs.
    """
    home = tmp_path / "home"
    root = tmp_path / "pool"
    scratch = tmp_path / "scratch"
    for folder in (home, root, scratch):
        folder.mkdir()
    lm_home = home / "lmstudio-elsewhere"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("RBEE_", "HF_", "HUGGINGFACE_", "OLLAMA_"))
    }
    env.update(
        {
            "HOME": str(home),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "HF_HOME": str(home / ".cache" / "huggingface"),
            "OLLAMA_MODELS": str(home / ".ollama" / "models"),
            "RBEE_POOL_ID": "test.pool",
            "NO_COLOR": "1",
        }
    )
    for key in list(os.environ):
        if key.startswith(("HF_", "HUGGINGFACE_", "OLLAMA_")):
            monkeypatch.delenv(key)
    for key in ("HOME", "XDG_CACHE_HOME", "HF_HOME", "OLLAMA_MODELS"):
        monkeypatch.setenv(key, env[key])
    return Machine(
        home=home,
        root=root,
        hf=HfCache(home / ".cache" / "huggingface" / "hub"),
        ollama=OllamaStore(home / ".ollama" / "models"),
        lmstudio=LmStudio(lm_home),
        scratch=scratch,
        env=env,
    )


def point_lmstudio(machine: Machine) -> None:
    """Write `~/.lmstudio-home-pointer` naming the machine's LM Studio home, as LM Studio does."""
    (machine.home / ".lmstudio-home-pointer").write_text(str(machine.lmstudio.home))


def tree_state(*folders: Path) -> dict[str, tuple[int, int, str]]:
    """Every path below `folders`: (size, mtime_ns, symlink target) - to show nothing changed."""
    state: dict[str, tuple[int, int, str]] = {}
    for folder in folders:
        for current, dirs, names in os.walk(folder):
            for name in dirs + names:
                path = os.path.join(current, name)
                info = os.lstat(path)
                target = os.readlink(path) if os.path.islink(path) else ""
                state[path] = (info.st_size, info.st_mtime_ns, target)
    return state
